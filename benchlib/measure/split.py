"""Expand a strategy into the parts it runs as: its shards (planned in plan.shards) or steps.

The strategy's selection is collected once (``collect``, with the arguments it runs with)
and every part records the selection's size and digest, so the merge can prove the parts ran
it all, once (``parts.check``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from benchlib.errors import InputError
from benchlib.measure import bench, events, running
from benchlib.model.results import Part, selection_digest
from benchlib.plan.machine import target_info, usable_cpus
from benchlib.plan.runplan import RunPlan
from benchlib.plan.shards import Durations, Shard, split
from benchlib.plan.strategy import Strategy, Workers, resolve_workers, step_strategy

# Where a sharded strategy's durations come from: the newest baseline run of a project in a
# results folder (analyze.parts.baseline_durations, which the command line passes in).
Baseline = Callable[[Path, str], Durations | None]


def collect(plan: RunPlan) -> tuple[str, ...]:
    """Collect the plan's selection once, serially (pytest --collect-only): its node ids.

    The observer reports the ids it collected, so pytest's verbosity does not matter. Raise
    InputError naming the log when collection fails or selects nothing.
    """
    logs = plan.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"collect-{plan.strategy.name}"
    events_path = logs / f".{stem}.{uuid.uuid4().hex[:8]}.events.jsonl"
    serial = dataclasses.replace(plan, workers=0, part=None, selection=(), command=())
    env, _ = bench.child_env(plan.strategy, events_path)
    launch = running.Launch(
        (*serial.argv(), "--collect-only"), plan.target, env, logs / f"{stem}.log", events_path,
        plan.timeout_s, plan.interval_s,
    )  # fmt: skip
    measured = running.run(launch)
    observed = events.read(events_path, t0=measured.t0_epoch, end=measured.end_epoch)
    events_path.unlink(missing_ok=True)
    if measured.exit_code != 0 or not observed.collected_ids:
        raise InputError(
            "strategy", plan.strategy.name,
            f"could not be collected to split it (pytest exit {measured.exit_code}, "
            f"{len(observed.collected_ids)} tests)",
            f"see {launch.log_path}",
        )  # fmt: skip
    return observed.collected_ids


def expand(
    plan: RunPlan, baseline: Baseline, *, only: int | None = None, durations: Path | None = None
) -> tuple[list[RunPlan], list[str]]:
    """Return the plans a strategy runs as (its shards, or its steps), and warnings.

    only: run that shard alone (`--shard I/K`), as one CI job does.
    """
    if plan.strategy.steps:
        return _steps(plan), []
    if plan.strategy.shards > 1:
        return _shards(plan, baseline, only, durations or plan.results_dir)
    return [plan], []


def _steps(plan: RunPlan) -> list[RunPlan]:
    ids = collect(plan)
    s = plan.strategy
    found = []
    for i, step in enumerate(s.steps, start=1):
        part = Part("step", i, len(s.steps), "", len(ids), selection_digest(ids))
        workers = _step_workers(plan, step.workers, i)
        sub = step_strategy(s, step)
        found.append(
            dataclasses.replace(
                plan, strategy=sub, workers=workers, part=part, command=step.command
            )
        )
    return found


def _step_workers(plan: RunPlan, asked: Workers, index: int) -> int:
    workers = resolve_workers(asked, usable_cpus())
    if workers > 0 and plan.interpreter.xdist is None:
        python = plan.interpreter.path
        raise InputError(
            "python", python,
            f"has no pytest-xdist, which step {index} of strategy {plan.strategy.name!r} needs",
            f"install it there ({python} -m pip install pytest-xdist)",
        )  # fmt: skip
    return workers


def _shards(
    plan: RunPlan, baseline: Baseline, only: int | None, source: Path
) -> tuple[list[RunPlan], list[str]]:
    """source: the results folder whose baseline run the shards are split by (`--durations`)."""
    s = plan.strategy
    ids = collect(plan)
    found = baseline(source, target_info(plan.target, plan.project).identity)
    shards = split(
        ids, s.shards, found.seconds if found else None, s.dist if plan.workers else None
    )
    plan_digest = hashlib.sha256("\0".join("\n".join(sh.nodeids) for sh in shards).encode())
    prefix = f"{s.name}-{plan_digest.hexdigest()[:12]}"
    whole = Part("shard", 1, s.shards, prefix, len(ids), selection_digest(ids))
    plans = [_shard_plan(plan, whole, sh) for sh in shards if only in (None, sh.index)]
    return plans, [] if found else [_by_file(plan, source)]


def _by_file(plan: RunPlan, source: Path) -> str:
    s = plan.strategy
    return (
        f"strategy {s.name!r}: no baseline result for this project in {source}, "
        f"so its {s.shards} shards are split by file and balanced by test count; run the "
        "baseline (serial-full) there first for a split by duration"
    )


def _shard_plan(plan: RunPlan, whole: Part, shard: Shard) -> RunPlan:
    predicted = None if shard.predicted_s is None else round(shard.predicted_s, 6)
    part = dataclasses.replace(
        whole, index=shard.index, assigned=len(shard.nodeids), predicted_s=predicted
    )
    return dataclasses.replace(plan, part=part, selection=shard.nodeids)


def with_pairs(
    names: Sequence[str],
    pairs: Sequence[str],
    strategies: Mapping[str, Strategy],
    shard: tuple[int, int] | None = None,
) -> list[str]:
    """Return the strategies to run, each after those it is paired with (`--pair`).

    A pair runs in the same bench, round-robin, so each round gives a ratio measured on one
    machine; "auto" pairs each strategy with its compare_to. One shard is not the strategy, so
    it is never paired ("auto" skips it; a named pair is refused).
    """
    named = [p for p in pairs if p != "auto"]
    _check_pairs(named, strategies, shard)
    for name in named:
        if name in names:  # a strategy beside itself: one bench runs it twice a round
            raise InputError(
                "pair", name, "is a strategy this run already runs",
                "pair it with another strategy (--pair auto: each with its compare_to)",
            )  # fmt: skip
    found: list[str] = []
    for name in names:
        auto = "auto" in pairs and shard is None and strategies[name].compare_to
        found += [*named, *([strategies[name].compare_to or ""] if auto else []), name]
    return list(dict.fromkeys(found))


def _check_pairs(
    named: Sequence[str], strategies: Mapping[str, Strategy], shard: tuple[int, int] | None
) -> None:
    if shard is not None and named:
        raise InputError(
            "pair", named[0], "cannot be paired with one shard",
            "pair the whole strategy, or drop --pair (--pair auto skips shards)",
        )  # fmt: skip
    for name in named:
        if name not in strategies:
            raise InputError(
                "pair", name, "is not configured", f"use one of: {', '.join(strategies)}"
            )


def expand_all(
    plans: Sequence[RunPlan],
    shard: tuple[int, int] | None,
    baseline: Baseline,
    durations: Path | None = None,
) -> tuple[list[RunPlan], list[str]]:
    """Expand every sharded or stepped plan into its parts (`--shard I/K`: that shard alone)."""
    if shard is not None:
        _check_shard(plans, shard)
    found: list[RunPlan] = []
    warnings: list[str] = []
    for plan in plans:
        only = shard[0] if shard else None
        expanded, notes = expand(plan, baseline, only=only, durations=durations)
        found += expanded
        warnings += notes
    return found, warnings


def _check_shard(plans: Sequence[RunPlan], shard: tuple[int, int]) -> None:
    sharded = [p.strategy for p in plans if p.strategy.shards > 1]
    if len(plans) != 1 or [s.shards for s in sharded] != [shard[1]]:
        have = ", ".join(f"{s.name} has {s.shards}" for s in sharded) or "none is sharded"
        raise InputError(
            "shard", f"{shard[0]}/{shard[1]}", f"does not name a shard of one strategy ({have})",
            "name one strategy whose `shards` is the count after the slash",
        )  # fmt: skip
