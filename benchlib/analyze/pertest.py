"""Facts from per-test records: coverage a subset gives up, new failures, instability, profile."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib.analyze.resultset import Run
from benchlib.model.results import InFlight, TestRecord

FAILING_OUTCOMES = frozenset({"failed", "error"})
SLOWEST_PER_PHASE = 10
TOP_DIRECTORIES = 10
TOP_FILES = 10
# A folder holding this share of the time is opened into its subfolders: a table that says
# `tests/unit` 97% says nothing about where the time goes.
DOMINANT = 0.9
# How an unstable test misbehaves, which says what to do about it:
#   parallel-only        failed in every parallel run, never serially: it shares state
#   flaky                changed outcome between runs of one strategy
#   failing everywhere   failed or errored in every run: broken, not unstable
#   selection-dependent  the same within each strategy, different between them: it depends
#                        on which tests run with it, or their order
Kind = Literal["parallel-only", "flaky", "failing everywhere", "selection-dependent"]
# The tables print seconds to 2 decimals: a shorter phase would read "0.00s".
SHOWN_MIN_S = 0.005


@dataclass(frozen=True)
class CoverageGap:
    """The baseline tests a subset strategy did not run."""

    baseline: str
    baseline_tests: int
    not_run: int
    not_run_s: float
    share_of_time: float  # of the baseline run's summed test time, 0..1
    directories: tuple[tuple[str, int], ...]  # (directory, tests not run), most first


@dataclass(frozen=True)
class Seen:
    """How one test ended under one strategy, over its runs."""

    strategy: str
    outcomes: tuple[tuple[str, int], ...]  # (outcome, runs)
    flips: int  # outcome changes between consecutive runs
    phase: str | None
    message: str | None
    parallel: bool = False  # the strategy ran xdist workers
    differs: bool = False  # it did not pass here, or changed between runs here


@dataclass(frozen=True)
class UnstableTest:
    """A test whose outcome differs between strategies or between runs of one strategy."""

    __test__ = False  # not a pytest test class

    nodeid: str
    between_strategies: bool
    flaky: bool  # differs between runs of one strategy
    phases: tuple[str, ...]
    message: str | None
    seen: tuple[Seen, ...]
    kind: Kind = "selection-dependent"
    runs: int = 0  # the runs it rests on: every run that ran it


@dataclass(frozen=True)
class SlowTest:
    nodeid: str
    seconds: float


@dataclass(frozen=True)
class DirectoryTime:
    directory: str
    tests: int
    seconds: float
    share: float


@dataclass(frozen=True)
class FileTime:
    path: str
    tests: int
    seconds: float
    share: float


@dataclass(frozen=True)
class Profile:
    """Where the baseline's time goes, from its representative run."""

    strategy: str
    run_id: str
    tests: int
    total_s: float
    slowest_setup: tuple[SlowTest, ...]
    slowest_call: tuple[SlowTest, ...]
    slowest_teardown: tuple[SlowTest, ...]
    directories: tuple[DirectoryTime, ...]  # down to where the time splits
    warning_categories: tuple[tuple[str, int], ...]
    files: tuple[FileTime, ...] = ()  # the files with the most time, most first


