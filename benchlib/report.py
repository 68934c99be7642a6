"""Every renderer: the Markdown report, summary.json, the terminal table, and the gate's table.

Renderers return strings; write_outputs is the one place that writes files. All of them word a
judgement through wording.verdict_words, so the same pair reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchlib import stats
from benchlib.analyze import advice, fastlane
from benchlib.analyze.judge import BudgetResult
from benchlib.analyze.resultset import SkippedFile
from benchlib.analyze.scan import stored
from benchlib.analyze.scan.pick import ScanResult
from benchlib.analyze.summary import StrategySummary, Summary
from benchlib.errors import InputError
from benchlib.explain import explanation, fitwords, reasons
from benchlib.explain.composite import check_words
from benchlib.explain.model import Explanation, plain
from benchlib.explain.wording import (
    budget_value,
    busy_runs_words,
    count,
    delta_words,
    finding_words,
    noise_words,
    run_marks,
    seconds,
    selection_words,
    verdict_words,
)
from benchlib.model import results
from benchlib.render import links, markdown

if TYPE_CHECKING:  # compare renders nothing itself, so report needs only its types
    from benchlib.analyze.compare import Gate, GateRow, Lost

SUMMARY_FORMAT = "benchlib-summary"
# Bump when a field of summary.json changes meaning or goes away.
# 2: comparisons are judge.Judgement (word, noise_floor, settle_runs, verdict_text);
#    recommendations carry rule data and text; tradeoffs per strategy; noise and budgets.
# 3 (additions only): per strategy "time" (breakdown, bound, late tests), "why" and its
#    "why_text", "hangs" with "text"; instability "kind", "runs" and "fix_text", per strategy
#    "seen" entries "parallel" and "differs"; profile "files". A strategy's "unstable" counts
#    only the tests whose outcome differs under it.
# 4 (additions only): "bottom_line"; "explanation" (verdicts naming their reference, whys,
#    recommendations, scan picks, findings as blocks, chart labels); comparisons' "ratio_text".
#    Also: "load" (the machine's load over the runs, busy.Finding, with "text"), per run "load",
#    "busy" and "marks_text", per strategy "busy_runs"; noise warnings' "cold";
#    recommendations' "settle" and "load".
SUMMARY_VERSION = 4
METHOD_NOTE = (
    f"speedup = base median / current median; interval: {stats.METHOD}; differences under "
    "the base's A/A noise floor are not significant"
)


def write_outputs(
    summary: Summary,
    e: Explanation,
    out_dir: Path,
    *,
    scan_file: ScanResult | None = None,
    note: Callable[[str], None] | None = None,
    project: fastlane.Findings | None = None,
) -> list[Path]:
    """Write summary.md, summary.json and report.html (and scan.json for scan_file); append
    the Markdown to $GITHUB_STEP_SUMMARY if set.

    Raise InputError if out_dir cannot hold them. The step summary is an extra: when it cannot
    be appended to, note says why (raised as InputError when no note is given).
    """
    from benchlib.render.html import page as htmlreport  # the summary only, never a run

    text = _with_section(markdown.render(summary, e), project)
    written = [out_dir / "summary.md", out_dir / "summary.json", out_dir / "report.html"]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if scan_file is not None:
            # First: a later failure must not leave a report that names a scan with no file.
            written.append(out_dir / stored.SCAN_FILE)
            results.write_atomic(written[-1], stored.render(scan_file))
        results.write_atomic(written[0], text)
        results.write_atomic(written[1], render_json(summary, e, project))
        page = htmlreport.render(summary, e)
        if project is not None:
            page = page.replace("</main>", fitwords.html_section(project) + "</main>", 1)
        results.write_atomic(written[2], page)
    except OSError as exc:
        raise InputError(
            "out", str(out_dir), f"cannot hold the summary ({exc.strerror or exc})",
            "give a folder you can write",
        ) from None  # fmt: skip
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        run = links.run_page(os.environ)  # relative links cannot resolve on that page
        try:
            append_step_summary(Path(step), links.for_page(text, run) if run else text)
            written.append(Path(step))
        except InputError as exc:
            if note is None:
                raise
            note(f"{exc.message}; the summary is in {out_dir} all the same")
    return written


def _with_section(text: str, project: fastlane.Findings | None) -> str:
    """Put the project's section before the report's first section: it says what ran."""
    section = fitwords.markdown(project) if project is not None else ""
    if not section:
        return text
    head, sep, rest = text.partition("\n## ")
    return f"{head}\n{section}\n{sep}{rest}" if sep else f"{text}\n{section}\n"


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


def render_markdown(summary: Summary, e: Explanation | None = None) -> str:
    """Return the Markdown report (explained here when not given)."""
    return markdown.render(summary, e or explanation.build(summary))


def render_json(
    summary: Summary, e: Explanation | None = None, project: fastlane.Findings | None = None
) -> str:
    """Return the summary's facts and their explanation as JSON, for tools."""
    e = e or explanation.build(summary)
    found = advice.advise(summary)  # the rules' data; their words are the explanation's
    data: dict[str, Any] = {
        "format": SUMMARY_FORMAT,
        "version": SUMMARY_VERSION,
        "bottom_line": e.bottom_line,
        **dataclasses.asdict(summary),
    }
    for s, facts in zip(summary.strategies, data["strategies"], strict=True):
        for key in ("comparison", "vs_baseline"):
            j = getattr(s, key)
            if j is not None:
                v = e.verdict(s.name, j.before)
                facts[key]["verdict_text"] = v.text if v else verdict_words(j)
                facts[key]["ratio_text"] = v.ratio if v else ""
        said = [t for t in e.tradeoffs if t.strategy == s.name]
        facts["tradeoffs"] = [
            {**dataclasses.asdict(t), "text": w.text}
            for t, w in zip(found.tradeoffs[s.name], said, strict=True)
        ]
        facts["why_text"] = e.why(s.name)
        for hang, item in zip(s.hangs, facts["hangs"], strict=True):
            item["text"] = reasons.hang_words(hang)
    for u, item in zip(summary.instability, data["instability"], strict=True):
        item["fix_text"] = reasons.fix_words(u.kind)
    for picture in data["charts"]["pictures"]:
        # A chart's thousands of segments and samples: the result files hold them already.
        del picture["lanes"], picture["resources"]
    _logical_json(summary, data)
    data["load"]["text"] = finding_words(summary.load)
    for run, item in zip(summary.runs, data["runs"], strict=True):
        item["marks_text"] = run_marks(run).removeprefix(", ") or None
    if project is not None:
        data["project"] = {**dataclasses.asdict(project), "lines": fitwords.all_lines(project)}
    data["recommendations"] = [
        {**dataclasses.asdict(r), "strategy": w.strategy, "text": w.text}
        for r, w in zip(found.recommendations, e.recommendations, strict=True)
    ]
    data["explanation"] = dataclasses.asdict(e)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _logical_json(summary: Summary, data: dict[str, Any]) -> None:
    """Add what the check's properties say: whether it passed, and how many tests were lost."""
    for run, facts in zip(summary.logical, data["logical"], strict=True):
        facts["check"].update(ok=run.check.ok, lost=run.check.lost)


