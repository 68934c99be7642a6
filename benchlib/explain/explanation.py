"""Build the explanation of a summary: one decision for each thing any output says.

The recommendations are advice's rules, worded once; a scan's pick replaces the lane advice for
the strategies it scanned, so no output says "keep" beside a scan recommending more workers.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchlib.analyze import advice
from benchlib.analyze.judge import Judgement
from benchlib.analyze.scan.pick import ScanResult
from benchlib.analyze.summary import StrategySummary, Summary
from benchlib.explain import reasons
from benchlib.explain.findings import build as build_findings
from benchlib.explain.model import Block, Explanation, Finding, Said, Table, Verdict, plain
from benchlib.explain.scaling import choice_words
from benchlib.explain.wording import (
    code,
    delta_words,
    factor_words,
    recommendation_words,
    tradeoff_words,
    verdict_words,
)

__all__ = [
    "Block", "Explanation", "Finding", "Said", "Table", "Verdict", "build", "plain",
]  # fmt: skip
ROLES = {"local": "for local iteration", "gate": "as the quality gate"}


def build(summary: Summary, scans: Sequence[ScanResult] = ()) -> Explanation:
    """Return what every output says about summary and the scans analysed with it."""
    found = advice.advise(summary)
    picks = _picks(scans)
    recs = tuple(_said(r, summary, scans) for r in found.recommendations)
    return Explanation(
        bottom_line=bottom_line(summary, recs),
        verdicts=tuple(v for s in summary.strategies for v in _verdicts(s)),
        whys=tuple(
            Said("why", s.name, w) for s in summary.strategies if (w := reasons.strategy_why(s))
        ),
        recommendations=recs,
        scan_picks=picks,
        findings=build_findings(summary, scans),
        labels=tuple((s.name, chart_label(s, summary.baseline)) for s in summary.strategies),
        tradeoffs=tuple(
            Said("pro" if t.pro else "con", name, tradeoff_words(t))
            for name, points in found.tradeoffs.items()
            for t in points
        ),
    )


def ratio_words(j: Judgement) -> str:
    """Say a verdict in a few words that name its reference: `1.78× slower than `unit``."""
    against = code(j.before)
    if j.word == "not compared" or j.speedup is None:
        return f"not compared with {against}"
    if j.word in ("faster", "slower"):
        return f"{factor_words(j.speedup)} than {against}"
    if j.word == "single run":
        return f"{factor_words(j.speedup)} than {against}, single run"
    return f"no significant difference from {against}"


def chart_label(s: StrategySummary, baseline: str | None) -> str:
    """Say a strategy against the baseline in the few words a chart's row has room for."""
    j = s.vs_baseline
    if s.name == baseline or j is None:
        return "baseline" if s.name == baseline else ""
    if j.word == "no significant difference":
        return f"\N{ALMOST EQUAL TO} {code(j.before)}, not significant"
    return ratio_words(j)


def _verdicts(s: StrategySummary) -> list[Verdict]:
    found = [j for j in (s.comparison, s.vs_baseline) if j is not None]
    unique = list({j.before: j for j in found}.values())
    return [
        Verdict(
            strategy=s.name,
            against=j.before,
            word=j.word,
            ratio=ratio_words(j),
            text=verdict_words(j),
            delta=delta_words(j),
            significant=j.word in ("faster", "slower"),
        )
        for j in unique
    ]


def _picks(scans: Sequence[ScanResult]) -> tuple[Said, ...]:
    return tuple(
        Said("scan", s.recommended.point.variant, choice_words(s.recommended, s.configured, code))
        for s in scans
        if s.recommended is not None
    )


def _said(r: advice.Recommendation, summary: Summary, scans: Sequence[ScanResult]) -> Said:
    """Word a recommendation; a lane of a scanned strategy is the scan's pick."""
    if r.rule in ROLES and r.strategy is not None:
        for s in scans:
            c = s.recommended
            if c is None or r.strategy not in {s.strategy, *(p.variant for p in s.points)}:
                continue
            picked = c.point.variant
            # The scanned strategy as configured is its configured variant: the same lane.
            if r.strategy == picked or (r.strategy == s.strategy and picked == s.configured):
                continue
            return Said(
                r.rule, picked,
                f"Use {code(picked)} {ROLES[r.rule]}, as the scan of {code(s.strategy)} "
                f"found: {choice_words(c, s.configured, code)}",
            )  # fmt: skip
    return Said(r.rule, r.strategy, recommendation_words(r, summary.baseline))


def bottom_line(summary: Summary, recs: Sequence[Said]) -> str:
    """Say in one sentence what to use on this machine, or why nothing can be said."""
    if not summary.runs:
        return "Nothing can be said: no result file was read."
    roles = {r.kind: r.strategy for r in recs if r.kind in ROLES}
    local, gate = roles.get("local"), roles.get("gate")
    if summary.baseline is None or local is None or gate is None:
        return (
            "Nothing can be recommended yet: no full-scope baseline ran "
            "(a strategy with scope `full` and no `compare_to`)."
        )
    if local == gate == summary.baseline:
        return (
            f"On this machine, keep {code(gate)} for local iteration and as the quality gate: "
            "no other lane is significantly faster."
        )
    if local == gate:
        return f"On this machine, use {code(local)} for local iteration and as the quality gate."
    keep = "keep" if gate == summary.baseline else "use"
    return (
        f"On this machine, use {code(local)} for local iteration and {keep} {code(gate)} "
        "as the quality gate."
    )
