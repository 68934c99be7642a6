"""What to recommend, by stated rules over the summary's facts. Data only; wording.py words it.

A lane is recommended only on judge's verdict "faster" (significant, beyond the baseline's noise
floor, on comparable hardware). "No significant difference" is never a gain, "slower" is said
to be slower, and a single run or too few runs say how many repeats would settle them. Every
recommendation carries the comparisons it rests on, so its sentence can state its evidence:

- a lane is a gain only when it is also no worse than its own compare_to (a parallel lane that
  is not significantly faster than its serial sibling is not recommended over it);
- a subset lane is recommended for local iteration only when it is significantly faster than
  the fastest full-scope gain; otherwise that full-scope lane is, and the subset is named as
  passed over with the comparison that decided it;
- keeping the baseline names the closest lane and its verdict (a single run says how many runs
  would settle it), and the full-scope lanes that hung (status timeout), with what was in flight;
- a parallel lane whose only problem is tests that fail under xdist and never in the baseline
  gets its own recommendation: which tests to fix to unlock it, and what it would gain;
- no lane, and not the baseline either, is recommended while a lane that could be (no new
  failures, no hang) has too few runs for an interval against the baseline: the advice says
  what would settle it (runs a side, and how long they take here), and nothing else;
- nor when the machine was too busy to judge (busy.Finding): every figure is then a busy one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib.analyze import busy
from benchlib.analyze.judge import Judgement
from benchlib.analyze.pertest import CoverageGap
from benchlib.analyze.summary import StrategySummary, Summary
from benchlib.plan.scanplan import SEPARATOR

Rule = Literal[
    "baseline",  # no baseline ran: nothing can be recommended
    "settle",  # lanes without an interval: what would settle them, and no recommendation
    "busy",  # the machine was too busy to judge: no recommendation
    "local",  # the lane for local iteration (the baseline when none is faster)
    "gate",  # the lane for the full quality gate (the baseline when none is faster)
    "slower",  # a lane significantly slower than what it replaces
    "no-gain",  # no significant difference: not worth a lane
    "unsettled",  # a single run, or too few runs for an interval: say how many would settle it
    "instability",
    "machines",
    "projects",
    "budget",  # a recorded budget is broken
    "parallel-failures",  # tests that fail only in a parallel lane keep it from being the gate
]
Point = Literal[
    "faster",
    "slower",
    "no-gain",
    "unsettled",
    "machines-differ",
    "serial",
    "xdist",
    "full-scope",
    "coverage",
    "subset",
    "new-failures",
    "unstable",
    "not-passed",
    "more-warnings",
    "budget-broken",
]


@dataclass(frozen=True)
class Hang:
    """A lane's run that hit its time limit, and what was running when it was stopped."""

    strategy: str
    runs: int  # runs of the lane that timed out
    runs_total: int  # runs of the lane, warm-ups left out
    message: str | None  # the run's message: the time limit and the tests in flight


@dataclass(frozen=True)
class Settle:
    """What would settle the comparisons with the baseline that have no interval yet."""

    strategies: tuple[str, ...]  # the baseline, then the lanes not settled
    runs: int  # runs a side (or pairs) each comparison needs for a 95% interval
    round_s: float  # one round of those strategies here: the sum of their medians
    warmup_rounds: int = 1  # a bench's default warm-up round, timed like the others

    @property
    def seconds(self) -> float:
        """Return how long a bench of those strategies that settles them would take here."""
        return (self.runs + self.warmup_rounds) * self.round_s


@dataclass(frozen=True)
class Recommendation:
    rule: Rule
    strategy: str | None
    judgement: Judgement | None = None  # the comparison it rests on
    coverage: CoverageGap | None = None  # what a recommended subset lane leaves out
    count: int = 0  # unstable tests, machines, projects, tests failing only in parallel
    example: str | None = None  # the first unstable or failing test, or the budget's key
    detail: str | None = None  # how the example failed: phase and first line of the error
    versus: Judgement | None = None  # local: the subset lane against the fastest full lane
    closest: Judgement | None = None  # keeping the baseline: the fastest lane's verdict
    hangs: tuple[Hang, ...] = ()  # keeping the baseline as the gate: full lanes that hung
    settle: Settle | None = None  # rule settle: the runs that would settle the lanes
    load: busy.Finding | None = None  # rule busy: the machine's load


@dataclass(frozen=True)
class Tradeoff:
    """One pro or con of a strategy, with the numbers it rests on."""

    point: Point
    pro: bool
    judgement: Judgement | None = None
    count: int = 0  # workers, tests, warnings
    other: int = 0  # the number count is held against (the baseline's warnings)
    fact: str | None = None  # a status or budget key, quoted as is


