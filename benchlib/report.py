"""Every renderer: the Markdown report, summary.json, the terminal table, and the gate's table.

Renderers return strings; write_outputs is the one place that writes files. All of them word a
judgement through wording.verdict_words, so the same pair reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchlib import links, stats
from benchlib.analyze import advice
from benchlib.analyze.advice import Advice
from benchlib.analyze.judge import BudgetResult
from benchlib.analyze.scan import stored
from benchlib.analyze.scan.pick import ScanResult
from benchlib.analyze.summary import StrategySummary, Summary
from benchlib.errors import InputError
from benchlib.explain import reasons
from benchlib.explain.wording import (
    budget_value,
    delta_words,
    noise_words,
    recommendation_words,
    seconds,
    selection_words,
    tradeoff_words,
    verdict_words,
)
from benchlib.model import results
from benchlib.render import markdown
from benchlib.render.composite import check_words

if TYPE_CHECKING:  # compare renders nothing itself, so report needs only its types
    from benchlib.analyze.compare import Gate, GateRow

SUMMARY_FORMAT = "benchlib-summary"
# Bump when a field of summary.json changes meaning or goes away.
# 2: comparisons are judge.Judgement (word, noise_floor, settle_runs, verdict_text);
#    recommendations carry rule data and text; tradeoffs per strategy; noise and budgets.
# 3 (additions only): per strategy "time" (breakdown, bound, late tests), "why" and its
#    "why_text", "hangs" with "text"; instability "kind", "runs" and "fix_text", per strategy
#    "seen" entries "parallel" and "differs"; profile "files". A strategy's "unstable" counts
#    only the tests whose outcome differs under it.
SUMMARY_VERSION = 3
METHOD_NOTE = (
    f"speedup = base median / current median; interval: {stats.METHOD}; differences under "
    "the base's A/A noise floor are not significant"
)


def write_outputs(
    summary: Summary,
    out_dir: Path,
    *,
    scans: Sequence[ScanResult] = (),
    scan_file: ScanResult | None = None,
    note: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write summary.md, summary.json and report.html (and scan.json for scan_file); append
    the Markdown to $GITHUB_STEP_SUMMARY if set.

    Raise InputError if out_dir cannot hold them. The step summary is an extra: when it cannot
    be appended to, note says why (raised as InputError when no note is given).
    """
    from benchlib.render.html import page as htmlreport  # the summary only, never a run

    found = advice.advise(summary)
    text = markdown.render(summary, found, scans)
    written = [out_dir / "summary.md", out_dir / "summary.json", out_dir / "report.html"]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        results.write_atomic(written[0], text)
        results.write_atomic(written[1], render_json(summary, found))
        if scan_file is not None:
            # Before the page, which draws the scan from the file beside the results.
            written.append(out_dir / stored.SCAN_FILE)
            results.write_atomic(written[-1], stored.render(scan_file))
        results.write_atomic(written[2], htmlreport.render(summary, found))
    except OSError as exc:
        raise InputError(
            "out", str(out_dir), f"cannot hold the summary ({exc.strerror or exc})",
            "give a folder you can write",
        ) from None  # fmt: skip
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        page = links.run_page(os.environ)  # relative links cannot resolve on that page
        try:
            append_step_summary(Path(step), links.for_page(text, page) if page else text)
            written.append(Path(step))
        except InputError as exc:
            if note is None:
                raise
            note(f"{exc.message}; the summary is in {out_dir} all the same")
    return written


def append_step_summary(step: Path, text: str) -> None:
    # GitHub collects every step's additions to this file, so append, never replace.
    try:
        with open(step, "a", encoding="utf-8") as f:
            f.write(text + "\n")
    except OSError as exc:
        raise InputError(
            "GITHUB_STEP_SUMMARY", str(step), f"cannot be appended to ({exc.strerror or exc})",
            "point it at a file in an existing folder",
        ) from None  # fmt: skip


def render_markdown(summary: Summary, found: Advice | None = None) -> str:
    """Return the Markdown report (advice computed when not given)."""
    return markdown.render(summary, found or advice.advise(summary))


