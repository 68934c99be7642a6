"""Merge result files into the facts of a benchmark report: lanes, deltas, coverage, instability."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import multiprocessing
import shlex
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from benchlib import results, stats
from benchlib.machine import usable_cpus
from benchlib.results import Counts, Machine, ResultError, RunResult, TestRecord
from benchlib.strategy import BUILTIN

# Only a run that ended with pytest's own verdict timed the suite; a run stopped at its time
# limit timed the limit, and a crashed one timed nothing worth comparing.
TIMED_STATUSES = frozenset({"passed", "tests-failed"})
FAILING_OUTCOMES = frozenset({"failed", "error"})
# A single run each cannot give a confidence interval; below a 5% change we call it noise,
# which is about the run-to-run spread of a pytest suite on a quiet machine.
NOISE_FLOOR = 0.05
SLOWEST_PER_PHASE = 10
TOP_DIRECTORIES = 10
FAILURES_PER_RUN = 5
# Reading in parallel pays only when parsing outweighs starting worker processes.
PARALLEL_MIN_BYTES = 64 * 2**20
TIMES = "\N{MULTIPLICATION SIGN}"  # as in "1.89x faster", typeset

# pytest's terminal summary order, and the words it uses (it says "1 error", "2 errors").
_COUNT_WORDS: tuple[tuple[str, str, str], ...] = (
    ("failed", "failed", "failed"),
    ("passed", "passed", "passed"),
    ("skipped", "skipped", "skipped"),
    ("deselected", "deselected", "deselected"),
    ("xfailed", "xfailed", "xfailed"),
    ("xpassed", "xpassed", "xpassed"),
    ("warnings", "warning", "warnings"),
    ("errors", "error", "errors"),
)


@dataclass(frozen=True)
class SkippedFile:
    """A result file left out, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class MachineInfo:
    """One set of comparable hardware (one fingerprint) and the runs made on it."""

    label: str  # "A", "B", ... in order of first appearance
    description: str
    hostnames: tuple[str, ...]
    runs: int


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
    round: int
    warmup: bool
    machine: str
    outcome_text: str
    message: str | None
    failures: tuple[TestProblem, ...]  # the first few failed or errored tests
    failures_total: int


@dataclass(frozen=True)
class WallTime:
    """Wall time over a strategy's timed, non-warm-up runs."""

    median_s: float
    min_s: float
    max_s: float
    runs: int


@dataclass(frozen=True)
class Comparison:
    """Before/after: one strategy against another, on the same machine where possible."""

    before: str
    after: str
    verdict: str  # stats verdict, or "missing" / "no timed run" when there is nothing to compare
    before_s: float | None = None
    after_s: float | None = None
    delta_s: float | None = None  # after - before: negative is faster
    change_pct: float | None = None  # of before: positive is faster
    speedup: float | None = None  # before / after
    ci_low: float | None = None
    ci_high: float | None = None
    n_before: int = 0
    n_after: int = 0
    machines_differ: bool = False
    note: str | None = None


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
class StrategySummary:
    """Everything the report says about one strategy."""

    name: str
    description: str
    scope: str
    compare_to: str | None
    command: str  # for display only: the argv as run, shell-quoted
    status: str
    runs: int  # not counting warm-ups
    warmups: int
    wall: WallTime | None
    cpu_s: float | None  # median user + system over the tree
    cpu_source: str | None
    utilization: float | None  # median share of the usable CPUs
    peak_rss_bytes: int | None  # max over runs; summed over the process tree
    workers: int
    workers_observed: int
    outcome: Counts | None  # of the representative run
    outcome_text: str
    warning_categories: tuple[tuple[str, int], ...]
    representative_run: str | None
    log_path: str | None
    machines: tuple[str, ...]
    comparison: Comparison | None  # against compare_to
    vs_baseline: Comparison | None
    coverage: CoverageGap | None
    new_failures: tuple[str, ...]
    unstable: int
    pros: tuple[str, ...]
    cons: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """How one test ended under one strategy, over its runs."""

    strategy: str
    outcomes: tuple[tuple[str, int], ...]  # (outcome, runs)
    flips: int  # outcome changes between consecutive runs
    phase: str | None
    message: str | None


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
class Profile:
    """Where the baseline's time goes, from its representative run."""

    strategy: str
    run_id: str
    tests: int
    total_s: float
    slowest_setup: tuple[SlowTest, ...]
    slowest_call: tuple[SlowTest, ...]
    slowest_teardown: tuple[SlowTest, ...]
    directories: tuple[DirectoryTime, ...]
    warning_categories: tuple[tuple[str, int], ...]


