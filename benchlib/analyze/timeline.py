"""Where a run's time went, and how fast it could have been: the breakdown and the lower bound.

Pure functions of one result: its milestones (``Timeline``) and its tests' start times and
durations, all in seconds from the moment pytest was started. The breakdown cuts the wall time
into consecutive parts, so the parts add up to the wall by construction:

    start-up   [0, session]            interpreter, plugins, conftest files
    boot       [session, workers up]   xdist workers starting (0 when serial)
    collection [workers up, 1st test]  collecting (under xdist: the slowest worker), scheduling
    execution  the tests' own time, per worker: busy seconds / workers
    between    the rest of the test span: pytest's per-test overhead, waiting for work
    idle tail  workers that ran out of work while another still worked (imbalance)
    shutdown   [last test end, wall]   session end, reports, workers going down

The bound is the run's measured fixed costs (everything but the test span) plus the largest of
what no scheduler can beat: the tests' summed time spread over the workers, and the longest unit
the ``--dist`` mode cannot split. The tree's CPU time over the usable CPUs bounds the whole run.
Each term is a true lower bound of the measured run, so the bound never exceeds the wall.

Workers are counted as the run asked for them (``-n 2``), or as seen when more ran tests: a
worker that got no test is idle for the whole span, which is imbalance, not a smaller run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from benchlib.model.results import RunResult, TestRecord
from benchlib.plan.strategy import group_of

Term = Literal["sum / workers", "longest test", "longest group", "cpu / usable cpus"]
PARTS = ("startup", "boot", "collection", "execution", "between", "idle_tail", "shutdown")
# When the longest unit comes within this share of sum / workers, the unit is named as what
# binds: each test's time carries pytest's own per-test cost (about 1 ms), which only the sum
# collects, and with more workers sum / workers shrinks while the unit does not.
TIE = 0.05


@dataclass(frozen=True)
class Breakdown:
    """The wall time cut into parts (seconds) that add up to it."""

    wall_s: float
    workers: int  # 1 when serial
    startup_s: float
    boot_s: float
    collection_s: float
    execution_s: float
    between_s: float
    idle_tail_s: float
    shutdown_s: float
    collections: int  # how many times the suite was collected (once per worker under xdist)
    collection_cpu_s: float  # summed collection time over the processes that collected
    worker_collection: tuple[tuple[str, float], ...] = ()  # (xdist worker, its collection s)

    def parts(self) -> tuple[tuple[str, float], ...]:
        return tuple((name, getattr(self, f"{name}_s")) for name in PARTS)

    @property
    def fixed_s(self) -> float:
        """What the run spends outside its tests' span: start-up to first test, and shutdown."""
        return self.startup_s + self.boot_s + self.collection_s + self.shutdown_s


@dataclass(frozen=True)
class Bound:
    """The least wall time this run's tests allow at its worker count, and what binds it."""

    wall_s: float
    bound_s: float
    term: Term
    fixed_s: float
    sum_s: float  # the tests' summed durations
    per_worker_s: float  # sum_s / workers
    longest_s: float  # the longest test, or group the --dist mode keeps on one worker
    longest: str  # its node id or group name
    cpu_s: float  # the tree's CPU time / usable CPUs

    @property
    def efficiency(self) -> float:
        return self.bound_s / self.wall_s if self.wall_s > 0 else 0.0


def timed_tests(run: RunResult) -> list[TestRecord]:
    """Return the tests that have a place on the timeline (version 3 files)."""
    return [t for t in run.tests if t.start_s is not None]


def _workers_up(run: RunResult, session: float) -> float:
    configured = [w.configured_s for w in run.timeline.workers if w.configured_s is not None]
    return max([session, *configured])


def worker_collection(run: RunResult) -> tuple[tuple[str, float], ...]:
    """Return each xdist worker's collection time: from its plugins up to its collection done."""
    return tuple(
        (w.id, max(w.collected_s - w.configured_s, 0.0))
        for w in run.timeline.workers
        if w.collected_s is not None and w.configured_s is not None
    )


def _collection_cpu(run: RunResult, session: float) -> tuple[int, float]:
    if not run.timeline.workers:
        collected = run.timeline.collected_s
        return 1, max((collected or session) - session, 0.0)
    spans = worker_collection(run)
    return len(spans), sum(s for _, s in spans)


