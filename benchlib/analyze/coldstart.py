"""Cold first runs: a bench's first run of a strategy that stood out from its later runs.

Said in every report, and never a figure: judge leaves a cold run that was not a warm-up out
of the statistics (judge.counted), as it leaves out every warm-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from benchlib import stats
from benchlib.model.results import COMPLETED, RunResult


@dataclass(frozen=True)
class ColdRun:
    """A strategy's first run of a bench that stood out from the bench's later runs.

    A cold start (bytecode compiled, files read from disk, a cache filled) costs the first run
    of a bench 10-200%: as a figure it would inflate every ratio against it. A warm-up is left
    out anyway; a cold run that was not one is left out by judge.counted. Either is said.
    """

    strategy: str
    run_id: str
    wall_s: float
    warm_s: float  # the median of the same bench's later runs that count
    warmup: bool


def cold(runs: Iterable[RunResult], counts: Callable[[RunResult], bool]) -> tuple[ColdRun, ...]:
    """Return the cold first runs: per strategy and bench, a first run that stands out.

    runs are in the order they were made; counts tells the runs that enter the statistics
    (judge.counts). "Stands out" is stats.first_run_much_slower's rule, against the bench's
    later runs that count (at least two: their spread is part of the rule).
    """
    groups: dict[tuple[str, str | None], list[RunResult]] = {}
    for r in runs:
        if r.status in COMPLETED and r.wall_s > 0:
            groups.setdefault((r.strategy.name, r.bench_id), []).append(r)
    found = []
    for group in groups.values():
        first, later = group[0], [r.wall_s for r in group[1:] if counts(r)]
        if stats.first_run_much_slower([first.wall_s, *later]):
            warm = stats.describe(later).median
            name, warmup = first.strategy.name, first.warmup
            found.append(ColdRun(name, first.run_id, first.wall_s, warm, warmup))
    return tuple(found)
