"""idmaj: rules-based eligibility and allocation for reintegration programmes.

Planners write eligibility and scoring rules as rhai scripts, keep thresholds and budgets in
a TOML scenario, and list applicants. An :class:`Engine` is one scenario, checked and with
its rules compiled (in Rust): it assesses applicants, allocates kits and cash optimally under
every budget, stock and quota, and says why anyone eligible was left out.

Every result is a dict with exactly the keys and values of the JSON that the command line
and the HTTP API give. pandas is optional: give a DataFrame and you get one back (its columns
the JSON keys); pandas is imported only then.

>>> import idmaj
>>> engine = idmaj.Engine.load("scenarios/tangier-2016")
>>> engine.allocate()["summary"]["served"]
21
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any

__all__ = ["Engine", "Error", "InputError", "RuleError", "InfeasibleError"]


class Error(Exception):
    """Any error of idmaj (the three below, and internal errors that are bugs to report)."""


class InputError(Error, ValueError):
    """Bad input: scenario, data, rules, an applicant, a ``set`` key or value.

    ``problems`` lists every problem found (at most 50), each a dict
    ``{"file", "line", "column", "key", "field", "id", "message"}`` with absent parts
    ``None``: the same objects as the HTTP API's 400 bodies.
    """

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.problems: list[dict[str, Any]] = list(problems or [])


class RuleError(Error):
    """The rules failed for some applicants where a whole programme is needed (allocate,
    sweep, explain). ``problems`` has one dict per failing applicant (``id``, ``message``).
    ``assess`` and ``assess_many`` do not raise it: such an assessment has status
    ``"error"`` and the message in ``"error"``."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.problems: list[dict[str, Any]] = list(problems or [])


class InfeasibleError(Error):
    """No allocation meets every constraint. ``constraints`` names the ones that conflict
    (``"quota.women.min_count"``, ``"budget.total"``...); ``shortfall`` is by how many
    people the first falls short, where known."""

    def __init__(
        self, message: str, constraints: Iterable[str] = (), shortfall: int | None = None
    ):
        super().__init__(message)
        self.constraints: list[str] = list(constraints)
        self.shortfall: int | None = shortfall


# After the exception classes: the extension raises them by name.
from . import _idmaj  # noqa: E402

__version__: str = _idmaj.__version__


def _dataframe_class() -> Any:
    """pandas.DataFrame if pandas is already imported (a DataFrame can only come from it)."""
    pandas = sys.modules.get("pandas")
    return getattr(pandas, "DataFrame", None)


def _is_dataframe(value: Any) -> bool:
    frame = _dataframe_class()
    return frame is not None and isinstance(value, frame)


def _columns(frame: Any) -> dict[Any, list[Any]]:
    """A DataFrame as one list per column (far cheaper to hand over than a dict per row).

    Datetime columns become ``YYYY-MM-DD`` text; missing cells (NaN, NaT, pandas.NA) stay
    as they are and the engine reads them as empty cells."""
    import pandas

    if not frame.columns.is_unique:
        repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise InputError(
            "repeated column names: " + ", ".join(repeated),
            [
                {
                    "file": None,
                    "line": None,
                    "column": None,
                    "key": None,
                    "field": name,
                    "id": None,
                    "message": f"column `{name}` appears more than once",
                }
                for name in repeated
            ],
        )
    columns = {}
    for name in frame.columns:
        series = frame[name]
        if pandas.api.types.is_datetime64_any_dtype(series.dtype):
            series = series.dt.strftime("%Y-%m-%d")
        columns[name] = series.tolist()
    return columns


def _records(applicants: Any) -> tuple[Any, Any]:
    """What the extension takes for a batch, and the DataFrame index to give results back
    with (``None`` when the batch is not a DataFrame)."""
    if _is_dataframe(applicants):
        return _columns(applicants), applicants.index
    if isinstance(applicants, Mapping):
        raise TypeError(
            "expected a list of applicant dicts or a pandas DataFrame, got one dict "
            "(use assess() for one applicant)"
        )
    return list(applicants), None


def _frame(columns: dict[str, list[Any]], index: Any) -> Any:
    import pandas

    return pandas.DataFrame(columns, index=index)


