"""Facts about single runs: evidence, hangs, where the time went, and why against another.

Numbers only, from ``timeline`` (the breakdown and the bound) and the results; the words are
``whywords``'s. A strategy is described by its representative run, the one closest to its
median wall time, so the parts of one run add up to that run's wall.
"""

from __future__ import annotations

import dataclasses
import shlex
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchlib.analyze import busy, judge, timeline
from benchlib.analyze.busy import Load
from benchlib.analyze.resultset import Run
from benchlib.model.results import Counts, InFlight, ResultError, RunResult, TestRecord
from benchlib.plan.runplan import OBSERVER_PLUGIN

FAILURES_PER_RUN = 5
LATE_TESTS = 3  # the last worker's tests named as what made it late
# Runs that ended by benchlib's or a signal's hand: a test still running then is named.
STOPPED = frozenset({"timeout", "interrupted", "killed", "crashed"})


@dataclass(frozen=True)
class TestProblem:
    """One test that did not pass in one run."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    phase: str | None
    message: str | None


@dataclass(frozen=True)
class RunRef:
    """One run as evidence: where its log is and how it ended."""

    run_id: str
    strategy: str
    status: str
    wall_s: float
    log_path: str
    started_at: str
    round: int  # from 0 as recorded; the report counts from 1
    warmup: bool
    machine: str
    outcome_text: str
    message: str | None
    failures: tuple[TestProblem, ...]  # the first few failed or errored tests
    failures_total: int
    counted: bool = False  # enters the statistics (judge.counted)
    in_flight: tuple[InFlight, ...] = ()  # tests still running when it was stopped
    load: Load | None = None  # what other processes took of its CPUs meanwhile
    busy: bool = False  # taken on a busy machine (busy.BUSY_SHARE)


def run_ref(
    r: RunResult,
    problems: Sequence[TestRecord],
    machine: str,
    outcome_text: str,
    *,
    counted: bool,
) -> RunRef:
    failing = [t for t in problems if t.outcome in ("failed", "error")]
    return RunRef(
        run_id=r.run_id,
        strategy=r.strategy.name,
        status=r.status,
        wall_s=r.wall_s,
        log_path=r.log_path,
        started_at=r.started_at,
        round=r.round,
        warmup=r.warmup,
        machine=machine,
        outcome_text=outcome_text,
        message=r.message,
        failures=tuple(
            TestProblem(t.nodeid, t.outcome, t.phase, t.message) for t in failing[:FAILURES_PER_RUN]
        ),
        failures_total=len(failing),
        counted=counted,
        in_flight=r.in_flight,
        load=busy.load_of(r),
        busy=busy.is_busy(r),
    )


@dataclass(frozen=True)
class Hang:
    """A run that was stopped with tests still running: where it hung, and for how long."""

    run_id: str
    strategy: str
    status: str  # timeout, interrupted, killed or crashed
    limit_s: float | None  # the time limit, when the run timed out
    wall_s: float
    in_flight: tuple[InFlight, ...]  # longest-running first


def hangs(runs: Sequence[RunResult]) -> tuple[Hang, ...]:
    """Return the runs that ended with tests in flight, in the order given."""
    return tuple(
        Hang(
            r.run_id,
            r.strategy.name,
            r.status,
            r.strategy.timeout_s if r.status == "timeout" else None,
            r.wall_s,
            r.in_flight,
        )
        for r in runs
        if r.in_flight and r.status in STOPPED
    )


@dataclass(frozen=True)
class Part:
    """One part of a run's wall time (timeline.PARTS)."""

    name: str
    seconds: float
    share: float  # of the wall, 0..1


@dataclass(frozen=True)
class LateTest:
    nodeid: str
    seconds: float


@dataclass(frozen=True)
class TimeFacts:
    """Where a run's wall time went, and the least its tests allowed at its worker count."""

    run_id: str
    wall_s: float
    workers: int  # 1 when serial
    parallel: bool
    tests: int  # tests with a place on the timeline
    parts: tuple[Part, ...]  # add up to wall_s
    fixed_s: float  # start-up, boot, collection and shutdown
    bound_s: float
    term: timeline.Term  # what binds the bound
    sum_s: float  # the tests' summed time
    per_worker_s: float  # sum_s / workers
    longest: str  # the longest test, or group the --dist mode keeps on one worker
    longest_s: float
    cpu_bound_s: float  # the tree's CPU time / usable CPUs
    efficiency: float  # bound / wall, 0..1
    collections: int  # how many times the suite was collected
    worker_collection: tuple[tuple[str, float], ...]  # (worker, seconds collecting)
    last_worker: str | None  # the worker that finished last (None when serial)
    late_by_s: float  # how long after the other workers it finished
    late_tests: tuple[LateTest, ...]  # its longest tests that ran after the others were done
    last_worker_longest: LateTest | None = None  # its longest test of all
    load: Load | None = None  # what other processes took of the run's CPUs meanwhile

    def part(self, name: str) -> float:
        return next(p.seconds for p in self.parts if p.name == name)


