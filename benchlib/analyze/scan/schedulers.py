"""Models of pytest-xdist's schedulers, for the simulator: which test each worker runs next.

They follow pytest-xdist 3.x (``xdist/scheduler/``), one class per policy that differs in logic;
the grouping modes differ only in data (``strategy.group_of``) and share one class.

    load       initial chunks of a quarter of each worker's share (one test each when there are
               fewer than two per worker), then a refill up to half the remaining share per
               worker whenever a worker's queue falls below a quarter of it
    worksteal  equal contiguous blocks; a worker with fewer than two tests left takes half of
               the longest queue's tail
    loadscope, loadfile, loadgroup
               whole groups, the largest first (xdist's default --loadscope-reorder); a worker
               gets the next group when two tests or fewer of its own are left; workers beyond
               the number of groups are shut down at once
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from benchlib.plan.strategy import group_of

MODELLED = ("load", "worksteal", "loadfile", "loadscope", "loadgroup")
MIN_PENDING = 2  # xdist worksteal: a worker with fewer tests than this asks for more
# xdist load: a test at least this long (seconds) lets a worker with two queued tests wait.
SLOW_TEST_S = 0.1

Next = int | Literal["stop", "wait"]


class Scheduler(Protocol):
    """What the simulation asks a --dist mode: what a worker runs next, and what it finished."""

    def start(self) -> None: ...
    def head(self, worker: int) -> Next: ...
    def complete(self, worker: int, duration_s: float) -> None: ...


class _Queues:
    """Per-worker queues (the running test first) and the global pending list."""

    def __init__(self, tests: int, workers: int) -> None:
        self.pending = list(range(tests))
        self.queues: list[list[int]] = [[] for _ in range(workers)]
        self.stopping = [False] * workers

    def send(self, worker: int, count: int) -> None:
        self.queues[worker] += self.pending[:count]
        del self.pending[:count]

    def head(self, worker: int) -> Next:
        if self.queues[worker]:
            return self.queues[worker][0]
        return "stop" if self.stopping[worker] or not self.pending else "wait"


class LoadScheduler(_Queues):
    """xdist LoadScheduling: initial chunks, then refills below a low watermark."""

    def start(self) -> None:
        n, total = len(self.queues), len(self.pending)
        if total < 2 * n:
            for i in range(total):
                self.send(i % n, 1)
        else:
            chunk = max(total // n // 4, 2)
            for w in range(n):
                self.send(w, chunk)

    def complete(self, worker: int, duration_s: float) -> None:
        queue = self.queues[worker]
        queue.pop(0)
        if not self.pending:
            self.stopping[worker] = True
            return
        n = len(self.queues)
        low = max(2, len(self.pending) // n // 4)
        high = max(2, len(self.pending) // n // 2)
        if len(queue) < low and not (duration_s >= SLOW_TEST_S and len(queue) >= 2):
            self.send(worker, high - len(queue))


class WorkStealScheduler(_Queues):
    """xdist WorkStealingScheduling: equal blocks, then steal half of the longest queue."""

    def start(self) -> None:
        self._rebalance()

    def complete(self, worker: int, duration_s: float) -> None:
        self.queues[worker].pop(0)
        self._rebalance()

    def _rebalance(self) -> None:
        up = [w for w in range(len(self.queues)) if not self.stopping[w]]
        idle = [w for w in up if len(self.queues[w]) < MIN_PENDING]
        if not idle:
            return
        if self.pending:
            for i, w in enumerate(idle):
                self.send(w, len(self.pending) // (len(idle) - i))
            idle = [w for w in idle if len(self.queues[w]) < MIN_PENDING]
            if not idle:
                return
        victim = max(up, key=lambda w: len(self.queues[w]))
        size = len(self.queues[victim])
        steal = min(size // 2, max(0, size - MIN_PENDING))
        if steal == 0:
            for w in idle:
                self.stopping[w] = True
            return
        # The stolen tests go back to pending and out to the idle workers, as xdist does.
        self.pending += self.queues[victim][-steal:]
        del self.queues[victim][-steal:]
        self._rebalance()


class GroupScheduler(_Queues):
    """xdist LoadScope/LoadFile/LoadGroup: whole groups, largest first, two tests ahead."""

    def __init__(self, tests: int, workers: int, groups: Sequence[str]) -> None:
        super().__init__(tests, workers)
        units: dict[str, list[int]] = {}
        for i, group in enumerate(groups):
            units.setdefault(group, []).append(i)
        # --loadscope-reorder is xdist's default: the groups with most tests go first.
        self.units = sorted(units.values(), key=lambda u: -len(u))
        self.pending = []  # work is handed out in units, never test by test

    def start(self) -> None:
        n = len(self.queues)
        for w in range(len(self.units), n):
            self.stopping[w] = True  # more workers than groups: the rest are shut down
        for w in range(min(n, len(self.units))):
            self.queues[w] += self.units.pop(0)
        for w in range(n):
            self._top_up(w)

    def complete(self, worker: int, duration_s: float) -> None:
        self.queues[worker].pop(0)
        self._top_up(worker)

    def _top_up(self, worker: int) -> None:
        if not self.units:
            self.stopping[worker] = True
        elif len(self.queues[worker]) <= 2 and not self.stopping[worker]:
            self.queues[worker] += self.units.pop(0)


def scheduler(dist: str, nodeids: Sequence[str], workers: int) -> Scheduler:
    """Return the model of one --dist mode for these tests (in collection order)."""
    if dist == "load":
        return LoadScheduler(len(nodeids), workers)
    if dist == "worksteal":
        return WorkStealScheduler(len(nodeids), workers)
    if dist in ("loadfile", "loadscope", "loadgroup"):
        groups = [group_of(n, dist) for n in nodeids]
        return GroupScheduler(len(nodeids), workers, groups)
    raise ValueError(f"--dist {dist!r} is not modelled; modelled: {', '.join(MODELLED)}")
