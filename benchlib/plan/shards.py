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

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchlib.errors import InputError
from benchlib.plan.strategy import group_of


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