def worker_ids(run: RunResult, tests: Iterable[TestRecord]) -> list[str | None]:
    """Return the run's workers: None alone when serial, else every xdist worker id.

    A worker the run asked for and never saw run a test is still counted, under a made-up id,
    so that dividing by the workers never claims the run was smaller than it was.
    """
    seen = {t.worker for t in tests} | {w.id for w in run.timeline.workers}
    ids: list[str | None] = [*sorted(w for w in seen if w is not None)]
    if not ids:
        return [None]
    asked = run.strategy.workers
    return ids + [f"unseen-{i}" for i in range(asked - len(ids))]


def breakdown(run: RunResult) -> Breakdown | None:
    """Cut the run's wall time into its parts; None when the file has no timeline."""
    tests = timed_tests(run)
    session = run.timeline.session_s
    if session is None or not tests:
        return None
    wall = run.wall_s
    first = min(t.start_s or 0.0 for t in tests)
    last = max(t.end_s or 0.0 for t in tests)
    ends = _worker_ends(tests)
    ids = worker_ids(run, tests)
    workers = len(ids)
    up = min(_workers_up(run, session), first)
    busy = sum(t.duration_s for t in tests)
    # A worker that ran nothing was idle from the first test on.
    tail = sum(last - ends.get(w, first) for w in ids) / workers
    execution = busy / workers
    span = max(last - first, 0.0)
    collections, collection_cpu = _collection_cpu(run, session)
    return Breakdown(
        wall_s=wall,
        workers=workers,
        startup_s=min(session, first),
        boot_s=up - min(session, first),
        collection_s=first - up,
        execution_s=execution,
        between_s=max(span - execution - tail, 0.0),
        idle_tail_s=tail,
        shutdown_s=max(wall - last, 0.0),
        collections=collections,
        collection_cpu_s=collection_cpu,
        worker_collection=worker_collection(run),
    )


def _worker_ends(tests: Iterable[TestRecord]) -> dict[str | None, float]:
    ends: dict[str | None, float] = {}
    for t in tests:
        ends[t.worker] = max(ends.get(t.worker, 0.0), t.end_s or 0.0)
    return ends


def longest_unit(tests: Iterable[TestRecord], dist: str | None) -> tuple[str, float]:
    """Return the group (or test) with the most summed time on one worker, and that time.

    Summed per worker: the --dist mode keeps a group on one worker, so this is the group's
    time; should a run show it split all the same, the part on one worker is all the bound can
    claim, which keeps it a true lower bound.
    """
    sums: dict[tuple[str, str | None], float] = defaultdict(float)
    for t in tests:
        sums[group_of(t.nodeid, dist), t.worker] += t.duration_s
    if not sums:
        return "", 0.0
    name, _ = key = max(sums, key=lambda k: sums[k])
    return name, sums[key]


def bound(run: RunResult) -> Bound | None:
    """Return the run's lower bound at its worker count; None when it has no timeline."""
    parts = breakdown(run)
    if parts is None:
        return None
    tests = timed_tests(run)
    dist = run.strategy.dist if parts.workers > 1 else None
    name, longest = longest_unit(tests, dist)
    total = sum(t.duration_s for t in tests)
    per_worker = total / parts.workers
    cpu = (run.cpu_user_s + run.cpu_system_s) / max(run.machine.cpus_usable, 1)
    unit_term: Term = "longest group" if name != _longest_test(tests) else "longest test"
    value = max(parts.fixed_s + per_worker, parts.fixed_s + longest, cpu)
    term: Term = "sum / workers"
    if cpu == value and cpu > parts.fixed_s + per_worker:
        term = "cpu / usable cpus"
    elif longest >= per_worker * (1 - TIE):
        term = unit_term
    return Bound(run.wall_s, value, term, parts.fixed_s, total, per_worker, longest, name, cpu)


def _longest_test(tests: Iterable[TestRecord]) -> str:
    return max(tests, key=lambda t: t.duration_s).nodeid


def late_tests(run: RunResult, limit: int = 3) -> tuple[str | None, tuple[TestRecord, ...]]:
    """Return the worker that finished last and its tests that ran after the others were done."""
    tests = timed_tests(run)
    ends = _worker_ends(tests)
    if len(ends) < 2:
        return None, ()
    last_worker = max(ends, key=lambda w: ends[w])
    others_done = max(end for w, end in ends.items() if w != last_worker)
    late = [t for t in tests if t.worker == last_worker and (t.end_s or 0.0) > others_done]
    late.sort(key=lambda t: -t.duration_s)
    return last_worker, tuple(late[:limit])
