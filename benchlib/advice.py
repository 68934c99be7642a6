"""What to recommend, by stated rules over the summary's facts. Data only; report.py words it.

A lane is recommended only on judge's verdict "faster" (significant, beyond the baseline's noise
floor, on comparable hardware). "No significant difference" is never a gain, "slower" is said
to be slower, and a single run or too few runs say how many repeats would settle them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib.judge import Judgement
from benchlib.pertest import CoverageGap
from benchlib.summary import StrategySummary, Summary

Rule = Literal[
    "baseline",  # no baseline ran: nothing can be recommended
    "local",  # the lane for local iteration (the baseline when none is faster)
    "gate",  # the lane for the full quality gate (the baseline when none is faster)
    "slower",  # a lane significantly slower than what it replaces
    "no-gain",  # no significant difference: not worth a lane
    "unsettled",  # a single run, or too few runs for an interval: say how many would settle it
    "instability",
    "machines",
    "projects",
    "budget",  # a recorded budget is broken
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
class Recommendation:
    rule: Rule
    strategy: str | None
    judgement: Judgement | None = None  # the comparison it rests on
    coverage: CoverageGap | None = None  # what a recommended subset lane leaves out
    count: int = 0  # unstable tests, machines, projects
    example: str | None = None  # the first unstable test, or the broken budget's key


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
    gains = [s for s in lanes if s.vs_baseline is not None and s.vs_baseline.gain]
    gains = [s for s in gains if not s.new_failures]
    recs = [_best("local", gains, baseline), _best("gate", _full(gains), baseline)]
    recs += [r for s in lanes if (r := _lane_warning(s)) is not None]
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


def _full(lanes: Sequence[StrategySummary]) -> list[StrategySummary]:
    return [s for s in lanes if s.scope == "full"]


def _best(rule: Rule, gains: Sequence[StrategySummary], baseline: str) -> Recommendation:
    """Recommend the fastest significant gain, else keep the baseline."""
    if not gains:
        return Recommendation(rule, baseline)
    best = min(gains, key=lambda s: s.wall.median_s if s.wall else float("inf"))
    coverage = best.coverage if best.scope == "subset" else None
    return Recommendation(rule, best.name, best.vs_baseline, coverage)


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