def time_facts(run: RunResult) -> TimeFacts | None:
    """Return where run's time went; None when it has no timeline (format 2, no test ran)."""
    parts, lower = timeline.breakdown(run), timeline.bound(run)
    if parts is None or lower is None:
        return None
    worker, late = timeline.late_tests(run, LATE_TESTS)
    return TimeFacts(
        run_id=run.run_id,
        wall_s=run.wall_s,
        workers=parts.workers,
        parallel=run.strategy.workers > 0,
        tests=len(timeline.timed_tests(run)),
        parts=tuple(
            Part(name, s, s / run.wall_s if run.wall_s > 0 else 0.0) for name, s in parts.parts()
        ),
        fixed_s=parts.fixed_s,
        bound_s=lower.bound_s,
        term=lower.term,
        sum_s=lower.sum_s,
        per_worker_s=lower.per_worker_s,
        longest=lower.longest,
        longest_s=lower.longest_s,
        cpu_bound_s=lower.cpu_s,
        efficiency=min(lower.efficiency, 1.0),
        collections=parts.collections,
        worker_collection=parts.worker_collection,
        last_worker=worker,
        late_by_s=_late_by(run, worker),
        late_tests=tuple(LateTest(t.nodeid, t.duration_s) for t in late),
        last_worker_longest=_longest_on(run, worker),
        load=busy.load_of(run),
    )


def _longest_on(run: RunResult, worker: str | None) -> LateTest | None:
    mine = [t for t in timeline.timed_tests(run) if worker is not None and t.worker == worker]
    longest = max(mine, key=lambda t: t.duration_s, default=None)
    return LateTest(longest.nodeid, longest.duration_s) if longest else None


def _late_by(run: RunResult, worker: str | None) -> float:
    ends: dict[str | None, float] = {}
    for t in timeline.timed_tests(run):
        ends[t.worker] = max(ends.get(t.worker, 0.0), t.end_s or 0.0)
    if worker is None or len(ends) < 2:
        return 0.0
    return ends[worker] - max(end for w, end in ends.items() if w != worker)


def facts_of(result: RunResult, tests: Callable[[], tuple[TestRecord, ...]]) -> TimeFacts | None:
    """Return a run's time facts, its per-test records read through tests()."""
    return time_facts(dataclasses.replace(result, tests=tests()))


@dataclass(frozen=True)
class PartChange:
    name: str
    before_s: float
    after_s: float

    @property
    def delta_s(self) -> float:
        return self.after_s - self.before_s


@dataclass(frozen=True)
class Why:
    """How a strategy's representative run differs from its compare_to's, part by part."""

    strategy: str
    before: str  # the compare_to strategy
    before_wall_s: float
    after_wall_s: float
    before_tests: int
    after_tests: int
    before_workers: int
    after: TimeFacts  # the strategy's own facts: workers, collections, bound, efficiency
    changes: tuple[PartChange, ...]  # every part, in timeline.PARTS order; deltas add up

    @property
    def delta_s(self) -> float:
        return self.after_wall_s - self.before_wall_s

    @property
    def contention(self) -> Load | None:
        """Return the load of a parallel run taken on a busy machine: its workers shared its
        CPUs with other processes, which stretched every part of it; None otherwise."""
        load = self.after.load
        return load if self.after.parallel and load is not None and load.busy else None


def why(
    strategy: str,
    before: str,
    after_facts: TimeFacts,
    before_facts: TimeFacts,
    *,
    parts: tuple[Sequence[float], Sequence[float]] | None = None,
    walls: tuple[float, float] | None = None,
) -> Why:
    """Compare two strategies part by part: by their runs' medians when given, else the runs'."""
    before_parts = parts[0] if parts else [p.seconds for p in before_facts.parts]
    after_parts = parts[1] if parts else [p.seconds for p in after_facts.parts]
    before_wall, after_wall = walls or (before_facts.wall_s, after_facts.wall_s)
    changes = tuple(
        PartChange(p.name, b, a)
        for p, b, a in zip(after_facts.parts, before_parts, after_parts, strict=True)
    )
    return Why(
        strategy=strategy,
        before=before,
        before_wall_s=before_wall,
        after_wall_s=after_wall,
        before_tests=before_facts.tests,
        after_tests=after_facts.tests,
        before_workers=before_facts.workers,
        after=after_facts,
        changes=changes,
    )


def median_parts(runs: Sequence[Run]) -> tuple[float, ...] | None:
    """Return each part's median over the runs that count, the runs a verdict rests on.

    None when a counted run has no timeline or cannot be read now: a why from fewer runs than
    its verdict's would say other numbers than the verdict beside it.
    """
    found: list[list[float]] = []
    for run in runs:
        if not judge.counts(run.result):
            continue
        try:
            parts = timeline.breakdown(dataclasses.replace(run.result, tests=run.tests()))
        except ResultError:
            return None
        if parts is None:
            return None
        found.append([s for _, s in parts.parts()])
    if not found:
        return None
    return tuple(statistics.median(column) for column in zip(*found, strict=True))


# pytest's terminal summary order, and the words it uses (it says "1 error", "2 errors").
_COUNT_WORDS: tuple[tuple[str, str, str], ...] = (
    ("failed", "failed", "failed"),
    ("passed", "passed", "passed"),
    ("skipped", "skipped", "skipped"),
    ("deselected", "deselected", "deselected"),
    ("xfailed", "xfailed", "xfailed"),
    ("xpassed", "xpassed", "xpassed"),
    ("subtests_passed", "subtests passed", "subtests passed"),
    ("warnings", "warning", "warnings"),
    ("errors", "error", "errors"),
)


def outcome_text(counts: Counts) -> str:
    """Say the counts as pytest's summary line does: `1854 passed, 358 deselected, 11 warnings`."""
    parts = []
    for name, one, many in _COUNT_WORDS:
        n = getattr(counts, name)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "no tests ran"


def display_command(argv: Sequence[str]) -> str:
    """Return the argv shell-quoted, without the observer plugin only benchlib can load."""
    args = list(argv)
    for i in range(len(args) - 1):
        if tuple(args[i : i + 2]) == OBSERVER_PLUGIN:
            del args[i : i + 2]
            break
    return shlex.join(a for a in args if a != "-p" + OBSERVER_PLUGIN[1])