# --- terminal ------------------------------------------------------------------------------


def render_table(summary: Summary, e: Explanation | None = None) -> str:
    """Return a compact table for the terminal, one line per strategy, the warnings, the hung
    runs with the tests they hung in, then the recommendations and the bottom line."""
    e = e or explanation.build(summary)
    header = ("strategy", "scope", "status", "wall", "vs", "delta", "verdict")
    rows = [header, *(_summary_row(s) for s in summary.strategies)]
    lines = _plain_table(rows)
    if summary.project_warning:
        lines.append(f"WARNING: {summary.project_warning}")
    load = finding_words(summary.load, md=False)
    if load:
        lines.append(f"{'WARNING: ' if summary.load.busy else ''}{load}")
    lines += [
        f"{s.name}: {busy_runs_words(s.busy_runs, s.runs)}"
        for s in summary.strategies
        if s.busy_runs
    ]
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
    if summary.skipped:  # each is named once, in the warnings (skipped_lines) and summary.md
        lines.append(f"{len(summary.skipped)} file(s) skipped: they could not be read")
    lines += [f"missing strategy {name}" for name in summary.missing]
    lines += [f"{f.title.lower()}: {plain(x)}" for f in e.findings for x in f.terminal]
    lines += [f"why: {plain(w.text)}" for w in e.whys]
    lines += ["", "recommendations:"]
    lines += [f"  {i}. {plain(r.text)}" for i, r in enumerate(e.recommendations, start=1)]
    lines += ["", plain(e.bottom_line)]
    return "\n".join(lines) + "\n"


# A folder of thousands of stray files must not bury the report: the first are named, the rest
# counted (the Markdown summary lists them all).
SKIPPED_SHOWN = 10


def skipped_lines(skipped: Sequence[SkippedFile]) -> list[str]:
    """Name each skipped file once, the first SKIPPED_SHOWN of them, then count the rest."""
    lines = [f"skipped {s.path}: {s.reason}" for s in skipped[:SKIPPED_SHOWN]]
    if len(skipped) > SKIPPED_SHOWN:
        lines.append(f"and {len(skipped) - SKIPPED_SHOWN} more files skipped")
    return lines


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
    lost = {x.name: x for x in g.lost}
    lines = _plain_table([header, *(_gate_row(r, g.threshold, lost) for r in g.rows)])
    lines.append(METHOD_NOTE)
    if g.lost:
        lines += ["", "lost on the current side:"]
        lines += [
            f"  - {x.name}{' (allowed missing)' if x.allowed else ''}: {reason}"
            for x in g.lost
            for reason in x.reasons
        ]
    if g.budgets:
        head = ("budget", "strategy", "limit", "actual", "status")
        lines += ["", *_plain_table([head, *(_budget_row(b) for b in g.budgets)])]
    warnings = [f"{n.side} {n.warning.strategy}: {noise_words(n.warning)}" for n in g.noise]
    warnings += list(g.warnings)
    if warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in warnings)]
    lines += ["", _result_line(g)]
    return "\n".join(lines) + "\n"


def _gate_row(r: GateRow, threshold: float, lost: Mapping[str, Lost]) -> tuple[str, ...]:
    j = r.judgement
    runs = f"{r.base_runs}/{r.current_runs}"
    if r.name in lost:
        said = "missing (allowed)" if lost[r.name].allowed else "LOST: no run counts in current"
        return (r.name, runs, "-", "-", "-", said)
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
    if g.failed_lost:
        names = ", ".join(x.name for x in g.failed_lost)
        problems.append(
            f"{len(g.failed_lost)} strategy(ies) lost on the current side: {names} "
            "(--allow-missing NAME if it may be missing)"
        )
    if g.regressions:
        names = ", ".join(r.name for r in g.regressions)
        problems.append(f"{count(len(g.regressions), 'regression')}: {names}")
    if g.broken_budgets:
        broken = ", ".join(f"{b.strategy} {b.key}" for b in g.broken_budgets)
        problems.append(f"{count(len(g.broken_budgets), 'budget')} broken: {broken}")
    return "result: " + ("; ".join(problems) if problems else "ok")
