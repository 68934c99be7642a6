"""A paired bench of two checkouts: a pull request's head and its base, on one machine.

Each round runs every strategy on both sides, one right after the other, the order swapped
every round (base head, head base, ...), so that drift on a shared CI runner hits both alike.
Both sides share one bench id and number their rounds alike: judge pairs each base run with
the head run of its round (pairing.pairs) and gates on the ratios measured within one round.
`--repeat auto` stops as a bench does (bench._another_round): when each strategy's head/base
interval is narrow enough, or before a round that would overrun the budget.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchlib import stats
from benchlib.measure import bench
from benchlib.measure.bench import Bench, Listener, Schedule
from benchlib.measure.lock import Held, exclusive
from benchlib.model import results
from benchlib.model.records import RunResult
from benchlib.plan.machine import describe, target_info
from benchlib.plan.runplan import RunPlan

BASE_PREFIX = "base:"  # the base side's name in the stopping rule, never in a result file


@dataclass(frozen=True)
class Side:
    plans: tuple[RunPlan, ...]
    where: bench._Where


def bench_pair(
    head: Sequence[RunPlan], base: Sequence[RunPlan], schedule: Schedule, listener: Listener
) -> tuple[Bench, Bench]:
    """Run head's and base's plans interleaved and paired; return (head, base) as benched."""
    # Judged as pairs (judge.judge_pairs): --repeat auto runs the pairs an interval needs.
    schedule = dataclasses.replace(schedule, min_rounds=stats.pairs_for_interval())
    bench_id = uuid.uuid4().hex[:12]
    sides = {
        "head": Side(tuple(head), _where(head[0], bench_id)),
        "base": Side(tuple(base), _where(base[0], bench_id)),
    }
    done: dict[str, list[tuple[RunResult, str]]] = {"head": [], "base": []}
    walls: dict[str, list[float]] = {_key(s, p): [] for s in sides for p in sides[s].plans}
    rule = _rule_plans(head, base)
    listener.expect((len(head) + len(base)) * schedule.first_rounds())
    t0 = time.monotonic()
    with ExitStack() as stack:
        held = {s: stack.enter_context(exclusive(sides[s].plans[0].results_dir)) for s in sides}
        round_ = 0
        while True:
            warmup = round_ < schedule.warmup
            for name in _names(head, base):
                for s in ("base", "head") if round_ % 2 == 0 else ("head", "base"):
                    for plan in (p for p in sides[s].plans if p.strategy.name == name):
                        result = _run(plan, sides[s], held[s], round_, warmup, listener)
                        done[s].append(result)
                        if not warmup and result[0].status in results.COMPLETED and not plan.part:
                            walls[_key(s, plan)].append(result[0].wall_s)
            round_ += 1
            elapsed = time.monotonic() - t0
            if not bench._another_round(schedule, rule, round_, walls, elapsed):
                break
            listener.expect(sum(map(len, done.values())) + len(head) + len(base))
    stopped = bench._why_stopped(schedule, rule, walls)
    return _bench(done["head"], stopped), _bench(done["base"], stopped)


def _where(plan: RunPlan, bench_id: str) -> bench._Where:
    return bench._Where(describe(plan.interpreter), target_info(plan.target), bench_id)


def _key(side: str, plan: RunPlan) -> str:
    return plan.strategy.name if side == "head" else BASE_PREFIX + plan.strategy.name


def _names(head: Sequence[RunPlan], base: Sequence[RunPlan]) -> list[str]:
    return list(dict.fromkeys(p.strategy.name for p in (*head, *base)))


def _rule_plans(head: Sequence[RunPlan], base: Sequence[RunPlan]) -> list[RunPlan]:
    """Plans as the stopping rule sees them: each head strategy compared to its base side."""
    on_base = {p.strategy.name for p in base}
    found = [
        dataclasses.replace(p, strategy=dataclasses.replace(p.strategy, name=_key("base", p)))
        for p in base
    ]
    for p in head:
        against = _key("base", p) if p.strategy.name in on_base else None
        found.append(
            dataclasses.replace(p, strategy=dataclasses.replace(p.strategy, compare_to=against))
        )
    return found


def _run(
    plan: RunPlan, side: Side, held: Held, round_: int, warmup: bool, listener: Listener
) -> tuple[RunResult, str]:
    listener.start(plan.label(), round_, warmup)
    result, path = bench.run_once(plan, side.where, held, round_, warmup, listener)
    listener.finish(result, str(path))
    return result, str(path)


def _bench(done: Sequence[tuple[RunResult, str]], stopped: bench.Stopped) -> Bench:
    return Bench(tuple(r for r, _ in done), tuple(Path(p) for _, p in done), stopped)
