"""The one judgement of runs that the summary, the advice and the gate all use.

Which runs count, how runs are grouped (strategy, machine, project), what a pair of run sets
shows (faster, slower, no significant difference, single run), how noisy a set is, and whether
it keeps the budgets recorded with it. Everything is data; the wording is report.py's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib import stats
from benchlib.analyze import coldstart
from benchlib.analyze.coldstart import ColdRun
from benchlib.analyze.pairing import BenchRatio, bench_ratio, pairs, runner_spread
from benchlib.model import budgets
from benchlib.model.results import COMPLETED, Machine, RunResult

Word = Literal["faster", "slower", "no significant difference", "single run", "not compared"]
Fingerprint = tuple[object, ...]

# The least noise floor when before and after ran on different hosts and no job ran both:
# shared CI runners swing by 50% or more from one job to the next. Used when the runs do not
# show the swing themselves (one strategy's medians on different hosts).
RUNNER_FLOOR = 0.5


def counts(run: RunResult) -> bool:
    """Tell whether a run enters the statistics: completed, timed, not a warm-up, and some test
    body ran (a run whose every test was skipped timed start-up and collection only)."""
    return not run.warmup and run.status in COMPLETED and run.wall_s > 0 and not all_skipped(run)


def all_skipped(run: RunResult) -> bool:
    """Tell whether every test of a run was skipped: no test body ran."""
    o = run.outcome
    ran = o.passed + o.failed + o.errors + o.xfailed + o.xpassed + o.subtests_passed
    return o.skipped > 0 and ran == 0


def why_not_counted(runs: Sequence[RunResult]) -> str:
    """Say why none of a strategy's runs counts, for a comparison's note."""
    if runs and all(all_skipped(r) for r in runs if not r.warmup):
        return "ran no test body: every test was skipped"
    return "has no completed run"


def in_order(runs: Iterable[RunResult]) -> list[RunResult]:
    """Return runs in the order they were made (the noise floor splits them by position)."""
    return sorted(runs, key=lambda r: (r.started_at, r.round, r.run_id))


def counted(runs: Iterable[RunResult]) -> list[RunResult]:
    """Return the runs that enter the statistics: those that count, less cold first runs."""
    ordered = in_order(runs)
    cold_ids = {c.run_id for c in cold(ordered) if not c.warmup}
    return [r for r in ordered if counts(r) and r.run_id not in cold_ids]


def cold(runs: Iterable[RunResult]) -> tuple[ColdRun, ...]:
    """Return the cold first runs among runs (coldstart's rule over the runs that count)."""
    return coldstart.cold(in_order(runs), counts)


def left_out(runs: Iterable[RunResult]) -> list[RunResult]:
    """Return the non-warm-up runs that do not count: a reader should hear about them."""
    return [r for r in in_order(runs) if not r.warmup and not counts(r)]


def by_strategy(runs: Iterable[RunResult]) -> dict[str, list[RunResult]]:
    """Group runs by strategy name, each group in recorded order."""
    groups: dict[str, list[RunResult]] = {}
    for run in in_order(runs):
        groups.setdefault(run.strategy.name, []).append(run)
    return groups


def machine_labels(runs: Iterable[RunResult]) -> dict[Fingerprint, str]:
    """Label each machine fingerprint A, B, ... in order of first appearance."""
    labels: dict[Fingerprint, str] = {}
    for run in runs:
        fp = run.machine.fingerprint()
        if fp not in labels:
            i = len(labels)
            labels[fp] = chr(ord("A") + i) if i < 26 else f"M{i + 1}"
    return labels


def describe_machine(m: Machine) -> str:
    """Say what a fingerprint stands for, to tell machines apart in a warning."""
    return (
        f"{m.cpu_model}, {m.cpus_usable} usable CPUs, {m.memory_bytes / 2**30:.1f} GiB, "
        f"Python {m.python}, {m.os}"
    )


def projects(runs: Iterable[RunResult]) -> tuple[str, ...]:
    """Return the distinct projects (target identities) of runs, in order of appearance."""
    return tuple(dict.fromkeys(r.target.identity for r in runs))


def project_warning(runs: Iterable[RunResult]) -> str | None:
    """Say loudly when runs of different projects were put together."""
    found = projects(runs)
    if len(found) < 2:
        return None
    return (
        f"these runs come from {len(found)} different projects ({', '.join(found)}); "
        "runs of different projects are never compared"
    )


def selections(runs: Iterable[RunResult]) -> int:
    """Return how many different sets of tests the runs selected (runs without one aside)."""
    return len({r.selection_sha256 for r in runs if r.selection_sha256})


@dataclass(frozen=True)
class Judgement:
    """What one set of runs (after) shows against another (before)."""

    before: str
    after: str
    word: Word
    before_s: float | None = None  # median wall time of the runs compared
    after_s: float | None = None
    delta_s: float | None = None  # after - before: negative is faster
    change_pct: float | None = None  # of before: positive is faster
    speedup: float | None = None  # before / after: above 1 is faster
    ci_low: float | None = None  # 95% interval of the speedup
    ci_high: float | None = None
    n_before: int = 0
    n_after: int = 0
    noise_floor: float = 0.0  # the before side's own A/A spread, as a fraction
    machines_differ: bool = False
    note: str | None = None  # why it was not compared, or what was left out or discounted
    settle_runs: int | None = None  # runs a side that would give an interval, when too few
    paired: int = 0  # pairs the verdict rests on; 0: the runs were compared as two samples
    benches: tuple[BenchRatio, ...] = ()  # the ratio within each bench that ran both sides
    runners_differ: bool = False  # other hosts and no bench ran both: the noise floor widened

    @property
    def gain(self) -> bool:
        """Tell whether after is significantly faster, on comparable hardware."""
        return self.word == "faster" and not self.machines_differ

    @property
    def loss(self) -> bool:
        return self.word == "slower" and not self.machines_differ


def judge(
    before: str, after: str, before_runs: Sequence[RunResult], after_runs: Sequence[RunResult]
) -> Judgement:
    """Judge after's runs against before's; only runs that count are used."""
    if not before_runs or not after_runs:
        missing = before if not before_runs else after
        return Judgement(before, after, "not compared", note=f"`{missing}` has no results")
    b, a = counted(before_runs), counted(after_runs)
    if not b or not a:
        side, runs = (before, before_runs) if not b else (after, after_runs)
        return Judgement(before, after, "not compared", note=f"`{side}` {why_not_counted(runs)}")
    b, a, project_note = _same_project(b, a)
    if not b:
        return Judgement(before, after, "not compared", note=project_note)
    paired = judge_pairs(before, after, b, a, project_note)
    if paired is not None:
        return paired
    b, a, differ, machine_note = _same_machine(b, a)
    floor, runner_note = _runner_floor(b, a, differ)
    note = _join(project_note, machine_note, runner_note)
    return _estimate(before, after, b, a, differ, note, min_floor=floor)


def _estimate(
    before: str,
    after: str,
    b: Sequence[RunResult],
    a: Sequence[RunResult],
    machines_differ: bool,
    note: str | None,
    *,
    min_floor: float = 0.0,
) -> Judgement:
    walls = [r.wall_s for r in b], [r.wall_s for r in a]
    return judge_walls(
        before, after, *walls, machines_differ=machines_differ, note=note, min_floor=min_floor
    )


def judge_walls(
    before: str,
    after: str,
    base: Sequence[float],
    current: Sequence[float],
    *,
    machines_differ: bool = False,
    note: str | None = None,
    min_floor: float = 0.0,
) -> Judgement:
    """Judge wall times of runs that count, already known to be comparable (see judge).

    min_floor widens what counts as noise, when the runs come from runners that differ.
    """
    # Differences smaller than the baseline's own A/A spread are not called significant.
    floor = max(stats.noise_floor(base), min_floor)
    est = stats.compare_ratio(base, current, noise_floor=floor)
    b_s, a_s = stats.describe(base).median, stats.describe(current).median
    settle = stats.runs_for_interval()
    return Judgement(
        before=before,
        after=after,
        word=est.verdict,
        before_s=b_s,
        after_s=a_s,
        delta_s=a_s - b_s,
        change_pct=(b_s - a_s) / b_s * 100,
        speedup=est.ratio,
        ci_low=est.low,
        ci_high=est.high,
        n_before=len(base),
        n_after=len(current),
        noise_floor=floor,
        machines_differ=machines_differ,
        note=_join(note, est.note),
        settle_runs=settle if est.low is None else None,
        runners_differ=min_floor > 0,
    )


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _same_project(
    before: list[RunResult], after: list[RunResult]
) -> tuple[list[RunResult], list[RunResult], str | None]:
    """Keep the runs of one project both sides ran (the one with most runs a side); none when
    they share no project. Two projects' timings are never pooled into one comparison."""
    count_b = Counter(r.target.identity for r in before)
    count_a = Counter(r.target.identity for r in after)
    common = [p for p in count_b if p in count_a]
    if not common:
        return (
            [],
            [],
            (
                f"different projects: {', '.join(count_b)} against {', '.join(count_a)}; "
                "runs of different projects are never compared"
            ),
        )
    project = max(common, key=lambda p: (min(count_b[p], count_a[p]), count_b[p] + count_a[p]))
    kept_b = [r for r in before if r.target.identity == project]
    kept_a = [r for r in after if r.target.identity == project]
    left = len(before) + len(after) - len(kept_b) - len(kept_a)
    note = f"compared within {project}; {_runs(left)} of other projects left out" if left else None
    return kept_b, kept_a, note


def _same_machine(
    before: list[RunResult], after: list[RunResult]
) -> tuple[list[RunResult], list[RunResult], bool, str | None]:
    """Keep the runs of the machine both sides ran on most; say what was left out."""
    fps_b = Counter(r.machine.fingerprint() for r in before)
    fps_a = Counter(r.machine.fingerprint() for r in after)
    common = [fp for fp in fps_b if fp in fps_a]
    if not common:
        note = "before and after ran on different machines: the delta mixes hardware"
        return before, after, True, note
    if len(fps_b) == 1 and len(fps_a) == 1:
        return before, after, False, None
    fp = max(common, key=lambda f: (min(fps_b[f], fps_a[f]), fps_b[f] + fps_a[f]))
    kept_b = [r for r in before if r.machine.fingerprint() == fp]
    kept_a = [r for r in after if r.machine.fingerprint() == fp]
    left = len(before) + len(after) - len(kept_b) - len(kept_a)
    note = f"compared on one machine only; {_runs(left)} on other machines left out"
    return kept_b, kept_a, False, note


def judge_pairs(
    before: str,
    after: str,
    b: Sequence[RunResult],
    a: Sequence[RunResult],
    note: str | None = None,
) -> Judgement | None:
    """Judge on ratios measured within each bench (round by round); else None.

    Within one bench both sides ran round-robin on one machine: each round is a pair. Across
    benches (CI jobs on different runners) only a ratio measured within one
    bench is free of the runner's speed: each round of a bench that ran both sides gives one.
    """
    found = pairs(b, a)
    flat_n = sum(len(v) for v in found.values())
    one_bench = len({r.bench_id for r in [*b, *a]}) < 2
    # Within one bench the rounds ran interleaved (round-robin, --pair): each round is a pair,
    # judged as one once there are enough pairs for a signed-rank interval; fewer, the two
    # samples give an interval sooner (4 runs a side against 6 pairs). A bench that ran two
    # checkouts (a pull request's head and its base, gatebench) is paired whatever its rounds:
    # each round's ratio is what the gate is about.
    checkouts = {r.target.path for r in b}.isdisjoint({r.target.path for r in a})
    if not found or (one_bench and not checkouts and flat_n < stats.pairs_for_interval()):
        return None
    flat = [p for bench in found.values() for p in bench]
    ratios = [x.wall_s / y.wall_s for x, y in sorted(flat, key=lambda p: p[0].started_at)]
    est = stats.paired_ratio(ratios, noise_floor=stats.noise_floor(ratios))
    b_s = stats.describe([x.wall_s for x, _ in flat]).median
    a_s = stats.describe([y.wall_s for _, y in flat]).median
    left = len(b) + len(a) - 2 * len(flat)
    said = (
        f"paired: each ratio measured within one job on one machine ({_runs(len(flat))} "
        f"a side in {len(found)} job{'s' if len(found) > 1 else ''})"
    )
    return Judgement(
        before, after, est.verdict, b_s, a_s, a_s - b_s, (b_s - a_s) / b_s * 100, est.ratio,
        est.low, est.high, len(flat), len(flat), noise_floor=stats.noise_floor(ratios),
        note=_join(note, said, f"{_runs(left)} outside them left out" if left else None, est.note),
        settle_runs=stats.pairs_for_interval() if est.low is None else None,
        paired=len(flat), benches=tuple(bench_ratio(k, v) for k, v in found.items()),
    )  # fmt: skip


def _runner_floor(
    before: Sequence[RunResult], after: Sequence[RunResult], machines_differ: bool
) -> tuple[float, str | None]:
    """Widen the noise floor when the sides ran on other hosts and no bench ran both."""
    hosts = {r.machine.hostname for r in [*before, *after]}
    if machines_differ or len(hosts) < 2:
        return 0.0, None
    # Each side on its own: across the sides, a strategy's swing would be the very change
    # being judged (the gate compares a strategy with itself).
    spreads = [x for x in (runner_spread(before), runner_spread(after)) if x is not None]
    spread = max(spreads) if spreads else None
    floor = spread if spread is not None else RUNNER_FLOOR
    source = "one strategy's median across hosts" if spread is not None else "shared runners"
    return floor, (
        f"runners differ ({len(hosts)} hosts) and no job ran both sides: the noise floor is "
        f"widened to {floor:.0%} (the swing of {source}); pair them (--pair) for a ratio "
        "measured on one runner"
    )


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"


def regressed(j: Judgement, threshold: float) -> bool:
    """Tell whether after is significantly slower by more than threshold (0.1: 10%).

    The point estimate decides the size, the interval decides significance: requiring the
    whole interval beyond the threshold would miss most real regressions at 5 runs a side.
    """
    return j.word == "slower" and j.speedup is not None and 1 / j.speedup - 1 > threshold


NoiseKind = Literal["cv", "first-run"]


@dataclass(frozen=True)
class NoiseWarning:
    """A sign that a strategy's runs are too noisy to trust small differences."""

    strategy: str
    kind: NoiseKind  # "cv": spread over stats.CV_LIMIT; "first-run": a cold run (ColdRun)
    value: float  # the coefficient of variation, or how much slower the first run was
    cold: ColdRun | None = None  # the first run, left out of the statistics


def noise(strategy: str, runs: Sequence[RunResult]) -> tuple[NoiseWarning, ...]:
    """Return the noise warnings for one strategy's runs that count, and its cold runs."""
    walls = [r.wall_s for r in counted(runs)]
    found = []
    if stats.is_noisy(walls):
        found.append(NoiseWarning(strategy, "cv", stats.describe(walls).cv))
    found += [
        NoiseWarning(strategy, "first-run", c.wall_s / c.warm_s - 1, c)
        for c in cold(runs)
        if c.strategy == strategy
    ]
    return tuple(found)


@dataclass(frozen=True)
class BudgetResult:
    """One recorded budget limit held against a strategy's runs that count."""

    strategy: str
    key: str  # a budgets.KINDS key, e.g. "max_wall_s"
    unit: budgets.Unit
    aggregate: budgets.Aggregate
    limit: float
    actual: float
    runs: int
    broken: bool


def recorded_budgets(runs: Sequence[RunResult]) -> dict[str, float]:
    """Return the limits recorded with the latest run: the configuration as it is now."""
    return dict(in_order(runs)[-1].strategy.budgets) if runs else {}


def budget_checks(strategy: str, runs: Sequence[RunResult]) -> tuple[BudgetResult, ...]:
    """Hold the recorded limits against the runs that count; none when no run counts."""
    measured = counted(runs)
    if not measured:
        return ()
    return tuple(
        BudgetResult(
            c.strategy,
            c.kind.key,
            c.kind.unit,
            c.kind.aggregate,
            c.limit,
            c.actual,
            c.runs,
            c.broken,
        )
        for c in budgets.check(strategy, recorded_budgets(runs), measured)
    )
