"""Split a strategy into the parts it runs as: shards balanced by duration, or its steps.

The strategy's selection is collected once (``collect``, with the arguments it runs with)
and every part records the selection's size and digest, so the merge can prove the parts ran
it all, once (``parts.check``).

Shards get exact node ids, passed to pytest in an ``@file``: each shard collects only the files
it runs, and no plugin is needed in the target. (pytest-split instead collects the whole suite
in every shard and deselects the others' tests in a plugin, reading a durations file it keeps
beside the tests.) The split is longest-processing-time first over the newest baseline run's
per-test durations: the groups the strategy's ``--dist`` mode keeps on one worker stay in one
shard (``timeline.group_of``), a test the baseline did not run counts as its median, and each
group goes to the shard with the least time so far. Without a baseline the split is by file,
balanced by test count, with a warning. The split depends only on the collection and the
baseline, so CI jobs that share both split alike; the split's digest is in each part's logical
run id, so jobs that did not are caught, not merged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import statistics
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import bench, events, judge, parts, resultset, running
from benchlib.bench import RunPlan
from benchlib.errors import InputError
from benchlib.machine import target_info, usable_cpus
from benchlib.results import Part, ResultError
from benchlib.strategy import Strategy, Workers, resolve_workers, step_strategy
from benchlib.timeline import group_of


@dataclass(frozen=True)
class Durations:
    """Per-test seconds from one baseline run, to balance shards by."""

    run_id: str
    seconds: dict[str, float]  # by node id


@dataclass(frozen=True)
class Shard:
    index: int  # from 1
    nodeids: tuple[str, ...]  # in collection order
    predicted_s: float | None  # the baseline's seconds for these tests; None without one


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


def baseline_durations(results_dir: Path, project: str) -> Durations | None:
    """Return the newest counted baseline run's per-test durations for the project, if any."""
    if not results_dir.is_dir():
        return None
    candidates = [r for r in resultset.load([results_dir]).runs if is_baseline(r, project)]
    for run in sorted(candidates, key=lambda r: (r.result.started_at, r.result.run_id))[::-1]:
        try:
            tests = run.tests()
        except ResultError:
            continue  # unreadable now: the next newest will do
        seconds = {t.nodeid: t.duration_s for t in tests if t.phase != "collect"}
        if seconds:
            return Durations(run.result.run_id, seconds)
    return None


def is_baseline(run: resultset.Run, project: str) -> bool:
    """Tell whether a run is a whole, counted run of this project's full-scope baseline."""
    r = run.result
    return (
        judge.counts(r)
        and r.part is None
        and r.target.identity == project
        and r.strategy.compare_to is None
        and r.strategy.scope == "full"
    )


def split(
    nodeids: Sequence[str], k: int, seconds: Mapping[str, float] | None, dist: str | None
) -> tuple[Shard, ...]:
    """Split node ids into k shards, longest group first to the least loaded shard.

    Without seconds, split by file and balance the test counts. Raise InputError when a shard
    would get nothing (an empty @file would make pytest run its default paths).
    """
    grouped: dict[str, list[str]] = {}
    for nodeid in nodeids:
        grouped.setdefault(group_of(nodeid, dist if seconds else "loadfile"), []).append(nodeid)
    totals, members = _longest_first(grouped, _weights(nodeids, seconds), k)
    if not all(members):
        raise InputError(
            "shard", f"{k} shards", f"leave a shard empty: the selection has {len(grouped)} "
            f"{'files' if seconds is None else 'groups'} to split",
            "use fewer shards",
        )  # fmt: skip
    position = {n: i for i, n in enumerate(nodeids)}
    return tuple(
        Shard(i + 1, tuple(sorted(m, key=position.__getitem__)), totals[i] if seconds else None)
        for i, m in enumerate(members)
    )


def _longest_first(
    grouped: Mapping[str, list[str]], weight: Mapping[str, float], k: int
) -> tuple[list[float], list[list[str]]]:
    """Give each group, longest first, to the shard with the least time so far."""
    load = {g: sum(weight[n] for n in ids) for g, ids in grouped.items()}
    totals: list[float] = [0.0] * k
    members: list[list[str]] = [[] for _ in range(k)]
    for group in sorted(grouped, key=lambda g: -load[g]):  # stable: ties in collection order
        i = min(range(k), key=lambda j: (totals[j], j))
        totals[i] += load[group]
        members[i] += grouped[group]
    return totals, members


def _weights(nodeids: Sequence[str], seconds: Mapping[str, float] | None) -> dict[str, float]:
    if seconds is None:
        return dict.fromkeys(nodeids, 1.0)
    known = [seconds[n] for n in nodeids if n in seconds]
    # A test the baseline never ran (new, or outside its selection) counts as a typical one.
    fill = statistics.median(known) if known else 1.0
    return {n: seconds.get(n, fill) for n in nodeids}


def expand(
    plan: RunPlan, *, only: int | None = None, durations: Path | None = None
) -> tuple[list[RunPlan], list[str]]:
    """Return the plans a strategy runs as (its shards, or its steps), and warnings.

    only: run that shard alone (`--shard I/K`), as one CI job does. durations: the folder
    whose baseline run the shards are split by (default: the plan's results folder).
    """
    if plan.strategy.steps:
        return _steps(plan), []
    if plan.strategy.shards > 1:
        return _shards(plan, only, durations or plan.results_dir)
    return [plan], []


def _steps(plan: RunPlan) -> list[RunPlan]:
    ids = collect(plan)
    s = plan.strategy
    found = []
    for i, step in enumerate(s.steps, start=1):
        part = Part("step", i, len(s.steps), "", len(ids), parts.digest(ids))
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


def _shards(plan: RunPlan, only: int | None, source: Path) -> tuple[list[RunPlan], list[str]]:
    s = plan.strategy
    ids = collect(plan)
    found = baseline_durations(source, target_info(plan.target).identity)
    shards = split(
        ids, s.shards, found.seconds if found else None, s.dist if plan.workers else None
    )
    plan_digest = hashlib.sha256("\0".join("\n".join(sh.nodeids) for sh in shards).encode())
    prefix = f"{s.name}-{plan_digest.hexdigest()[:12]}"
    whole = Part("shard", 1, s.shards, prefix, len(ids), parts.digest(ids))
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
    plans: Sequence[RunPlan], shard: tuple[int, int] | None, durations: Path | None = None
) -> tuple[list[RunPlan], list[str]]:
    """Expand every sharded or stepped plan into its parts (`--shard I/K`: that shard alone)."""
    if shard is not None:
        _check_shard(plans, shard)
    found: list[RunPlan] = []
    warnings: list[str] = []
    for plan in plans:
        expanded, notes = expand(plan, only=shard[0] if shard else None, durations=durations)
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
