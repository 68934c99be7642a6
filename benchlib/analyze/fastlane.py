"""A fast lane proposed from the baseline's per-test durations: which tests to mark `slow`.

The slowest tail of the suite (a few tests that hold most of the test time) is what a
`-m "not slow"` lane leaves out. The figures are the baseline's own durations: what the lane
would keep and save is predicted, not measured, until a run of the lane measures it.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from benchlib.analyze.resultset import ResultSet, Run
from benchlib.analyze.summary import Summary
from benchlib.model.records import TestRecord
from benchlib.model.results import ResultError
from benchlib.plan.fit import Fit, GivenUp, Lane, given_up

SLOW_FACTOR = 10.0  # a slow test takes ten times the median test or more ...
TAIL_TIME_SHARE = 0.3  # ... and together they hold at least 30% of the test time ...
TAIL_MAX_TEST_SHARE = 0.3  # ... in at most 30% of the tests: else time is spread evenly
MIN_TESTS = 4  # below this, a "tail" is most of the suite
_VERDICTS = ("passed", "tests-failed")  # runs whose durations are pytest's whole verdict
SNIPPET_IDS = 30  # node ids written out in the snippet; all of them are in the data


@dataclass(frozen=True)
class SlowFile:
    """A test file whose every test is in the tail: one `pytestmark` line marks it."""

    path: str
    tests: int
    time_s: float


@dataclass(frozen=True)
class Proposal:
    """Mark these tests `slow`; a `-m "not slow"` lane keeps the rest. Not measured yet."""

    baseline: str  # the strategy whose durations were used
    run_id: str
    tests: int  # tests in the baseline run
    test_time_s: float  # their summed durations
    wall_s: float  # the baseline's median wall time
    slow: tuple[str, ...]  # node ids to mark, slowest first
    slow_time_s: float  # what they take: what the lane saves, serially
    files: tuple[SlowFile, ...]  # files wholly in the tail
    measured: bool = False  # True once a `not slow` lane has run beside the baseline

    @property
    def kept_tests(self) -> int:
        return self.tests - len(self.slow)

    @property
    def kept_share(self) -> float:
        """The share of the suite's tests the lane keeps."""
        return self.kept_tests / self.tests if self.tests else 0.0

    @property
    def predicted_wall_s(self) -> float:
        """The baseline's wall less the tail's time: start-up and collection stay."""
        return max(self.wall_s - self.slow_time_s, 0.0)


def _durations(runs: Sequence[Run]) -> tuple[Run, dict[str, float]]:
    """Return the run closest to the median wall and each test's median duration over runs."""
    ordered = sorted(runs, key=lambda r: r.result.wall_s)
    rep = ordered[len(ordered) // 2]
    seen: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for t in run.tests():
            if t.outcome != "skipped":
                seen[t.nodeid].append(t.duration_s)
    return rep, {nodeid: statistics.median(d) for nodeid, d in seen.items()}


def tail(durations: dict[str, float]) -> list[str]:
    """Return the slowest tests, slowest first: those far above the typical test, or none.

    A test is in the tail when it takes SLOW_FACTOR times the median test or more. None when
    the suite is too small, when the tail holds too little of the time to be worth a lane,
    or when it is more than TAIL_MAX_TEST_SHARE of the tests (time spread evenly).
    """
    total = sum(durations.values())
    if len(durations) < MIN_TESTS or total <= 0:
        return []
    threshold = SLOW_FACTOR * statistics.median(durations.values())
    ordered = sorted(durations, key=lambda n: (-durations[n], n))
    slow = [n for n in ordered if durations[n] >= threshold and durations[n] > 0]
    if not slow:
        return []
    # Cut at the largest drop in seconds between neighbours: a first test that paid for an
    # import is above the threshold too, but seconds below the tail proper.
    times = [*(durations[n] for n in ordered[: len(slow) + 1]), 0.0]
    steps = [times[i] - times[i + 1] for i in range(len(slow))]
    taken = slow[: steps.index(max(steps)) + 1]
    share = sum(durations[n] for n in taken) / total
    if share < TAIL_TIME_SHARE or len(taken) > TAIL_MAX_TEST_SHARE * len(durations):
        return []
    return taken


def _files(
    slow: Sequence[str], tests: Sequence[TestRecord], durations: dict[str, float]
) -> tuple[SlowFile, ...]:
    by_file: dict[str, list[str]] = defaultdict(list)
    for t in tests:
        by_file[t.nodeid.split("::", 1)[0]].append(t.nodeid)
    chosen = set(slow)
    whole = [
        SlowFile(path, len(ids), sum(durations.get(i, 0.0) for i in ids))
        for path, ids in by_file.items()
        if all(i in chosen for i in ids)
    ]
    return tuple(sorted(whole, key=lambda f: -f.time_s))


def propose(baseline: str, runs: Sequence[Run], measured: bool = False) -> Proposal | None:
    """Return the fast lane the baseline's runs suggest, or None if they show no slow tail."""
    counted = [r for r in runs if not r.result.warmup and r.result.status in _VERDICTS]
    if not counted:
        return None
    rep, durations = _durations(counted)
    slow = tail(durations)
    if not slow:
        return None
    walls = sorted(r.result.wall_s for r in counted)
    return Proposal(
        baseline=baseline,
        run_id=rep.result.run_id,
        tests=len(durations),
        test_time_s=sum(durations.values()),
        wall_s=statistics.median(walls),
        slow=tuple(slow),
        slow_time_s=sum(durations[n] for n in slow),
        files=_files(slow, rep.tests(), durations),
        measured=measured,
    )


@dataclass(frozen=True)
class Findings:
    """What the summary says of this project: its fit, coverage given up, the fast lane."""

    fit: Fit | None
    given_up: tuple[GivenUp, ...]
    proposal: Proposal | None


def analyze(summary: Summary, rs: ResultSet, found: Fit | None) -> Findings:
    """Return the project's findings from the summary's runs and the fit `run` saved."""
    by_name: dict[str, list[Run]] = defaultdict(list)
    for run in rs.runs:
        by_name[run.result.strategy.name].append(run)
    lanes = [
        Lane(
            name=s.name,
            argv=by_name[s.name][0].result.strategy.pytest_args,
            workers=s.workers,
            scope=s.scope,
            compare_to=s.compare_to,
            wall_s=s.wall.median_s if s.wall else None,
        )
        for s in summary.strategies
        if by_name.get(s.name)
    ]
    coverage = found.coverage if found else None
    base = summary.baseline
    # A lane run with -m "not slow" is the proposal measured: the summary compares it.
    measured = any(_not_slow(lane.argv) for lane in lanes)
    try:
        proposal = propose(base, by_name[base], measured) if base and by_name.get(base) else None
    except ResultError:  # a baseline file unreadable now: the summary is whole without it
        proposal = None
    return Findings(found, given_up(lanes, coverage), proposal)


def _not_slow(argv: Sequence[str]) -> bool:
    pairs = itertools.pairwise(argv)
    return any(a == "-m" and "not slow" in b for a, b in pairs)
