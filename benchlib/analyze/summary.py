"""The facts of a benchmark report, built from judge's verdicts: lanes, deltas, coverage.

Facts only: what to recommend is advice.py's, how to say it is report.py's.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchlib import stats
from benchlib.analyze import busy, chartdata, judge, parts, pertest, resultset, runfacts
from benchlib.analyze.judge import BudgetResult, Judgement, NoiseWarning
from benchlib.analyze.parts import LogicalRun
from benchlib.analyze.pertest import CoverageGap, Profile, SlowTest, UnstableTest
from benchlib.analyze.resultset import ResultSet, Run, SkippedFile
from benchlib.analyze.runfacts import (
    Hang,
    RunRef,
    TestProblem,
    TimeFacts,
    Why,
    display_command,
    outcome_text,
)
from benchlib.model.results import Counts, ResultError, RunResult, TestRecord
from benchlib.plan.strategy import BUILTIN

__all__ = [
    "CoverageGap",
    "Hang",
    "Profile",
    "RunRef",
    "SkippedFile",
    "SlowTest",
    "Summary",
    "TestProblem",
    "TimeFacts",
    "UnstableTest",
    "Why",
    "analyze",
    "outcome_text",
]


@dataclass(frozen=True)
class MachineInfo:
    """One set of comparable hardware (one fingerprint) and the runs made on it."""

    label: str  # "A", "B", ... in order of first appearance
    description: str
    hostnames: tuple[str, ...]
    runs: int


@dataclass(frozen=True)
class WallTime:
    """Wall time over a strategy's timed, non-warm-up runs."""

    median_s: float
    min_s: float
    max_s: float
    runs: int


@dataclass(frozen=True)
class StrategySummary:
    """Everything the report says about one strategy."""

    name: str
    description: str
    scope: str
    compare_to: str | None
    command: str  # for display only: the argv as run, shell-quoted, without benchlib's plugin
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
    comparison: Judgement | None  # against compare_to
    vs_baseline: Judgement | None
    coverage: CoverageGap | None
    new_failures: tuple[str, ...]
    unstable: int
    all_passed: bool  # every run that is not a warm-up passed
    before_warnings: int | None  # warnings of compare_to's representative run
    noise: tuple[NoiseWarning, ...]
    budgets: tuple[BudgetResult, ...]  # the limits recorded with its latest run
    time: TimeFacts | None = None  # where its representative run's time went
    why: Why | None = None  # that run against compare_to's, part by part
    hangs: tuple[Hang, ...] = ()  # its runs stopped with tests in flight
    selections: int = 1  # different sets of tests its runs selected; over 1 is warned about
    # A subset lane against each full-scope lane: the advice's "faster than the fastest full
    # lane" is judged here, by the same path as every other verdict.
    versus_full: tuple[Judgement, ...] = ()
    steps: tuple[str, ...] = ()  # a stepped strategy's commands, in turn; command joins them
    busy_runs: int = 0  # its runs that count taken on a busy machine (busy.BUSY_SHARE)


@dataclass(frozen=True)
class Summary:
    """The merged facts of a set of result files."""

    date: str
    baseline: str | None
    strategies: tuple[StrategySummary, ...]
    missing: tuple[str, ...]  # named by compare_to, without results
    machines: tuple[MachineInfo, ...]
    projects: tuple[str, ...]  # target identities; more than one is warned about
    project_warning: str | None
    instability: tuple[UnstableTest, ...]
    profile: Profile | None
    runs: tuple[RunRef, ...]
    skipped: tuple[SkippedFile, ...]
    charts: chartdata.Charts = field(default_factory=chartdata.Charts)  # what the charts draw
    # Shards and steps merged into logical runs: their parts, balance and node-id check.
    logical: tuple[LogicalRun, ...] = ()
    load: busy.Finding = field(default_factory=lambda: busy.finding({}))  # the machine's load

    def strategy(self, name: str) -> StrategySummary:
        """Return the named strategy's summary; raise KeyError if it has none."""
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)


def analyze(
    loaded: Sequence[RunResult], skipped: Sequence[ResultError | SkippedFile] = ()
) -> Summary:
    """Summarize results already in memory (from results.load_all or built by hand)."""
    return build(resultset.from_results(loaded, skipped))


