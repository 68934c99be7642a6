"""Which runs pair up: the same bench (one job on one machine) and the same round.

Facts for judge's paired judgement: the pairs, the ratio within each bench, and how far one
strategy's runs swing from host to host when no bench ran both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchlib import stats
from benchlib.model.records import RunResult

Pair = tuple[RunResult, RunResult]


@dataclass(frozen=True)
class BenchRatio:
    """before / after as measured within one bench: one job, on one machine, round by round."""

    bench_id: str
    host: str
    pairs: int
    ratio: float  # the median of its pairs' ratios
    before_s: float  # median wall of its paired runs
    after_s: float


def pairs(before: Sequence[RunResult], after: Sequence[RunResult]) -> dict[str, list[Pair]]:
    """Return the (before, after) runs of one bench and one round, by bench, in order."""
    by_before = {(r.bench_id, r.round): r for r in before if r.bench_id is not None}
    by_after = {(r.bench_id, r.round): r for r in after if r.bench_id is not None}
    found: dict[str, list[Pair]] = {}
    for key in sorted(by_before.keys() & by_after.keys(), key=lambda k: by_before[k].started_at):
        found.setdefault(str(key[0]), []).append((by_before[key], by_after[key]))
    return found


def bench_ratio(bench_id: str, found: Sequence[Pair]) -> BenchRatio:
    """Return one bench's ratio: the median over its rounds."""
    ratios = [x.wall_s / y.wall_s for x, y in found]
    return BenchRatio(
        bench_id,
        found[0][0].machine.hostname,
        len(found),
        stats.describe(ratios).median,
        stats.describe([x.wall_s for x, _ in found]).median,
        stats.describe([y.wall_s for _, y in found]).median,
    )


def runner_spread(runs: Sequence[RunResult]) -> float | None:
    """Return the largest relative difference between one strategy's medians on two hosts."""
    walls: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        walls.setdefault((r.strategy.name, r.machine.hostname), []).append(r.wall_s)
    medians: dict[str, list[float]] = {}
    for (name, _), values in walls.items():
        medians.setdefault(name, []).append(stats.describe(values).median)
    spreads = [max(m) / min(m) - 1 for m in medians.values() if len(m) > 1]
    return max(spreads) if spreads else None