def sorted_counts(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _directory(nodeid: str) -> str:
    """Return the folder of a test's file (`tests/db` for `tests/db/test_x.py::t`)."""
    path = nodeid.split("::", 1)[0]
    head, sep, _ = path.rpartition("/")
    return head if sep else "."


def _top_directory(directory: str, depth: int) -> str:
    parts = directory.split("/")
    return "/".join(parts[: depth + 1]) if directory != "." else "."


def _common_depth(directories: Iterable[str]) -> int:
    """Return how many leading folders all tests share (1 for a suite all under `tests/`)."""
    split = [[] if d == "." else d.split("/") for d in directories]
    if not split:
        return 0
    common = split[0]
    for parts in split[1:]:
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return len(common)


def coverage(
    runs: Sequence[Run], baseline: str | None, base_tests: tuple[TestRecord, ...]
) -> CoverageGap | None:
    ran: set[str] = set()
    for r in runs:
        ran |= r.nodeids
    if baseline is None or not base_tests or not ran:
        return None  # nothing to compare: no baseline tests, or no per-test records
    missing = [t for t in base_tests if t.nodeid not in ran]
    total_s = sum(t.duration_s for t in base_tests)
    missing_s = sum(t.duration_s for t in missing)
    dirs = Counter(_directory(t.nodeid) for t in missing)
    return CoverageGap(
        baseline=baseline,
        baseline_tests=len(base_tests),
        not_run=len(missing),
        not_run_s=missing_s,
        share_of_time=missing_s / total_s if total_s else 0.0,
        directories=sorted_counts(dirs)[:TOP_DIRECTORIES],
    )


def new_failures(runs: Sequence[Run], base_runs: Sequence[Run]) -> tuple[str, ...]:
    """Return tests that failed or errored here and never in the baseline."""
    before = {t.nodeid for r in base_runs for t in r.problems if t.outcome in FAILING_OUTCOMES}
    failing = {t.nodeid for r in runs for t in r.problems if t.outcome in FAILING_OUTCOMES}
    return tuple(sorted(failing - before))


def instability(runs: Sequence[Run], names: Sequence[str]) -> tuple[UnstableTest, ...]:
    """Find tests that did not end the same way everywhere they ran.

    Warm-up runs count here: a test that errors in a warm-up is unstable all the same.
    Only tests that did not pass somewhere can differ, so only those are looked up.
    """
    suspects: dict[str, dict[str, TestRecord]] = defaultdict(dict)
    for r in runs:
        for t in r.problems:
            suspects[t.nodeid][r.result.run_id] = t
        for f in r.result.in_flight:  # never finished: a hang is the most unstable ending
            suspects[f.nodeid][r.result.run_id] = _unfinished(f)
    found = []
    for nodeid, seen_in in sorted(suspects.items()):
        unstable = _unstable_test(nodeid, seen_in, runs, names)
        if unstable is not None:
            found.append(unstable)
    return tuple(found)


# The outcome of a test that was still running when its run ended (timeout, interrupt).
UNFINISHED = "did not finish"


def _unfinished(f: InFlight) -> TestRecord:
    message = f"still running after {f.running_s:.1f}s when the run ended"
    # Not one of pytest's outcomes: the record stands in for a test that has none.
    return TestRecord(f.nodeid, UNFINISHED, f.running_s, message=message, worker=f.worker)  # type: ignore[arg-type]


def _unstable_test(
    nodeid: str, problems: dict[str, TestRecord], runs: Sequence[Run], names: Sequence[str]
) -> UnstableTest | None:
    sequences: dict[str, list[TestRecord | None]] = defaultdict(list)
    parallel: dict[str, bool] = {}
    for r in runs:
        if nodeid in r.nodeids or r.result.run_id in problems:
            sequences[r.result.strategy.name].append(problems.get(r.result.run_id))
            parallel[r.result.strategy.name] = r.result.strategy.workers > 0
    outcomes: dict[str, list[str]] = {
        name: [t.outcome if t else "passed" for t in seq] for name, seq in sequences.items()
    }
    if len({o for seq in outcomes.values() for o in seq}) < 2:
        return None
    seen = tuple(_seen(n, sequences[n], outcomes[n], parallel[n]) for n in names if n in sequences)
    records = list(problems.values())
    return UnstableTest(
        nodeid=nodeid,
        between_strategies=len({frozenset(seq) for seq in outcomes.values()}) > 1,
        flaky=any(s.flips for s in seen),
        phases=tuple(sorted({t.phase for t in records if t.phase})),
        message=next((t.message for t in records if t.message), None),
        seen=seen,
        kind=_kind(outcomes, parallel),
        runs=sum(len(seq) for seq in outcomes.values()),
    )


def unstable_in(strategy: str, unstable: Iterable[UnstableTest]) -> int:
    """Count the unstable tests whose outcome differs under this strategy."""
    return sum(1 for u in unstable if any(s.strategy == strategy and s.differs for s in u.seen))


def _seen(name: str, seq: list[TestRecord | None], outcomes: list[str], parallel: bool) -> Seen:
    first = next((t for t in seq if t is not None), None)
    flips = sum(1 for a, b in itertools.pairwise(outcomes) if a != b)
    return Seen(
        strategy=name,
        outcomes=sorted_counts(Counter(outcomes)),
        flips=flips,
        phase=first.phase if first else None,
        message=first.message if first else None,
        parallel=parallel,
        differs=bool(flips) or any(o != "passed" for o in outcomes),
    )


def _kind(outcomes: dict[str, list[str]], parallel: dict[str, bool]) -> Kind:
    """Classify a test whose outcome is not the same everywhere it ran (see Kind)."""
    par = [o for name, seq in outcomes.items() if parallel[name] for o in seq]
    ser = [o for name, seq in outcomes.items() if not parallel[name] for o in seq]
    failing = FAILING_OUTCOMES.__contains__
    if par and ser and all(map(failing, par)) and not any(map(failing, ser)):
        return "parallel-only"
    if any(len(set(seq)) > 1 for seq in outcomes.values()):
        return "flaky"
    if all(map(failing, par + ser)):
        return "failing everywhere"
    return "selection-dependent"


def profile(baseline: str | None, run: Run | None, tests: tuple[TestRecord, ...]) -> Profile | None:
    if baseline is None or run is None:
        return None

    def slowest(phase: str) -> tuple[SlowTest, ...]:
        ranked = sorted(tests, key=lambda t: getattr(t, phase), reverse=True)
        return tuple(
            SlowTest(t.nodeid, getattr(t, phase))
            for t in ranked[:SLOWEST_PER_PHASE]
            if getattr(t, phase) >= SHOWN_MIN_S
        )

    total_s = sum(t.duration_s for t in tests)
    return Profile(
        strategy=baseline,
        run_id=run.result.run_id,
        tests=len(tests),
        total_s=total_s,
        slowest_setup=slowest("setup_s"),
        slowest_call=slowest("call_s"),
        slowest_teardown=slowest("teardown_s"),
        directories=folders(tests, total_s),
        warning_categories=sorted_counts(run.result.warning_categories),
        files=files(tests, total_s),
    )


def _tally(tests: Iterable[TestRecord], key: Callable[[TestRecord], str]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for t in tests:
        found[key(t)].append(t.duration_s)
    return found


def files(tests: Sequence[TestRecord], total_s: float) -> tuple[FileTime, ...]:
    """Return the TOP_FILES files with the most test time."""
    by_file = _tally(tests, lambda t: t.nodeid.split("::", 1)[0])
    ranked = sorted(by_file.items(), key=lambda kv: (-sum(kv[1]), kv[0]))[:TOP_FILES]
    return tuple(
        FileTime(path, len(d), sum(d), sum(d) / total_s if total_s else 0.0) for path, d in ranked
    )


def folders(tests: Sequence[TestRecord], total_s: float) -> tuple[DirectoryTime, ...]:
    """Return time by folder, at the depth where the tests' folders part ways; a folder that
    holds DOMINANT of the time is opened into its own subfolders, and so on."""
    groups = _groups(tests)
    for _ in range(8 if groups else 0):  # folders nest a few levels deep; each pass opens one
        top = max(groups, key=lambda d: sum(t.duration_s for t in groups[d]))
        inner = _groups(groups[top])
        if len(inner) < 2 or sum(t.duration_s for t in groups[top]) < DOMINANT * total_s:
            break
        del groups[top]
        groups.update(inner)
    rows = [(d, len(ts), sum(t.duration_s for t in ts)) for d, ts in groups.items()]
    rows.sort(key=lambda r: (-r[2], r[0]))
    return tuple(DirectoryTime(d, n, s, s / total_s if total_s else 0.0) for d, n, s in rows)


def _groups(tests: Sequence[TestRecord]) -> dict[str, list[TestRecord]]:
    """Group tests by folder, at one level below the folders they all share."""
    depth = _common_depth({_directory(t.nodeid) for t in tests})
    groups: dict[str, list[TestRecord]] = defaultdict(list)
    for t in tests:
        groups[_top_directory(_directory(t.nodeid), depth)].append(t)
    return groups
