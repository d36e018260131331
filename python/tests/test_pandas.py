"""DataFrames in and out, large batches, and the GIL released while scoring."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time

import pytest

import idmaj
from conftest import REPO, read_jsonl, run_cli

pandas = pytest.importorskip("pandas")

ASSESSMENT_KEYS = [
    "id", "status", "failed_checks", "reasons", "score", "score_items", "options",
    "city", "gender", "trade", "quotas", "error", "scenario",
]


def records(frame) -> list[dict]:
    """A DataFrame's rows as dicts, with pandas' NaN for a missing text read back as None."""
    rows = frame.to_dict("records")
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in rows
    ]


def tangier_frame():
    return pandas.read_csv(REPO / "scenarios" / "tangier-2016" / "applicants.csv")


def test_a_dataframe_gives_a_dataframe_with_the_json_keys_and_the_index(tangier):
    frame = tangier_frame().set_index("id", drop=False)
    out = tangier.assess_many(frame)
    assert isinstance(out, pandas.DataFrame)
    assert list(out.columns) == ASSESSMENT_KEYS
    assert out.index.equals(frame.index)
    as_list = tangier.assess_many(frame.to_dict("records"))
    assert records(out) == as_list
    assert out.loc["TNG-001", "status"] == as_list[0]["status"]


def test_a_dataframe_is_assessed_like_the_csv(cli, tmp_path, tangier):
    run_cli(cli, "score", "scenarios/tangier-2016", "--format", "jsonl",
            "--out", tmp_path / "s.jsonl")
    assert records(tangier.assess_many(tangier_frame())) == read_jsonl(tmp_path / "s.jsonl")


def test_datetime_columns_and_missing_names_are_read_like_the_csv(tangier):
    frame = tangier_frame()
    expected = tangier.assess_many(frame.to_dict("records"))
    dated = frame.assign(
        release_date=pandas.to_datetime(frame["release_date"]),
        name=None,
    )
    assert dated["release_date"].dtype.kind == "M"
    assert records(tangier.assess_many(dated)) == expected
    stamps = dated.assign(release_date=dated["release_date"].astype(object))
    assert isinstance(stamps["release_date"].iloc[0], pandas.Timestamp)
    assert records(tangier.assess_many(stamps)) == expected


def test_nan_in_a_number_column_is_an_input_error(tangier):
    frame = tangier_frame()
    frame.loc[2, "plan_cost"] = math.nan
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess_many(frame)
    assert [(p["field"], p["id"]) for p in err.value.problems] == [
        ("plan_cost", frame.loc[2, "id"])
    ]


def test_allocate_a_dataframe_gives_decisions_as_a_dataframe(cli, tmp_path, tangier):
    run_cli(cli, "allocate", "scenarios/tangier-2016", "--out", tmp_path)
    frame = tangier_frame()
    result = tangier.allocate(applicants=frame)
    assert isinstance(result["summary"], dict) and result["summary"]["served"] == 21
    decisions = result["decisions"]
    assert isinstance(decisions, pandas.DataFrame)
    assert records(decisions) == read_jsonl(tmp_path / "decisions.jsonl")


def test_repeated_column_names_are_refused(tangier):
    frame = tangier_frame()
    frame.columns = [*frame.columns[:-1], "city"]
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess_many(frame)
    assert [p["field"] for p in err.value.problems] == ["city"]


def test_pandas_is_not_imported_for_lists_of_dicts():
    code = (
        "import csv, sys, idmaj\n"
        "with open('scenarios/tangier-2016/applicants.csv', encoding='utf-8') as f:\n"
        "    rows = list(csv.DictReader(f))\n"
        "e = idmaj.Engine.load('scenarios/tangier-2016')\n"
        "served = e.allocate(applicants=rows)['summary']['served']\n"
        "print(len(e.assess_many(rows)), served, 'pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["44", "21", "False"]


@pytest.fixture(scope="module")
def generated(cli, tmp_path_factory):
    """100,000 generated applicants (`idmaj generate --seed 5`) and their CLI scores."""
    folder = tmp_path_factory.mktemp("generated")
    run_cli(cli, "generate", "--applicants", 100_000, "--seed", 5, "--out", folder)
    run_cli(cli, "score", folder, "--format", "jsonl", "--out", folder / "scores.jsonl")
    return folder


def test_a_100000_row_dataframe_is_scored_like_the_cli_with_the_gil_released(generated):
    frame = pandas.read_csv(generated / "applicants.csv")
    assert len(frame) == 100_000
    engine = idmaj.Engine.load(generated)
    result = []
    worker = threading.Thread(target=lambda: result.append(engine.assess_many(frame)))
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.01)
    worker.join()
    (out,) = result
    assert len(out) == 100_000
    assert list(out.columns) == ASSESSMENT_KEYS
    assert records(out) == read_jsonl(generated / "scores.jsonl")
    # Scoring 100,000 applicants takes well over a second; holding the GIL all along would
    # leave this thread no tick at all while it ran.
    assert ticks >= 20


def test_pandas_missing_values_are_empty_cells(tangier):
    frame = tangier_frame()
    expected = tangier.assess_many(frame.to_dict("records"))
    names = frame.assign(name=pandas.array([pandas.NA] * len(frame), dtype="string"))
    assert records(tangier.assess_many(names)) == expected
    dated = frame.assign(release_date=pandas.to_datetime(frame["release_date"]))
    dated.loc[4, "release_date"] = pandas.NaT
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess_many(dated)
    assert [(p["field"], p["id"]) for p in err.value.problems] == [
        ("release_date", frame.loc[4, "id"])
    ]


def test_numpy_scalars_are_numbers_and_booleans(tangier, applicant):
    numpy = pytest.importorskip("numpy")
    given = {
        **applicant,
        "birth_year": numpy.int64(1990),
        "training_hours": numpy.float32(200),
        "pm_training": numpy.bool_(True),
    }
    assert tangier.assess(given) == tangier.assess(applicant)
