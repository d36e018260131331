"""Errors are Python exceptions that carry the library's problems, never a crash."""

from __future__ import annotations

import datetime
import math
import subprocess
import sys

import pytest

import idmaj
from conftest import REPO

PROBLEM_KEYS = ["file", "line", "column", "key", "field", "id", "message"]


def only_problem(err: pytest.ExceptionInfo) -> dict:
    assert len(err.value.problems) == 1, err.value.problems
    problem = err.value.problems[0]
    assert list(problem) == PROBLEM_KEYS
    return problem


def test_unknown_city_names_the_field_the_id_and_a_hint(tangier, applicant):
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess({**applicant, "city": "Tanger"})
    p = only_problem(err)
    assert (p["field"], p["id"], p["file"], p["line"]) == ("city", "X-1", None, None)
    assert "did you mean `Tangier`" in p["message"]
    assert isinstance(err.value, ValueError) and isinstance(err.value, idmaj.Error)
    assert "Tanger" in str(err.value)


def test_negative_plan_cost_is_refused(tangier, applicant):
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess({**applicant, "plan_cost": -5})
    p = only_problem(err)
    assert (p["field"], p["id"]) == ("plan_cost", "X-1")
    assert "negative" in p["message"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, None])
def test_nan_infinity_or_none_in_a_number_field_is_refused(tangier, applicant, bad):
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess({**applicant, "training_hours": bad})
    assert only_problem(err)["field"] == "training_hours"


def test_nan_or_none_is_a_missing_name(tangier, applicant):
    expected = tangier.assess(applicant)
    assert tangier.assess({**applicant, "name": math.nan}) == expected
    without = dict(applicant)
    del without["name"]
    assert tangier.assess(without) == expected


def test_dates_as_text_date_or_datetime_are_the_same(tangier, applicant):
    expected = tangier.assess(applicant)
    for date in ["15/01/2016", datetime.date(2016, 1, 15), datetime.datetime(2016, 1, 15, 9)]:
        assert tangier.assess({**applicant, "release_date": date}) == expected


def test_a_date_that_does_not_exist_is_refused(tangier, applicant):
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess({**applicant, "release_date": "2016-02-30"})
    assert only_problem(err)["field"] == "release_date"


def test_a_value_of_another_type_is_refused_by_field(tangier, applicant):
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess({**applicant, "training_hours": [200]})
    p = only_problem(err)
    assert (p["field"], p["id"]) == ("training_hours", "X-1")
    assert "`list`" in p["message"]


def test_duplicate_ids_in_a_batch_are_refused(tangier, applicant):
    other = {**applicant, "id": "X-2"}
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess_many([applicant, other, applicant])
    p = only_problem(err)
    assert (p["field"], p["id"]) == ("id", "X-1")
    assert "duplicate id" in p["message"]
    with pytest.raises(idmaj.InputError) as err:
        tangier.allocate(applicants=[applicant, applicant])
    assert only_problem(err)["id"] == "X-1"


def test_every_bad_applicant_of_a_batch_is_reported(tangier, applicant):
    batch = [
        {**applicant, "id": "A", "city": "Nowhere"},
        {**applicant, "id": "B"},
        {**applicant, "id": "C", "plan_cost": -1, "gender": "X"},
    ]
    with pytest.raises(idmaj.InputError) as err:
        tangier.assess_many(batch)
    found = {(p["id"], p["field"]) for p in err.value.problems}
    assert found == {("A", "city"), ("C", "plan_cost"), ("C", "gender")}


def test_an_unknown_set_key_names_the_key(tangier):
    with pytest.raises(idmaj.InputError) as err:
        tangier.allocate(set={"budget.totl": 4_000_000})
    p = only_problem(err)
    assert p["key"] == "budget.totl"
    assert "did you mean `budget.total`" in p["message"]


def test_a_bad_scenario_names_file_line_and_key(tmp_path):
    folder = REPO / "scenarios" / "tangier-2016"
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    bad = toml.replace("[budget]\n", "[budget]\ntotal = -5\n", 1)
    assert bad != toml
    with pytest.raises(idmaj.InputError) as err:
        idmaj.Engine.from_sources(
            scenario_toml=bad,
            labour_market_csv=(folder / "labour_market.csv").read_text(encoding="utf-8"),
            rules={},
        )
    assert any(p["file"] == "scenario.toml" for p in err.value.problems), err.value.problems


def test_a_missing_folder_is_an_input_error_naming_it():
    with pytest.raises(idmaj.InputError) as err:
        idmaj.Engine.load(REPO / "scenarios" / "no-such-scenario")
    assert only_problem(err)["file"].endswith("no-such-scenario")


def test_an_infeasible_quota_names_the_conflicting_constraint(tangier):
    with pytest.raises(idmaj.InfeasibleError) as err:
        tangier.allocate(set={"quota.women.min_count": 30})
    assert "quota.women.min_count" in err.value.constraints
    assert err.value.shortfall == 24
    assert isinstance(err.value, idmaj.Error)


RULES = """
check("hours", "enough hours", applicant.training_hours >= 100);
if applicant.id == "BROKEN" { throw "no rule for this applicant"; }
add_score(applicant.training_hours / 10.0, "hours");
offer_cash(1000);
"""

SCENARIO = """
[program]
name = "Pilot"
date = "2016-06-06"
[rules]
files = ["pilot.rhai"]
[budget]
total = 10000
"""


def pilot() -> idmaj.Engine:
    return idmaj.Engine.from_sources(
        scenario_toml=SCENARIO,
        labour_market_csv="city,trade,demand\nTangier,plumbing,0.8\n",
        rules={"pilot.rhai": RULES},
    )


def test_a_rule_failing_is_a_status_in_assess_and_a_rule_error_in_allocate(applicant):
    engine = pilot()
    good = {**applicant, "prison": None}
    broken = {**good, "id": "BROKEN"}
    a = engine.assess(broken)
    assert a["status"] == "error"
    assert "no rule for this applicant" in a["error"]
    assert "pilot.rhai" in a["error"]
    assert engine.assess(good)["status"] == "eligible"
    with pytest.raises(idmaj.RuleError) as err:
        engine.allocate(applicants=[good, broken])
    assert [p["id"] for p in err.value.problems] == ["BROKEN"]
    assert engine.allocate(applicants=[good])["summary"]["served"] == 1


def test_explain_of_an_unknown_id_is_an_input_error(tangier):
    with pytest.raises(idmaj.InputError) as err:
        tangier.explain("NOBODY")
    assert "NOBODY" in only_problem(err)["message"]


def test_a_rust_panic_is_a_python_exception_not_a_crash():
    code = (
        "import idmaj\n"
        "try:\n"
        "    idmaj._idmaj._panic('test panic')\n"
        "except BaseException as e:\n"
        "    print(type(e).__name__, e)\n"
        "print(idmaj.Engine.load('scenarios/tangier-2016').allocate()['summary']['served'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["PanicException test panic", "21"]