Rule = Literal["local", "gate", "no-gain", "instability", "machines", "baseline"]


@dataclass(frozen=True)
class Recommendation:
    rule: Rule
    strategy: str | None
    text: str  # one sentence, Markdown


@dataclass(frozen=True)
class Summary:
    """The merged facts of a set of result files."""

    date: str
    baseline: str | None
    strategies: tuple[StrategySummary, ...]
    missing: tuple[str, ...]  # named by compare_to, without results
    machines: tuple[MachineInfo, ...]
    instability: tuple[UnstableTest, ...]
    profile: Profile | None
    recommendations: tuple[Recommendation, ...]
    runs: tuple[RunRef, ...]
    skipped: tuple[SkippedFile, ...]

    def strategy(self, name: str) -> StrategySummary:
        """Return the named strategy's summary; raise KeyError if it has none."""
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What the summary keeps of a run: its scalars, which tests ran, which did not pass."""

    result: RunResult  # tests are kept only when tests_complete
    nodeids: frozenset[str]
    problems: tuple[TestRecord, ...]
    source: Path | None
    tests_complete: bool


@dataclass(frozen=True)
class _Read:
    """A run read in a worker process; the node ids travel once per distinct test list."""

    path: str
    result: RunResult
    key: bytes
    nodeids: tuple[str, ...] | None  # None when this process already sent the list for key
    problems: tuple[TestRecord, ...]


class _Reader:
    """Read result files into _Read values, sending each distinct node id list once."""

    def __init__(self) -> None:
        self.sent: set[bytes] = set()

    def __call__(self, path: Path) -> _Read | SkippedFile:
        try:
            data = results.read(path)
            nodeids, problems = _split_tests(results.record_rows(data))
            # Only the scalars become a RunResult: 5,000 TestRecords per file would cost
            # more than everything else the summary does.
            result = results.from_dict({**data, "tests": [], "samples": {}})
        except ResultError as exc:
            return SkippedFile(str(exc.path), exc.reason)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return SkippedFile(str(path), f"malformed result ({exc})")
        # SHA-256 runs on CPU instructions on most x86 and ARM machines: 2.5x BLAKE2b here.
        key = hashlib.sha256("\n".join(nodeids).encode()).digest()
        first = key not in self.sent
        self.sent.add(key)
        return _Read(str(path), result, key, nodeids if first else None, problems)


def _split_tests(rows: list[list[Any]]) -> tuple[tuple[str, ...], tuple[TestRecord, ...]]:
    """Return the node ids of all tests and the records of those that did not pass."""
    nodeids = tuple(map(itemgetter(0), rows))  # columns as in results.TEST_FIELDS
    problems = tuple([TestRecord(*row) for row in rows if row[1] != "passed"])
    return nodeids, problems


_worker_reader: _Reader | None = None


def _init_worker() -> None:
    global _worker_reader
    _worker_reader = _Reader()
    gc.disable()  # the worker only reads (see results.gc_paused) and ends with the pool


def _read_in_worker(path: Path) -> _Read | SkippedFile:
    assert _worker_reader is not None
    return _worker_reader(path)


def _parallel_workers(files: Sequence[Path]) -> int:
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # spawn would re-import everything per worker: not worth it
    size = sum(p.stat().st_size for p in files if p.is_file())
    return min(usable_cpus(), len(files)) if size >= PARALLEL_MIN_BYTES else 1


def _read_files(files: Sequence[Path], workers: int) -> list[_Read | SkippedFile]:
    if workers <= 1:
        reader = _Reader()
        with results.gc_paused():
            return [reader(p) for p in files]
    ctx = multiprocessing.get_context("fork")
    chunk = max(1, len(files) // (workers * 8))
    with (
        results.gc_paused(),  # unpickling the reads allocates as parsing does
        ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool,
    ):
        return list(pool.map(_read_in_worker, files, chunksize=chunk))


def _runs_from_reads(reads: Iterable[_Read | SkippedFile]) -> tuple[list[_Run], list[SkippedFile]]:
    reads = list(reads)
    lists = {r.key: frozenset(r.nodeids) for r in reads if isinstance(r, _Read) and r.nodeids}
    runs: list[_Run] = []
    skipped: list[SkippedFile] = []
    for r in reads:
        if isinstance(r, SkippedFile):
            skipped.append(r)
        else:
            nodeids = lists.get(r.key, frozenset())
            runs.append(_Run(r.result, nodeids, r.problems, Path(r.path), False))
    return runs, skipped


def summarize(paths: Sequence[Path], *, workers: int | None = None) -> Summary:
    """Read every result file under paths and summarize them.

    Per-test records are reduced to what the summary needs while reading, in parallel when
    the files are large; workers=None chooses by their size.
    """
    files = list(results.find_result_files(paths))
    n = _parallel_workers(files) if workers is None else workers
    runs, skipped = _runs_from_reads(_read_files(files, n))
    return _analyze(runs, skipped, _load_tests)


def _load_tests(run: _Run) -> tuple[TestRecord, ...]:
    if run.tests_complete or run.source is None:
        return run.result.tests
    return results.load(run.source).tests


def analyze(
    loaded: Sequence[RunResult], skipped: Sequence[ResultError | SkippedFile] = ()
) -> Summary:
    """Summarize results already in memory (from results.load_all or built by hand)."""
    runs = [
        _Run(
            r,
            frozenset(t.nodeid for t in r.tests),
            tuple(t for t in r.tests if t.outcome != "passed"),
            None,
            True,
        )
        for r in loaded
    ]
    skips = [
        s if isinstance(s, SkippedFile) else SkippedFile(str(s.path), s.reason) for s in skipped
    ]
    return _analyze(runs, skips, _load_tests)


# --- analysis ------------------------------------------------------------------------------


def _analyze(
    runs: list[_Run],
    skipped: list[SkippedFile],
    load_tests: Callable[[_Run], tuple[TestRecord, ...]],
) -> Summary:
    runs.sort(key=lambda r: (r.result.started_at, r.result.round, r.result.run_id))
    machines, label_of = _machines(runs)
    by_strategy: dict[str, list[_Run]] = defaultdict(list)
    for run in runs:
        by_strategy[run.result.strategy.name].append(run)
    names = _order(by_strategy)
    baseline = _baseline(by_strategy, names)
    base_tests, base_run, skipped = _baseline_tests(by_strategy, baseline, load_tests, skipped)
    unstable = _instability(runs, names)
    summaries = tuple(
        _strategy_summary(name, by_strategy, baseline, base_tests, label_of, unstable)
        for name in names
    )
    missing = tuple(
        sorted({s.compare_to for s in summaries if s.compare_to and s.compare_to not in names})
    )
    return Summary(
        date=_date(runs),
        baseline=baseline,
        strategies=summaries,
        missing=missing,
        machines=machines,
        instability=unstable,
        profile=_profile(baseline, base_run, base_tests),
        recommendations=_recommend(summaries, baseline, unstable, machines),
        runs=tuple(_run_ref(r, label_of) for r in runs),
        skipped=tuple(skipped),
    )


def _machines(
    runs: Sequence[_Run],
) -> tuple[tuple[MachineInfo, ...], dict[tuple[object, ...], str]]:
    groups: dict[tuple[object, ...], list[Machine]] = {}
    for run in runs:
        groups.setdefault(run.result.machine.fingerprint(), []).append(run.result.machine)
    label_of: dict[tuple[object, ...], str] = {}
    infos = []
    for i, (fp, ms) in enumerate(groups.items()):
        label = chr(ord("A") + i) if i < 26 else f"M{i + 1}"
        label_of[fp] = label
        infos.append(
            MachineInfo(
                label, _describe_machine(ms[0]), tuple(sorted({m.hostname for m in ms})), len(ms)
            )
        )
    return tuple(infos), label_of


def _describe_machine(m: Machine) -> str:
    return (
        f"{m.cpu_model}, {m.cpus_usable} usable CPUs, {m.memory_bytes / 2**30:.1f} GiB, "
        f"Python {m.python}, {m.os}"
    )


def _order(by_strategy: dict[str, list[_Run]]) -> list[str]:
    """Order strategies as the built-ins are ordered, then by when they first ran."""
    builtin = list(BUILTIN)

    def key(name: str) -> tuple[int, str, str]:
        rank = builtin.index(name) if name in builtin else len(builtin)
        return rank, by_strategy[name][0].result.started_at, name

    return sorted(by_strategy, key=key)


def _baseline(by_strategy: dict[str, list[_Run]], names: Sequence[str]) -> str | None:
    """Pick the full-scope strategy that compares to nothing and that most others compare to."""
    referenced = Counter(runs[0].result.strategy.compare_to for runs in by_strategy.values())
    candidates = [
        n
        for n in names
        if by_strategy[n][0].result.strategy.compare_to is None
        and by_strategy[n][0].result.strategy.scope == "full"
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda n: (referenced[n], -names.index(n)))


def _non_warmup(runs: Iterable[_Run]) -> list[_Run]:
    return [r for r in runs if not r.result.warmup]


def _timed(runs: Iterable[_Run]) -> list[_Run]:
    return [
        r for r in _non_warmup(runs) if r.result.status in TIMED_STATUSES and r.result.wall_s > 0
    ]


def _representative(runs: Sequence[_Run]) -> _Run | None:
    """Return the timed run closest to the median wall time, else the latest run."""
    timed = _timed(runs)
    if not timed:
        return runs[-1] if runs else None
    median = stats.describe([r.result.wall_s for r in timed]).median
    return min(timed, key=lambda r: (abs(r.result.wall_s - median), r.result.wall_s))


def _baseline_tests(
    by_strategy: dict[str, list[_Run]],
    baseline: str | None,
    load_tests: Callable[[_Run], tuple[TestRecord, ...]],
    skipped: list[SkippedFile],
) -> tuple[tuple[TestRecord, ...], _Run | None, list[SkippedFile]]:
    if baseline is None:
        return (), None, skipped
    run = _representative(by_strategy[baseline])
    if run is None:
        return (), None, skipped
    try:
        return load_tests(run), run, skipped
    except ResultError as exc:
        return (), run, [*skipped, SkippedFile(str(exc.path), exc.reason)]


def _date(runs: Sequence[_Run]) -> str:
    days = sorted({r.result.started_at[:10] for r in runs})
    if not days:
        return ""
    return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def outcome_text(counts: Counts) -> str:
    """Say the counts as pytest's summary line does: `1854 passed, 358 deselected, 11 warnings`."""
    parts = []
    for field, one, many in _COUNT_WORDS:
        n = getattr(counts, field)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "no tests ran"


