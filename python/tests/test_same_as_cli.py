"""Python gives the command line's answers, value for value, on both shipped scenarios."""

from __future__ import annotations

import csv
import json
import re

import pytest

import idmaj
from conftest import REPO, SCENARIOS, read_jsonl, run_cli


def scenario(name: str):
    return REPO / "scenarios" / name


@pytest.mark.parametrize("name", SCENARIOS)
def test_allocate_gives_the_cli_decisions_and_summary(cli, tmp_path, name):
    run_cli(cli, "allocate", scenario(name), "--out", tmp_path)
    result = idmaj.Engine.load(scenario(name)).allocate()
    assert list(result) == ["summary", "decisions"]
    assert result["decisions"] == read_jsonl(tmp_path / "decisions.jsonl")
    with open(tmp_path / "summary.json", encoding="utf-8") as f:
        assert result["summary"] == json.load(f)


@pytest.mark.parametrize("name", SCENARIOS)
def test_allocate_with_set_gives_the_cli_with_set(cli, tmp_path, name):
    set_ = {"budget.total": 150_000, "quota.women.min_share": 0.3}
    run_cli(cli, "allocate", scenario(name), "--out", tmp_path,
            "--set", "budget.total=150000", "--set", "quota.women.min_share=0.3")
    result = idmaj.Engine.load(scenario(name)).allocate(set=set_)
    assert result["decisions"] == read_jsonl(tmp_path / "decisions.jsonl")
    assert result["summary"]["budget_total"] == 150_000


@pytest.mark.parametrize("name", SCENARIOS)
def test_assess_many_of_the_csv_rows_gives_the_cli_scores(cli, tmp_path, name):
    run_cli(cli, "score", scenario(name), "--format", "jsonl", "--out", tmp_path / "s.jsonl")
    with open(scenario(name) / "applicants.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))  # every value as text, as in the file
    engine = idmaj.Engine.load(scenario(name))
    assert engine.assess_many(rows) == read_jsonl(tmp_path / "s.jsonl")
    assert engine.assess(rows[3]) == read_jsonl(tmp_path / "s.jsonl")[3]


@pytest.mark.parametrize("name", SCENARIOS)
def test_allocate_given_the_applicants_is_allocate_of_the_scenario(cli, tmp_path, name):
    run_cli(cli, "allocate", scenario(name), "--out", tmp_path)
    with open(scenario(name) / "applicants.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    result = idmaj.Engine.load(scenario(name)).allocate(applicants=rows)
    assert result["decisions"] == read_jsonl(tmp_path / "decisions.jsonl")


@pytest.mark.parametrize("name", SCENARIOS)
def test_sweep_gives_the_cli_rows(cli, tmp_path, name):
    run_cli(cli, "sweep", scenario(name), "--budget", "150000..4000000:4",
            "--set", "params.min_training_hours=100,150", "--out", tmp_path / "sweep.json")
    with open(tmp_path / "sweep.json", encoding="utf-8") as f:
        expected = json.load(f)["points"]
    rows = idmaj.Engine.load(scenario(name)).sweep(
        budget=(150_000, 4_000_000, 4), set={"params.min_training_hours": [100, 150]}
    )
    assert len(rows) == 8
    assert rows == expected


CHECK_LINE = re.compile(r"^\s+(pass|FAIL)\s+(\S+)\s+.*?(?:\s+\[(.*)\])?$")


@pytest.mark.parametrize("name, id_", [("tangier-2016", "TNG-002"), ("ramadan-2016", "R16-000002")])
def test_explain_gives_the_cli_checks_and_the_decision(cli, name, id_):
    out = run_cli(cli, "explain", scenario(name), id_).stdout.decode()
    lines = out.split("checks\n", 1)[1].split("\n\n", 1)[0].splitlines()
    expected = []
    for line in lines:
        passed, check, reads = CHECK_LINE.match(line).groups()
        pairs = [kv.split("=", 1) for kv in reads.split(", ")] if reads else []
        expected.append({"id": check, "passed": passed == "pass", "reads": dict(pairs)})

    engine = idmaj.Engine.load(scenario(name))
    explained = engine.explain(id_)
    assert list(explained) == ["assessment", "decision", "checks"]
    assert explained["checks"] == expected
    decision = next(d for d in engine.allocate()["decisions"] if d["id"] == id_)
    assert explained["decision"] == decision
    assessment = next(a for a in engine.assess_many(engine_rows(name)) if a["id"] == id_)
    assert explained["assessment"] == assessment


def engine_rows(name: str) -> list[dict]:
    with open(scenario(name) / "applicants.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_from_sources_is_load():
    folder = scenario("tangier-2016")
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    rule_paths = re.search(r"files\s*=\s*\[(.*?)\]", toml, re.S).group(1)
    rules = {}
    for rel in re.findall(r'"([^"]+)"', rule_paths):
        path = (folder / rel).resolve()
        rules[path.name] = path.read_text(encoding="utf-8")
    engine = idmaj.Engine.from_sources(
        scenario_toml=toml,
        labour_market_csv=(folder / "labour_market.csv").read_text(encoding="utf-8"),
        rules=rules,
        applicants_csv=(folder / "applicants.csv").read_text(encoding="utf-8"),
    )
    memory, loaded = engine.allocate(), idmaj.Engine.load(folder).allocate()
    # The manifests name the parts differently (scenario.toml, a path) but hash the same bytes.
    hashes = lambda r: [i["sha256"] for i in r["summary"]["manifest"]["inputs"]]
    assert hashes(memory) == hashes(loaded)
    for r in (memory, loaded):
        del r["summary"]["manifest"]
    assert memory == loaded
    assert engine.info()["fingerprint"] == idmaj.Engine.load(folder).info()["fingerprint"]


def test_committed_decisions_are_kept_like_the_cli_keeps_them(cli, tmp_path):
    engine = idmaj.Engine.load(scenario("tangier-2016"))
    first = engine.allocate(set={"budget.total": 150_000})
    kept = [d for d in first["decisions"] if d["option"] != "none"][:5]
    assert len(kept) == 5
    result = engine.allocate(committed=kept)
    by_id = {d["id"]: d for d in result["decisions"]}
    for d in kept:
        got = by_id[d["id"]]
        assert got["committed"] is True
        assert (got["option"], got["kit"], got["amount"], got["funders"]) == (
            d["option"], d["kit"], d["amount"], d["funders"])
    assert sum(d["committed"] for d in result["decisions"]) == 5

    path = tmp_path / "kept.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in kept), encoding="utf-8")
    run_cli(cli, "allocate", scenario("tangier-2016"), "--committed", path,
            "--out", tmp_path / "out")
    assert result["decisions"] == read_jsonl(tmp_path / "out" / "decisions.jsonl")

    with pytest.raises(idmaj.InputError) as e:
        engine.allocate(committed=[dict(kept[0], id="TNG-999")])
    assert "not in the applicant list" in str(e.value)
