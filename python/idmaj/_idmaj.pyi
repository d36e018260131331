"""Type stub of the compiled extension `idmaj._idmaj`.

Use the package `idmaj` instead: its `Engine` wraps this one, adds pandas DataFrames in and
out, and defines the exceptions raised here (`idmaj.InputError`, `idmaj.RuleError`,
`idmaj.InfeasibleError`, `idmaj.Error`). Every dict returned is the serde JSON of the
library's type, with the same keys and values as the command line and the HTTP API.
"""

from os import PathLike
from typing import Any, Iterable, Mapping

__version__: str

Applicants = Iterable[Mapping[str, Any]] | Mapping[str, list[Any]]
"""A list of applicant dicts, or a dict of columns (name to a list of values)."""

class Engine:
    """One checked scenario with its rules compiled (the Rust library's `idmaj::Engine`)."""

    @staticmethod
    def load(path: str | PathLike[str]) -> Engine:
        """Loads a scenario folder (or its scenario TOML file) with its labour market and
        rules. Raises `idmaj.InputError` naming file, line and key."""

    @staticmethod
    def from_sources(
        *,
        scenario_toml: str,
        labour_market_csv: str,
        rules: dict[str, str],
        applicants_csv: str | None = None,
    ) -> Engine:
        """Builds an engine from text: `rules` maps a rule file name to its rhai source."""

    def assess(self, applicant: Mapping[str, Any]) -> dict[str, Any]:
        """The assessment of one applicant (a dict with the CSV column names as keys):
        `{"id", "status", "failed_checks", "reasons", "score", "score_items", "options",
        "city", "gender", "trade", "quotas", "error", "scenario"}`."""

    def assess_many(
        self, applicants: Applicants, columns: bool = False
    ) -> list[dict[str, Any]] | dict[str, list[Any]]:
        """The assessments, in input order, scored in parallel with the GIL released: a list
        of dicts, or with `columns=True` one list per key (what a DataFrame is made of)."""

    def allocate(
        self,
        set: Mapping[str, Any] | None = None,
        applicants: Applicants | None = None,
        columns: bool = False,
        committed: list[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Scores and allocates the scenario's own applicants or `applicants`, with `set`
        overrides: `{"summary": dict, "decisions": list}` (decisions as one list per key
        with `columns=True`)."""

    def sweep(
        self,
        budget: tuple[int, int, int] | None = None,
        set: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """One row per point of the grid of `set` (`{"key": [v1, v2]}`, slowest first) and
        `budget=(from, to, steps)` (fastest), over the scenario's own applicants."""

    def explain(self, id: str) -> dict[str, Any]:
        """`{"assessment", "decision", "checks": [{"id", "passed", "reads"}]}` for applicant
        `id` of the scenario's own applicants."""

    def info(self) -> dict[str, Any]:
        """The scenario at a glance: programme, cities, kits, quotas, rules, fingerprint."""

def _panic(message: str) -> None:
    """Panics in Rust (for the test that a panic is a Python exception, not a crash)."""