def _status_text(runs: Sequence[_Run]) -> str:
    counted = Counter(r.result.status for r in _non_warmup(runs))
    if not counted:
        return "warm-up only"
    if len(counted) == 1:
        status, n = next(iter(counted.items()))
        return f"{status} ({n} run{'s' if n > 1 else ''})"
    return ", ".join(f"{n} {status}" for status, n in counted.most_common())


def _compare(
    before_name: str,
    after_name: str,
    by_strategy: dict[str, list[_Run]],
) -> Comparison:
    if before_name not in by_strategy:
        return Comparison(
            before_name, after_name, "missing", note=f"`{before_name}` has no results"
        )
    before, after = _timed(by_strategy[before_name]), _timed(by_strategy[after_name])
    if not before or not after:
        side = before_name if not before else after_name
        return Comparison(
            before_name, after_name, "no timed run", note=f"`{side}` has no completed run"
        )
    before, after, differ, note = _same_machine(before, after)
    base = [r.result.wall_s for r in before]
    current = [r.result.wall_s for r in after]
    est = stats.compare_ratio(base, current, noise_floor=NOISE_FLOOR)
    b, a = stats.describe(base).median, stats.describe(current).median
    return Comparison(
        before=before_name,
        after=after_name,
        verdict=est.verdict,
        before_s=b,
        after_s=a,
        delta_s=a - b,
        change_pct=(b - a) / b * 100 if b else None,
        speedup=est.ratio,
        ci_low=est.low,
        ci_high=est.high,
        n_before=len(base),
        n_after=len(current),
        machines_differ=differ,
        note="; ".join(n for n in (note, est.note) if n) or None,
    )


