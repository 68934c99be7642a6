"""Budgets: limits a strategy must stay under, as one table every other part derives from.

A budget kind names its configuration key (also its key in a result file's strategy record),
what it measures in one run, how the runs of a set are reduced to one figure, and its unit.
Configuration validation, recording, the gate and the report all read this table, so a new
kind is one entry here and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the noxfile imports config, and so this, with nothing installed but nox
    from benchlib.model.results import RunResult

Aggregate = Literal["median", "worst"]
Unit = Literal["s", "count", "bytes"]


@dataclass(frozen=True)
class BudgetKind:
    """One kind of limit: what it measures per run and how a set of runs is judged."""

    key: str  # "max_wall_s": the config key and the result file's key
    measure: Callable[[RunResult], float]
    # "median" for timings, so that one run disturbed by the machine does not fail a merge;
    # "worst" for what noise does not produce (warnings, memory): any run that shows it counts.
    aggregate: Aggregate
    unit: Unit

    def reduce(self, runs: Sequence[RunResult]) -> float:
        """Return the figure the limit is held against: the median or the worst run."""
        values = sorted(self.measure(r) for r in runs)
        if self.aggregate == "worst":
            return values[-1]
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    def expected(self) -> str:
        """Say what a valid limit is, for error messages."""
        if self.unit == "s":
            return "a number of seconds > 0"
        return f"a whole number >= 0 ({self.unit})"

    def valid(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.unit == "s":
            return math.isfinite(value) and value > 0
        return isinstance(value, int) and value >= 0


KINDS: Mapping[str, BudgetKind] = {
    k.key: k
    for k in (
        BudgetKind("max_wall_s", lambda r: r.wall_s, "median", "s"),
        BudgetKind("max_warnings", lambda r: r.outcome.warnings, "worst", "count"),
        BudgetKind("max_rss_bytes", lambda r: r.peak_rss_bytes, "worst", "bytes"),
    )
}


@dataclass(frozen=True)
class BudgetCheck:
    """One limit held against a strategy's runs."""

    strategy: str
    kind: BudgetKind
    limit: float
    actual: float
    runs: int

    @property
    def broken(self) -> bool:
        return self.actual > self.limit


def check(
    strategy: str, limits: Mapping[str, float], runs: Sequence[RunResult]
) -> list[BudgetCheck]:
    """Hold each recorded limit against the runs (which must not be empty)."""
    return [
        BudgetCheck(strategy, KINDS[key], limit, KINDS[key].reduce(runs), len(runs))
        for key, limit in sorted(limits.items())
        if key in KINDS  # a kind this benchlib does not know (a newer file) is not checked
    ]