def build(rs: ResultSet, scans: tuple[chartdata.Scan, ...] = ()) -> Summary:
    """Return the facts of a result set; shards and steps count as the logical runs they make."""
    rs, logical = parts.merged(rs)
    runs = sorted(rs.runs, key=lambda r: (r.result.started_at, r.result.round, r.result.run_id))
    plain = [r.result for r in runs]
    labels = judge.machine_labels(plain)
    by_name: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_name[run.result.strategy.name].append(run)
    names = _order(by_name)
    baseline = _baseline(by_name, names)
    reps = {name: _read_once(runs) for name, runs in by_name.items()}
    base_run = reps[baseline] if baseline else None
    base_tests, skipped = _baseline_tests(base_run, list(rs.skipped))
    unstable = pertest.instability(runs, names)
    times = _times(reps)
    medians = {name: runfacts.median_parts(group) for name, group in by_name.items()}
    facts = _Facts(by_name, baseline, base_tests, labels, unstable, times, medians, logical)
    strategies = tuple(_strategy_summary(name, facts) for name in names)
    charts, skipped = chartdata.charts(reps.values(), runs, scans, skipped)
    compared = {s.compare_to for s in strategies if s.compare_to}
    counted = frozenset(r.run_id for r in judge.counted(plain))  # cold first runs left out
    return Summary(
        date=_date(plain),
        baseline=baseline,
        strategies=strategies,
        missing=tuple(sorted(compared - set(names))),
        machines=_machines(plain, labels),
        projects=judge.projects(plain),
        project_warning=judge.project_warning(plain),
        instability=unstable,
        profile=pertest.profile(baseline, base_run, base_tests),
        runs=tuple(_run_ref(r, labels, counted) for r in runs),
        skipped=tuple(skipped),
        charts=charts,
        logical=logical,
        load=busy.finding({name: judge.counted(facts.results(name)) for name in names}),
    )


@dataclass(frozen=True)
class _Facts:
    """What every strategy's summary is built from."""

    by_name: dict[str, list[Run]]
    baseline: str | None
    base_tests: tuple[TestRecord, ...]
    labels: dict[judge.Fingerprint, str]
    unstable: tuple[UnstableTest, ...]
    times: dict[str, TimeFacts | None]
    medians: dict[str, tuple[float, ...] | None]  # per part, over the counted runs
    logical: tuple[LogicalRun, ...] = ()

    def results(self, name: str) -> list[RunResult]:
        return [r.result for r in self.by_name.get(name, [])]

    def judge(self, before: str, after: str) -> Judgement:
        return judge.judge(before, after, self.results(before), self.results(after))

    def why(self, name: str, before: str | None, verdict: Judgement | None) -> Why | None:
        """Say the parts' medians over the runs the verdict rests on, not one run's."""
        if before is None or verdict is None or verdict.before_s is None:
            return None
        after_facts, before_facts = self.times.get(name), self.times.get(before)
        after_parts, before_parts = self.medians.get(name), self.medians.get(before)
        if not (after_facts and before_facts and after_parts and before_parts):
            return None
        walls = (verdict.before_s, verdict.after_s or 0.0)
        parts = (before_parts, after_parts)
        return runfacts.why(name, before, after_facts, before_facts, parts=parts, walls=walls)


def _read_once(runs: Sequence[Run]) -> Run:
    """Return the representative run, its file read once for the profile, times and charts."""
    rep = _representative(runs)
    assert rep is not None  # a strategy exists only through its runs
    full = functools.cache(rep.full)
    return dataclasses.replace(rep, _full=full, _tests=lambda: full().tests)


def _times(reps: dict[str, Run]) -> dict[str, TimeFacts | None]:
    """Return each strategy's time facts, from its representative run's per-test records."""
    times: dict[str, TimeFacts | None] = {}
    for name, rep in reps.items():
        try:
            times[name] = runfacts.facts_of(rep.result, rep.tests)
        except ResultError:  # the file went away since: the breakdown is left out
            times[name] = None
    return times


def _machines(
    runs: Sequence[RunResult], labels: dict[judge.Fingerprint, str]
) -> tuple[MachineInfo, ...]:
    infos = []
    for fp, label in labels.items():
        on = [r.machine for r in runs if r.machine.fingerprint() == fp]
        hosts = tuple(sorted({m.hostname for m in on}))
        infos.append(MachineInfo(label, judge.describe_machine(on[0]), hosts, len(on)))
    return tuple(infos)


def _order(by_name: dict[str, list[Run]]) -> list[str]:
    """Order strategies as the built-ins are ordered, then by when they first ran."""
    builtin = list(BUILTIN)

    def key(name: str) -> tuple[int, str, str]:
        rank = builtin.index(name) if name in builtin else len(builtin)
        return rank, by_name[name][0].result.started_at, name

    return sorted(by_name, key=key)


def _baseline(by_name: dict[str, list[Run]], names: Sequence[str]) -> str | None:
    """Pick the full-scope strategy that compares to nothing and that most others compare to."""
    referenced = Counter(runs[0].result.strategy.compare_to for runs in by_name.values())
    candidates = [
        n
        for n in names
        if by_name[n][0].result.strategy.compare_to is None
        and by_name[n][0].result.strategy.scope == "full"
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda n: (referenced[n], -names.index(n)))


def _representative(runs: Sequence[Run]) -> Run | None:
    """Return the counted run closest to the median wall time, else the latest run."""
    timed = [r for r in runs if judge.counts(r.result)]
    if not timed:
        return runs[-1] if runs else None
    median = stats.describe([r.result.wall_s for r in timed]).median
    return min(timed, key=lambda r: (abs(r.result.wall_s - median), r.result.wall_s))