def _same_machine(
    before: list[_Run], after: list[_Run]
) -> tuple[list[_Run], list[_Run], bool, str | None]:
    """Keep the runs of the machine both sides ran on most; say what was left out."""
    fps_b = Counter(r.result.machine.fingerprint() for r in before)
    fps_a = Counter(r.result.machine.fingerprint() for r in after)
    common = [fp for fp in fps_b if fp in fps_a]
    if not common:
        return (
            before,
            after,
            True,
            "before and after ran on different machines: the delta mixes hardware",
        )
    if len(fps_b) == 1 and len(fps_a) == 1:
        return before, after, False, None
    fp = max(common, key=lambda f: (min(fps_b[f], fps_a[f]), fps_b[f] + fps_a[f]))
    kept_b = [r for r in before if r.result.machine.fingerprint() == fp]
    kept_a = [r for r in after if r.result.machine.fingerprint() == fp]
    left = len(before) + len(after) - len(kept_b) - len(kept_a)
    runs = f"{left} run{'s' if left != 1 else ''}"
    note = f"compared on one machine only; {runs} on other machines left out"
    return kept_b, kept_a, False, note


def is_gain(c: Comparison | None) -> bool:
    """Tell whether a comparison shows a real speedup on comparable hardware."""
    if c is None or c.machines_differ or c.speedup is None:
        return False
    if c.ci_low is None:  # single runs, or too few for an interval: judge by the noise floor
        return c.speedup >= 1 + NOISE_FLOOR
    return c.verdict == "faster"