@dataclass(frozen=True)
class Advice:
    recommendations: tuple[Recommendation, ...]
    tradeoffs: dict[str, tuple[Tradeoff, ...]]  # by strategy


def advise(summary: Summary) -> Advice:
    """Apply the rules to a summary."""
    tradeoffs = {s.name: tradeoffs_of(s) for s in summary.strategies}
    return Advice(_recommend(summary), tradeoffs)


def _recommend(summary: Summary) -> tuple[Recommendation, ...]:
    baseline = summary.baseline
    if baseline is None:
        return (Recommendation("baseline", None),)
    lanes = [s for s in summary.strategies if s.name != baseline and s.wall is not None]
    gains = [s for s in lanes if _gain(s, baseline) and not s.new_failures]
    settle = _settle(summary, baseline, lanes)
    if summary.load.too_busy_to_judge:
        recs = [Recommendation("busy", None, load=summary.load)]
    elif settle is not None:
        recs = [Recommendation("settle", None, settle=settle)]
    else:
        recs = [_local(summary, gains, lanes), _gate(summary, _full(gains), _full(lanes))]
    recs += [r for s in lanes if (r := _lane_warning(s)) is not None]
    recs += [r for s in lanes if (r := _parallel_failures(summary, s)) is not None]
    if summary.instability:
        worst = summary.instability[0].nodeid
        recs.append(
            Recommendation("instability", None, count=len(summary.instability), example=worst)
        )
    if len(summary.machines) > 1:
        recs.append(Recommendation("machines", None, count=len(summary.machines)))
    if len(summary.projects) > 1:
        recs.append(Recommendation("projects", None, count=len(summary.projects)))
    recs += [
        Recommendation("budget", s.name, example=b.key)
        for s in summary.strategies
        for b in s.budgets
        if b.broken
    ]
    return tuple(recs)


def _settle(summary: Summary, baseline: str, lanes: Sequence[StrategySummary]) -> Settle | None:
    """Say what would settle the lanes whose comparison with the baseline has no interval."""
    # Only a lane that could be recommended once settled: none with new failures or a hang,
    # and no variant of a scan (base@coordinates), which the scan's own rule picks among.
    hung = {r.strategy for r in summary.runs if r.status == "timeout"}
    open_ = [
        s for s in lanes
        if s.vs_baseline is not None and s.vs_baseline.settle_runs is not None
        and not s.vs_baseline.machines_differ and not s.new_failures and s.name not in hung
        and SEPARATOR not in s.name
    ]  # fmt: skip
    if not open_:
        return None
    names = (baseline, *(s.name for s in open_))
    walls = [summary.strategy(n).wall for n in names]
    return Settle(
        strategies=names,
        runs=max(s.vs_baseline.settle_runs or 0 for s in open_ if s.vs_baseline),
        round_s=sum(w.median_s for w in walls if w is not None),
    )


def _gain(s: StrategySummary, baseline: str) -> bool:
    """Tell whether a lane beats the baseline and is no worse than its own compare_to."""
    if s.vs_baseline is None or not s.vs_baseline.gain:
        return False
    own = s.comparison
    # A lane that is not significantly faster than its sibling (xdist-unit against unit) is
    # not worth its extra machinery: the sibling is recommended, or nothing.
    return own is None or own.before == baseline or own.gain


def _full(lanes: Sequence[StrategySummary]) -> list[StrategySummary]:
    return [s for s in lanes if s.scope == "full"]


def _fastest(lanes: Sequence[StrategySummary]) -> StrategySummary | None:
    return min(lanes, key=lambda s: s.wall.median_s if s.wall else float("inf"), default=None)


def _local(
    summary: Summary, gains: Sequence[StrategySummary], lanes: Sequence[StrategySummary]
) -> Recommendation:
    """Recommend the fastest gain; a subset lane only when it beats the fastest full gain."""
    best, full = _fastest(gains), _fastest(_full(gains))
    if best is None:
        return _keep(summary, "local", lanes)
    if best.scope == "subset" and full is not None:
        versus = _between(summary, full.name, best.name)
        if versus is None or not versus.gain:
            return Recommendation("local", full.name, full.vs_baseline, versus=versus)
        return Recommendation("local", best.name, best.vs_baseline, best.coverage, versus=versus)
    coverage = best.coverage if best.scope == "subset" else None
    return Recommendation("local", best.name, best.vs_baseline, coverage)