def _baseline_tests(
    run: Run | None, skipped: list[SkippedFile]
) -> tuple[tuple[TestRecord, ...], list[SkippedFile]]:
    if run is None:
        return (), skipped
    try:
        return run.tests(), skipped
    except ResultError as exc:
        return (), [*skipped, SkippedFile(str(exc.path), exc.reason)]


def _date(runs: Sequence[RunResult]) -> str:
    days = sorted({r.started_at[:10] for r in runs})
    if not days:
        return ""
    return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def _status_text(runs: Sequence[Run]) -> str:
    counted = Counter(
        "all skipped" if judge.all_skipped(r.result) else r.result.status
        for r in runs
        if not r.result.warmup
    )
    if not counted:
        return "warm-up only"
    if len(counted) == 1:
        status, n = next(iter(counted.items()))
        return f"{status} ({n} run{'s' if n > 1 else ''})"
    return ", ".join(f"{n} {status}" for status, n in counted.most_common())


def _strategy_summary(name: str, facts: _Facts) -> StrategySummary:
    runs = facts.by_name[name]
    plain = facts.results(name)
    record = runs[-1].result.strategy
    rep = _representative(runs)
    assert rep is not None  # a strategy exists only through its runs
    timed = judge.counted(plain)
    walls = stats.describe([r.wall_s for r in timed]) if timed else None
    comparison = facts.judge(record.compare_to, name) if record.compare_to else None
    vs_baseline = None
    if facts.baseline and name != facts.baseline:
        same = record.compare_to == facts.baseline
        vs_baseline = comparison if same else facts.judge(facts.baseline, name)
    before = _representative(facts.by_name.get(record.compare_to or "", []))
    steps = _steps(name, facts.logical)
    return StrategySummary(
        name=name,
        description=record.description,
        scope=record.scope,
        compare_to=record.compare_to,
        # A stepped strategy is all its steps: a maintainer copying the first alone would
        # drop the other steps' tests.
        command=" && ".join(steps) if steps else display_command(rep.result.argv),
        steps=steps,
        status=_status_text(runs),
        runs=sum(1 for r in plain if not r.warmup),
        warmups=sum(1 for r in plain if r.warmup),
        wall=WallTime(walls.median, walls.min, walls.max, walls.n) if walls else None,
        cpu_s=_median([r.cpu_user_s + r.cpu_system_s for r in timed]),
        cpu_source=rep.result.cpu_source if timed else None,
        utilization=_median([r.cpu_utilization for r in timed]),
        peak_rss_bytes=max((r.peak_rss_bytes for r in timed), default=None),
        workers=record.workers,
        workers_observed=max(r.workers_observed for r in plain),
        outcome=rep.result.outcome,
        outcome_text=outcome_text(rep.result.outcome),
        warning_categories=pertest.sorted_counts(rep.result.warning_categories),
        representative_run=rep.result.run_id,
        log_path=rep.result.log_path,
        machines=tuple(sorted({facts.labels[r.machine.fingerprint()] for r in plain})),
        comparison=comparison,
        vs_baseline=vs_baseline,
        coverage=pertest.coverage(runs, facts.baseline, facts.base_tests)
        if record.scope == "subset"
        else None,
        new_failures=_new_failures(name, facts),
        unstable=pertest.unstable_in(name, facts.unstable),
        all_passed=all(r.status == "passed" for r in plain if not r.warmup),
        before_warnings=before.result.outcome.warnings if before else None,
        noise=judge.noise(name, plain),
        budgets=judge.budget_checks(name, plain),
        time=facts.times.get(name),
        why=facts.why(name, record.compare_to, comparison),
        hangs=runfacts.hangs(plain),
        selections=judge.selections(plain),
        versus_full=_versus_full(name, record.scope, facts),
        busy_runs=sum(1 for r in timed if busy.is_busy(r)),
    )


def _steps(name: str, logical: Sequence[LogicalRun]) -> tuple[str, ...]:
    mine = next((run for run in logical if run.strategy == name and run.kind == "step"), None)
    if mine is None or not all(p.argv for p in mine.parts):
        return ()
    return tuple(display_command(p.argv) for p in mine.parts)


def _versus_full(name: str, scope: str, facts: _Facts) -> tuple[Judgement, ...]:
    if scope != "subset":
        return ()
    full = [n for n, runs in facts.by_name.items() if runs[0].result.strategy.scope == "full"]
    return tuple(facts.judge(other, name) for other in full)


def _median(values: Sequence[float]) -> float | None:
    return stats.describe(values).median if values else None


def _new_failures(name: str, facts: _Facts) -> tuple[str, ...]:
    if facts.baseline is None or name == facts.baseline:
        return ()
    return pertest.new_failures(facts.by_name[name], facts.by_name[facts.baseline])


def _run_ref(run: Run, label_of: dict[judge.Fingerprint, str], counted: frozenset[str]) -> RunRef:
    r = run.result
    return runfacts.run_ref(
        r,
        run.problems,
        label_of[r.machine.fingerprint()],
        outcome_text(r.outcome),
        counted=r.run_id in counted,
    )