def _strategy_summary(
    name: str,
    by_strategy: dict[str, list[_Run]],
    baseline: str | None,
    base_tests: tuple[TestRecord, ...],
    label_of: dict[tuple[object, ...], str],
    unstable: Sequence[UnstableTest],
) -> StrategySummary:
    runs = by_strategy[name]
    record = runs[-1].result.strategy
    rep = _representative(runs)
    assert rep is not None  # a strategy exists only through its runs
    timed = _timed(runs)
    walls = stats.describe([r.result.wall_s for r in timed]) if timed else None
    comparison = _compare(record.compare_to, name, by_strategy) if record.compare_to else None
    vs_baseline = None
    if baseline and name != baseline:
        same = record.compare_to == baseline
        vs_baseline = comparison if same else _compare(baseline, name, by_strategy)
    coverage = _coverage(runs, baseline, base_tests) if record.scope == "subset" else None
    new_failures = (
        _new_failures(runs, by_strategy[baseline]) if baseline and name != baseline else ()
    )
    n_unstable = sum(1 for u in unstable if any(s.strategy == name for s in u.seen))
    summary = StrategySummary(
        name=name,
        description=record.description,
        scope=record.scope,
        compare_to=record.compare_to,
        command=shlex.join(rep.result.argv),
        status=_status_text(runs),
        runs=len(_non_warmup(runs)),
        warmups=sum(1 for r in runs if r.result.warmup),
        wall=WallTime(walls.median, walls.min, walls.max, walls.n) if walls else None,
        cpu_s=_median([r.result.cpu_user_s + r.result.cpu_system_s for r in timed]),
        cpu_source=rep.result.cpu_source if timed else None,
        utilization=_median([r.result.cpu_utilization for r in timed]),
        peak_rss_bytes=max((r.result.peak_rss_bytes for r in timed), default=None),
        workers=record.workers,
        workers_observed=max(r.result.workers_observed for r in runs),
        outcome=rep.result.outcome,
        outcome_text=outcome_text(rep.result.outcome),
        warning_categories=_sorted_counts(rep.result.warning_categories),
        representative_run=rep.result.run_id,
        log_path=rep.result.log_path,
        machines=tuple(sorted({label_of[r.result.machine.fingerprint()] for r in runs})),
        comparison=comparison,
        vs_baseline=vs_baseline,
        coverage=coverage,
        new_failures=new_failures,
        unstable=n_unstable,
        pros=(),
        cons=(),
    )
    before = by_strategy.get(record.compare_to or "")
    pros, cons = _tradeoffs(summary, before)
    return _with(summary, pros=pros, cons=cons)


