"""Shared fixtures: the repository, the command-line binary the results are compared with,
and the shipped scenarios."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import idmaj

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = ["tangier-2016", "ramadan-2016"]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `idmaj` binary of this checkout: `$IDMAJ_CLI`, or built with `cargo build`."""
    if "IDMAJ_CLI" in os.environ:
        return Path(os.environ["IDMAJ_CLI"])
    subprocess.run(["cargo", "build", "--quiet", "--bin", "idmaj"], cwd=REPO, check=True)
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    return Path(json.loads(meta.stdout)["target_directory"]) / "debug" / "idmaj"


def run_cli(cli: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([cli, *map(str, args)], cwd=REPO, check=True, capture_output=True)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def tangier() -> idmaj.Engine:
    return idmaj.Engine.load(REPO / "scenarios" / "tangier-2016")


@pytest.fixture
def applicant() -> dict:
    """A valid applicant of the Tangier scenario (CSV column names as keys)."""
    return {
        "id": "X-1", "name": None, "gender": "F", "birth_year": 1990, "city": "Tangier",
        "release_date": "2016-01-15", "training_track": "plumbing", "training_hours": 200,
        "training_certified": "oui", "pm_training": True, "plan_trade": "plumbing",
        "plan_approved": "1", "plan_cost": "14000", "experience_years": 2,
        "prison": "Tangier 2", "family_dependents": 1,
    }