def render_json(summary: Summary, found: Advice | None = None) -> str:
    """Return the summary's facts and advice as JSON, for tools."""
    found = found or advice.advise(summary)
    data: dict[str, Any] = {
        "format": SUMMARY_FORMAT,
        "version": SUMMARY_VERSION,
        **dataclasses.asdict(summary),
    }
    for s, facts in zip(summary.strategies, data["strategies"], strict=True):
        for key in ("comparison", "vs_baseline"):
            j = getattr(s, key)
            if j is not None:
                facts[key]["verdict_text"] = verdict_words(j)
        facts["tradeoffs"] = [
            {**dataclasses.asdict(t), "text": tradeoff_words(t)} for t in found.tradeoffs[s.name]
        ]
        facts["why_text"] = reasons.strategy_why(s)
        for hang, item in zip(s.hangs, facts["hangs"], strict=True):
            item["text"] = reasons.hang_words(hang)
    for u, item in zip(summary.instability, data["instability"], strict=True):
        item["fix_text"] = reasons.fix_words(u.kind)
    for picture in data["charts"]["pictures"]:
        # A chart's thousands of segments and samples: the result files hold them already.
        del picture["lanes"], picture["resources"]
    _logical_json(summary, data)
    data["recommendations"] = [
        {**dataclasses.asdict(r), "text": recommendation_words(r, summary.baseline)}
        for r in found.recommendations
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _logical_json(summary: Summary, data: dict[str, Any]) -> None:
    """Add what the check's properties say: whether it passed, and how many tests were lost."""
    for run, facts in zip(summary.logical, data["logical"], strict=True):
        facts["check"].update(ok=run.check.ok, lost=run.check.lost)


# --- terminal ------------------------------------------------------------------------------


def render_table(summary: Summary) -> str:
    """Return a compact table for the terminal, one line per strategy, then the warnings."""
    header = ("strategy", "scope", "status", "wall", "vs", "delta", "verdict")
    rows = [header, *(_summary_row(s) for s in summary.strategies)]
    lines = _plain_table(rows)
    if summary.project_warning:
        lines.append(f"WARNING: {summary.project_warning}")
    lines += [f"{w.strategy}: {noise_words(w)}" for s in summary.strategies for w in s.noise]
    lines += [
        f"WARNING: {s.name}: {selection_words(s.selections)}"
        for s in summary.strategies
        if s.selections > 1
    ]
    lines += [_budget_line(b) for s in summary.strategies for b in s.budgets if b.broken]
    lines += [
        f"{run.strategy} round {run.round + 1}: node ids {check_words(run.check, run.kind)}"
        for run in summary.logical
        if not run.check.ok
    ]
    lines += [f"skipped {s.path}: {s.reason}" for s in summary.skipped]
    lines += [f"missing strategy {name}" for name in summary.missing]
    return "\n".join(lines) + "\n"


def _summary_row(s: StrategySummary) -> tuple[str, ...]:
    c = s.comparison
    wall = seconds(s.wall.median_s) if s.wall else "-"
    if c is None:
        return (s.name, s.scope, s.status, wall, "-", "-", "-")
    differ = " [machines differ]" if c.machines_differ else ""
    delta = delta_words(c) + differ if c.delta_s is not None else "-"
    return (s.name, s.scope, s.status, wall, c.before, delta, verdict_words(c))


def _budget_line(b: BudgetResult) -> str:
    return (
        f"{b.strategy}: budget {b.key} broken: {budget_value(b.unit, b.actual)} "
        f"against {budget_value(b.unit, b.limit)}"
    )


# --- the gate ------------------------------------------------------------------------------


def render_gate(g: Gate) -> str:
    """Render the gate's findings as a plain-text table with budgets, warnings, a result line."""
    header = ("strategy", "runs", "base", "current", "delta", "verdict")
    lines = _plain_table([header, *(_gate_row(r, g.threshold) for r in g.rows)])
    lines.append(METHOD_NOTE)
    if g.budgets:
        head = ("budget", "strategy", "limit", "actual", "status")
        lines += ["", *_plain_table([head, *(_budget_row(b) for b in g.budgets)])]
    warnings = [f"{n.side} {n.warning.strategy}: {noise_words(n.warning)}" for n in g.noise]
    warnings += list(g.warnings)
    if warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in warnings)]
    lines += ["", _result_line(g)]
    return "\n".join(lines) + "\n"


def _gate_row(r: GateRow, threshold: float) -> tuple[str, ...]:
    j = r.judgement
    runs = f"{r.base_runs}/{r.current_runs}"
    if j is None:
        return (r.name, runs, "-", "-", "-", f"only in {r.presence.removesuffix(' only')}")
    base = seconds(j.before_s) if j.before_s is not None else "-"
    current = seconds(j.after_s) if j.after_s is not None else "-"
    verdict = verdict_words(j)
    if r.regressed:
        verdict = f"REGRESSION (slower by more than {_percent(threshold)}): {verdict}"
    elif j.word == "slower":
        verdict += f"; within {_percent(threshold)}"
    return (r.name, runs, base, current, delta_words(j), verdict)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _budget_row(b: BudgetResult) -> tuple[str, ...]:
    how = "median" if b.aggregate == "median" else "worst run"
    actual = f"{budget_value(b.unit, b.actual)} ({how} of {b.runs})"
    status = "BROKEN" if b.broken else "ok"
    return (b.key, b.strategy, budget_value(b.unit, b.limit), actual, status)


def _plain_table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _result_line(g: Gate) -> str:
    problems = []
    if g.regressions:
        names = ", ".join(r.name for r in g.regressions)
        problems.append(f"{len(g.regressions)} regression(s): {names}")
    if g.broken_budgets:
        broken = ", ".join(f"{b.strategy} {b.key}" for b in g.broken_budgets)
        problems.append(f"{len(g.broken_budgets)} budget(s) broken: {broken}")
    return "result: " + ("; ".join(problems) if problems else "ok")