def _with(s: StrategySummary, **changes: Any) -> StrategySummary:
    return dataclasses.replace(s, **changes)


def _median(values: Sequence[float]) -> float | None:
    return stats.describe(values).median if values else None


def _sorted_counts(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
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
    common: list[str] | None = None
    for d in directories:
        parts = [] if d == "." else d.split("/")
        if common is None:
            common = parts
        else:
            n = 0
            while n < min(len(common), len(parts)) and common[n] == parts[n]:
                n += 1
            common = common[:n]
    return len(common or [])


def _coverage(
    runs: Sequence[_Run], baseline: str | None, base_tests: tuple[TestRecord, ...]
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
        directories=_sorted_counts(dirs)[:TOP_DIRECTORIES],
    )


def _new_failures(runs: Sequence[_Run], base_runs: Sequence[_Run]) -> tuple[str, ...]:
    """Return tests that failed or errored here and never in the baseline."""
    failing_before = {
        t.nodeid for r in base_runs for t in r.problems if t.outcome in FAILING_OUTCOMES
    }
    failing = {t.nodeid for r in runs for t in r.problems if t.outcome in FAILING_OUTCOMES}
    return tuple(sorted(failing - failing_before))


def _instability(runs: Sequence[_Run], names: Sequence[str]) -> tuple[UnstableTest, ...]:
    """Find tests that did not end the same way everywhere they ran.

    Warm-up runs count here: a test that errors in a warm-up is unstable all the same.
    Only tests that did not pass somewhere can differ, so only those are looked up.
    """
    suspects: dict[str, dict[str, TestRecord]] = defaultdict(dict)
    for r in runs:
        for t in r.problems:
            suspects[t.nodeid][r.result.run_id] = t
    found = []
    for nodeid, seen_in in sorted(suspects.items()):
        unstable = _unstable_test(nodeid, seen_in, runs, names)
        if unstable is not None:
            found.append(unstable)
    return tuple(found)


def _unstable_test(
    nodeid: str, problems: dict[str, TestRecord], runs: Sequence[_Run], names: Sequence[str]
) -> UnstableTest | None:
    sequences: dict[str, list[TestRecord | None]] = defaultdict(list)
    for r in runs:
        if nodeid in r.nodeids or r.result.run_id in problems:
            sequences[r.result.strategy.name].append(problems.get(r.result.run_id))
    outcomes = {
        name: [t.outcome if t else "passed" for t in seq] for name, seq in sequences.items()
    }
    if len({o for seq in outcomes.values() for o in seq}) < 2:
        return None
    seen = []
    for name in (n for n in names if n in sequences):
        first = next((t for t in sequences[name] if t is not None), None)
        seq = outcomes[name]
        seen.append(
            Seen(
                strategy=name,
                outcomes=_sorted_counts(Counter(seq)),
                flips=sum(1 for a, b in itertools.pairwise(seq) if a != b),
                phase=first.phase if first else None,
                message=first.message if first else None,
            )
        )
    records = [t for t in problems.values()]
    return UnstableTest(
        nodeid=nodeid,
        between_strategies=len({frozenset(seq) for seq in outcomes.values()}) > 1,
        flaky=any(s.flips for s in seen),
        phases=tuple(sorted({t.phase for t in records if t.phase})),
        message=next((t.message for t in records if t.message), None),
        seen=tuple(seen),
    )


def _profile(
    baseline: str | None, run: _Run | None, tests: tuple[TestRecord, ...]
) -> Profile | None:
    if baseline is None or run is None:
        return None

    def slowest(phase: str) -> tuple[SlowTest, ...]:
        ranked = sorted(tests, key=lambda t: getattr(t, phase), reverse=True)
        return tuple(
            SlowTest(t.nodeid, getattr(t, phase))
            for t in ranked[:SLOWEST_PER_PHASE]
            if getattr(t, phase) > 0
        )

    total_s = sum(t.duration_s for t in tests)
    depth = _common_depth({_directory(t.nodeid) for t in tests})
    seconds: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    for t in tests:
        top = _top_directory(_directory(t.nodeid), depth)
        seconds[top] += t.duration_s
        counts[top] += 1
    dirs = sorted(seconds, key=lambda d: (-seconds[d], d))
    return Profile(
        strategy=baseline,
        run_id=run.result.run_id,
        tests=len(tests),
        total_s=total_s,
        slowest_setup=slowest("setup_s"),
        slowest_call=slowest("call_s"),
        slowest_teardown=slowest("teardown_s"),
        directories=tuple(
            DirectoryTime(d, counts[d], seconds[d], seconds[d] / total_s if total_s else 0.0)
            for d in dirs
        ),
        warning_categories=_sorted_counts(run.result.warning_categories),
    )


def _tradeoffs(
    s: StrategySummary, before_runs: Sequence[_Run] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    pros: list[str] = []
    cons: list[str] = []
    c = s.comparison
    if c is not None and is_gain(c):
        pros.append(f"{c.speedup:.2f}{TIMES} faster than `{c.before}`")
    elif c is not None and c.before_s is not None:
        cons.append(f"no significant gain over `{c.before}`")
    if s.workers == 0:
        pros.append("no parallel execution: no scheduling overhead, no shared-state races")
    else:
        cons.append(
            f"xdist with {s.workers} workers: scheduling overhead, and poorly isolated tests "
            "can turn nondeterministic"
        )
    if s.scope == "full":
        pros.append("full scope: runs the whole suite")
    if s.coverage is not None:
        g = s.coverage
        cons.append(
            f"reduced coverage: {g.not_run} of the baseline's {g.baseline_tests} tests not run "
            f"({g.share_of_time:.1%} of its test time), so it does not replace the quality gate"
        )
    elif s.scope == "subset":
        deselected = s.outcome.deselected if s.outcome else 0
        what = f"{deselected} deselected" if deselected else "subset scope"
        cons.append(f"reduced coverage ({what}): not a quality-gate replacement")
    if s.new_failures:
        cons.append(f"{len(s.new_failures)} new failures against the baseline")
    if s.unstable:
        cons.append(f"{s.unstable} unstable tests (see Instability)")
    if not s.status.startswith("passed"):
        cons.append(f"not every run passed: {s.status}")
    if before_runs and s.outcome is not None:
        rep = _representative(before_runs)
        if rep is not None and s.outcome.warnings > rep.result.outcome.warnings:
            cons.append(
                f"more warnings: {s.outcome.warnings} against {rep.result.outcome.warnings} "
                f"for `{c.before if c else ''}`"
            )
    return tuple(pros), tuple(cons)


def _run_ref(run: _Run, label_of: dict[tuple[object, ...], str]) -> RunRef:
    r = run.result
    failing = [t for t in run.problems if t.outcome in FAILING_OUTCOMES]
    return RunRef(
        run_id=r.run_id,
        strategy=r.strategy.name,
        status=r.status,
        wall_s=r.wall_s,
        log_path=r.log_path,
        started_at=r.started_at,
        round=r.round,
        warmup=r.warmup,
        machine=label_of[r.machine.fingerprint()],
        outcome_text=outcome_text(r.outcome),
        message=r.message,
        failures=tuple(
            TestProblem(t.nodeid, t.outcome, t.phase, t.message) for t in failing[:FAILURES_PER_RUN]
        ),
        failures_total=len(failing),
    )


def _speed_words(c: Comparison) -> str:
    speed = f"{c.speedup:.2f}{TIMES} faster"
    return f"{c.after_s:.2f}s against {c.before_s:.2f}s for `{c.before}`, {speed}"


def _recommend(
    strategies: Sequence[StrategySummary],
    baseline: str | None,
    unstable: Sequence[UnstableTest],
    machines: Sequence[MachineInfo],
) -> tuple[Recommendation, ...]:
    """Apply the stated rules; each yields one sentence."""
    if baseline is None:
        text = "No full-scope baseline ran, so no lane can be recommended; run `serial-full` first."
        return (Recommendation("baseline", None, text),)
    lanes = [s for s in strategies if s.name != baseline and s.wall is not None]
    gains = [s for s in lanes if is_gain(s.vs_baseline) and not s.new_failures]
    recs = [_local_lane(gains, baseline), _gate_lane(gains, baseline)]
    for s in lanes:
        c = s.comparison
        if c is not None and c.before_s is not None and not c.machines_differ and not is_gain(c):
            recs.append(
                Recommendation(
                    "no-gain",
                    s.name,
                    f"`{s.name}` gives no significant gain over `{c.before}` "
                    f"({c.after_s:.2f}s against {c.before_s:.2f}s).",
                )
            )
    if unstable:
        worst = unstable[0]
        recs.append(
            Recommendation(
                "instability",
                None,
                f"Fix or quarantine the {len(unstable)} unstable test"
                f"{'s' if len(unstable) > 1 else ''} before trusting a lane that runs them, "
                f"starting with `{worst.nodeid}`.",
            )
        )
    if len(machines) > 1:
        recs.append(
            Recommendation(
                "machines",
                None,
                f"The results come from {len(machines)} different machines; compare lanes "
                "only on one machine (deltas across machines are marked).",
            )
        )
    return tuple(recs)


def _local_lane(gains: Sequence[StrategySummary], baseline: str) -> Recommendation:
    if not gains:
        return Recommendation(
            "local",
            baseline,
            f"No lane is significantly faster than `{baseline}`, so keep it for local iteration.",
        )
    best = min(gains, key=lambda s: s.wall.median_s if s.wall else float("inf"))
    assert best.vs_baseline is not None
    caveat = (
        f", but it leaves out {best.coverage.not_run} of the baseline's tests "
        f"({best.coverage.share_of_time:.1%} of its test time), so it does not replace the gate"
        if best.coverage is not None
        else ", but it runs only part of the suite, so it does not replace the gate"
        if best.scope == "subset"
        else ""
    )
    return Recommendation(
        "local",
        best.name,
        f"Use `{best.name}` for local iteration ({_speed_words(best.vs_baseline)}){caveat}.",
    )


def _gate_lane(gains: Sequence[StrategySummary], baseline: str) -> Recommendation:
    full = [s for s in gains if s.scope == "full"]
    if not full:
        return Recommendation(
            "gate",
            baseline,
            f"Keep `{baseline}` as the quality gate: no full-scope lane is significantly faster "
            "without new failures.",
        )
    best = min(full, key=lambda s: s.wall.median_s if s.wall else float("inf"))
    assert best.vs_baseline is not None
    return Recommendation(
        "gate",
        best.name,
        f"Use `{best.name}` as the quality gate: full scope, no new failures, "
        f"{_speed_words(best.vs_baseline)}.",
    )