def _gate(
    summary: Summary, gains: Sequence[StrategySummary], lanes: Sequence[StrategySummary]
) -> Recommendation:
    best = _fastest(gains)
    if best is None:
        return _keep(summary, "gate", lanes)
    return Recommendation("gate", best.name, best.vs_baseline)


def _keep(summary: Summary, rule: Rule, lanes: Sequence[StrategySummary]) -> Recommendation:
    """Keep the baseline, naming the closest lane's verdict and, for the gate, the hangs."""
    closest = _fastest([s for s in lanes if s.vs_baseline is not None])
    hangs = _hangs(summary, _full(summary.strategies)) if rule == "gate" else ()
    judgement = closest.vs_baseline if closest else None
    return Recommendation(rule, summary.baseline, closest=judgement, hangs=hangs)


def _hangs(summary: Summary, lanes: Sequence[StrategySummary]) -> tuple[Hang, ...]:
    found = []
    for s in lanes:
        runs = [r for r in summary.runs if r.strategy == s.name and not r.warmup]
        hung = [r for r in runs if r.status == "timeout"]
        if hung and s.name != summary.baseline:
            found.append(Hang(s.name, len(hung), len(runs), hung[-1].message))
    return tuple(found)


def _between(summary: Summary, before: str, after: str) -> Judgement | None:
    """Return the verdict of after against before, as the summary judged it (one judging path)."""
    lane = summary.strategy(after)
    return next((j for j in lane.versus_full if j.before == before), None)


def _parallel_failures(summary: Summary, s: StrategySummary) -> Recommendation | None:
    """Name the tests that fail only in a parallel lane: fixing them unlocks it."""
    if s.workers == 0 or not s.new_failures:
        return None
    problems = [t for r in summary.runs if r.strategy == s.name for t in r.failures]
    first = next((t for t in problems if t.nodeid in s.new_failures), None)
    return Recommendation(
        "parallel-failures",
        s.name,
        s.vs_baseline,
        count=len(s.new_failures),
        example=s.new_failures[0] if first is None else first.nodeid,
        detail=None if first is None else _how(first.outcome, first.phase, first.message),
    )


def _how(outcome: str, phase: str | None, message: str | None) -> str:
    line = message.splitlines()[0] if message else ""
    return f"{outcome}{f' in {phase}' if phase else ''}" + (f": {line}" if line else "")


def _lane_warning(s: StrategySummary) -> Recommendation | None:
    c = s.comparison
    if c is None or c.machines_differ:
        return None
    if c.loss:
        return Recommendation("slower", s.name, c)
    if c.settle_runs is not None:
        return Recommendation("unsettled", s.name, c)
    if c.word == "no significant difference":
        return Recommendation("no-gain", s.name, c)
    return None


def tradeoffs_of(s: StrategySummary) -> tuple[Tradeoff, ...]:
    """Return a strategy's pros and cons."""
    if s.wall is None:  # no run reached pytest's verdict: it is broken, nothing in its favour
        return tuple(_problem_points(s))
    found = list(_speed_points(s.comparison))
    found.append(
        Tradeoff("serial", True) if s.workers == 0 else Tradeoff("xdist", False, count=s.workers)
    )
    if s.scope == "full":
        found.append(Tradeoff("full-scope", True))
    if s.coverage is not None:
        found.append(Tradeoff("coverage", False, count=s.coverage.not_run))
    elif s.scope == "subset":
        found.append(Tradeoff("subset", False, count=s.outcome.deselected if s.outcome else 0))
    found += _problem_points(s)
    return tuple(found)


def _speed_points(c: Judgement | None) -> list[Tradeoff]:
    if c is None or c.word == "not compared":
        return []
    if c.machines_differ:
        return [Tradeoff("machines-differ", False, c)]
    if c.gain:
        return [Tradeoff("faster", True, c)]
    if c.loss:
        return [Tradeoff("slower", False, c)]
    return [Tradeoff("unsettled" if c.settle_runs is not None else "no-gain", False, c)]


def _problem_points(s: StrategySummary) -> list[Tradeoff]:
    found = []
    if s.new_failures:
        found.append(Tradeoff("new-failures", False, count=len(s.new_failures)))
    if s.unstable:
        found.append(Tradeoff("unstable", False, count=s.unstable))
    if not s.all_passed:
        found.append(Tradeoff("not-passed", False, fact=s.status))
    warnings = s.outcome.warnings if s.outcome else 0
    if s.before_warnings is not None and warnings > s.before_warnings:
        found.append(Tradeoff("more-warnings", False, count=warnings, other=s.before_warnings))
    found += [Tradeoff("budget-broken", False, fact=b.key) for b in s.budgets if b.broken]
    return found