class Engine:
    """One checked scenario with its rules compiled. Build it with :meth:`load` or
    :meth:`from_sources`; it is safe to share between threads, and every long call
    releases the GIL."""

    __slots__ = ("_engine",)

    def __init__(self, engine: _idmaj.Engine):
        if not isinstance(engine, _idmaj.Engine):
            raise TypeError("use Engine.load(path) or Engine.from_sources(...)")
        self._engine = engine

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Engine:
        """Loads the scenario at ``path``: a folder holding ``scenario.toml``, or the TOML
        file itself, with its labour market and rules (applicants are read when needed).

        Raises :class:`InputError` naming file, line and key for anything missing or
        invalid."""
        return cls(_idmaj.Engine.load(path))

    @classmethod
    def from_sources(
        cls,
        *,
        scenario_toml: str,
        labour_market_csv: str,
        rules: Mapping[str, str],
        applicants_csv: str | None = None,
    ) -> Engine:
        """Builds an engine from text, with nothing on disk: the scenario TOML, the labour
        market CSV (``city,trade,demand``), ``rules`` as ``{file name: rhai text}``
        (matched to ``[rules] files`` by file name) and optionally the applicants CSV.
        Checks and messages are those of :meth:`load`."""
        return cls(
            _idmaj.Engine.from_sources(
                scenario_toml=scenario_toml,
                labour_market_csv=labour_market_csv,
                rules=dict(rules),
                applicants_csv=applicants_csv,
            )
        )

    def assess(self, applicant: Mapping[str, Any]) -> dict[str, Any]:
        """The assessment of one applicant, a dict with the CSV column names as keys.

        Values may be numbers or numeric text, booleans or the CSV words (``"oui"``,
        ``1``...), dates as ``"YYYY-MM-DD"``/``"DD/MM/YYYY"`` text or ``datetime.date`` /
        ``pandas.Timestamp``; ``name`` may be missing or ``None``; other keys are extra
        columns the rules may read. None and NaN are empty cells (so NaN in a number column
        is an input error). The applicant is validated like a CSV row:
        :class:`InputError` names each bad field.

        Returns ``{"id", "status", "failed_checks", "reasons", "score", "score_items",
        "options", "city", "gender", "trade", "quotas", "error", "scenario"}``; a rule
        failing at run time gives status ``"error"`` with its message, not an exception."""
        return self._engine.assess(applicant)

    def assess_many(self, applicants: Iterable[Mapping[str, Any]] | Any) -> Any:
        """The assessments of many applicants, in input order, scored in parallel with the
        GIL released: a list of dicts for a list of dicts, a DataFrame (one row per
        applicant, columns the assessment's keys, the input's index) for a DataFrame.

        Every applicant is validated first; any invalid one, or a repeated id, raises
        :class:`InputError` with every problem found."""
        batch, index = _records(applicants)
        if index is None:
            return self._engine.assess_many(batch)
        return _frame(self._engine.assess_many(batch, columns=True), index)

    def allocate(
        self,
        set: Mapping[str, Any] | None = None,
        applicants: Iterable[Mapping[str, Any]] | Any | None = None,
        committed: Iterable[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Scores and allocates: the scenario's own applicants, or ``applicants`` (a list of
        dicts or a DataFrame), with ``set`` overriding scenario keys as ``--set`` does
        (``{"budget.total": 4_000_000, "quota.women.min_share": 0.3}``; a list value for
        list keys such as ``funder.ID.cities``).

        Returns ``{"summary": dict, "decisions": list}`` (``summary`` is summary.json, each
        decision a row of decisions.csv with ``funders`` as a list and ``why_not`` as a dict);
        ``decisions`` is a DataFrame when ``applicants`` was one. Raises
        :class:`InputError`, :class:`RuleError` (the rules failed for some applicant) or
        :class:`InfeasibleError`.

        ``committed`` takes an earlier batch's decisions (as ``allocate`` returned them): those
        applicants keep their option, amount and funders, use the budgets, caps, stock and
        quotas, and are not decided again (``"committed": True`` in the result)."""
        overrides = None if set is None else dict(set)
        kept = None if committed is None else [dict(d) for d in committed]
        if applicants is None:
            return self._engine.allocate(overrides, None, committed=kept)
        batch, index = _records(applicants)
        if index is None:
            return self._engine.allocate(overrides, batch, committed=kept)
        result = self._engine.allocate(overrides, batch, columns=True, committed=kept)
        result["decisions"] = _frame(result["decisions"], index)
        return result

    def sweep(
        self,
        budget: tuple[int, int, int] | None = None,
        set: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """What-if over the scenario's own applicants: one row per point of the grid of
        ``set`` (``{"key": [v1, v2]}``, first key varying slowest) and ``budget=(from, to,
        steps)`` (``steps`` whole-MAD totals from ``from`` to ``to``, varying fastest).
        Each row is a row of ``idmaj sweep``: ``settings``, ``budget_total``, ``served``,
        ``spent``, ``objective``, ``women_share``, ``served_by_city``, ``infeasible``..."""
        return self._engine.sweep(
            None if budget is None else tuple(budget), None if set is None else dict(set)
        )

    def explain(self, id: str) -> dict[str, Any]:
        """Why applicant ``id`` (of the scenario's own applicants) got their outcome:
        ``{"assessment", "decision", "checks": [{"id", "passed", "reads": {field: value}}]}``,
        the fields each check had read when it was recorded. :class:`InputError` for an
        unknown id."""
        return self._engine.explain(id)

    def info(self) -> dict[str, Any]:
        """The scenario at a glance: ``program``, ``currency``, ``date``, ``budget_total``,
        ``cities``, ``kits``, ``quotas``, ``rules``, ``params``, ``objective``,
        ``fingerprint``..."""
        return self._engine.info()

    def __repr__(self) -> str:
        return repr(self._engine)
