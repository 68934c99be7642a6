"""Render a Summary and its Explanation as the report a person would write, in Markdown.

Everything that comes from the suite (node ids, messages, descriptions, paths) goes through
wording's escapes: a test cannot inject HTML, links or formatting into the report.
"""

from __future__ import annotations

from benchlib.analyze.summary import RunRef, StrategySummary, Summary
from benchlib.explain import reasons
from benchlib.explain.model import Explanation, Finding, Table
from benchlib.explain.wording import (
    RSS_NOTE,
    budget_value,
    code,
    delta_words,
    fence,
    first_line,
    link,
    mib,
    noise_words,
    seconds,
    selection_words,
    text,
    verdict_words,
)
from benchlib.render import mermaid


def render(summary: Summary, e: Explanation) -> str:
    """Return the report: the bottom line, objective, baseline, strategies, gate, instability,
    the explanation's findings, the recommendations, evidence."""
    sections = [
        _head(summary, e),
        _machines(summary),
        mermaid.render(summary),
        _baseline(summary),
        *(_strategy(i, s, e) for i, s in enumerate(_lanes(summary), start=1)),
        _gate(summary),
        reasons.instability_section(summary),
        *(finding(f) for f in e.findings),
        _recommendations(e),
        _missing(summary),
        _skipped(summary),
        _evidence(summary),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


def finding(f: Finding) -> str:
    """Lay out one finding of the explanation as a section."""
    lines = [f"## {f.title}"]
    for b in f.blocks:
        lines.append("")
        if b.kind == "heading":
            lines.append(f"### {b.text}")
        elif b.kind == "list":
            lines += [f"- {item}" for item in b.items]
        elif b.kind == "table" and b.table is not None:
            lines += _table(b.table)
        else:
            lines.append(b.text)
    return "\n".join(lines)


def _table(t: Table) -> list[str]:
    align = [("---:" if n else "---") for n in t.numeric] or ["---"] * len(t.head)
    return [
        "| " + " | ".join(t.head) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(row) + " |" for row in t.rows),
    ]


def _lanes(summary: Summary) -> list[StrategySummary]:
    return [s for s in summary.strategies if s.name != summary.baseline]


def _titled(s: StrategySummary) -> str:
    return code(s.name) + (f" ({text(s.description)})" if s.description else "")


def _head(summary: Summary, e: Explanation) -> str:
    names = ", ".join(code(s.name) for s in _lanes(summary)) or "none besides the baseline"
    base = code(summary.baseline) if summary.baseline else "a full-scope baseline (none ran)"
    warning = (
        f"\n\n**Warning:** {text(summary.project_warning)}." if summary.project_warning else ""
    )
    return (
        "# Pytest Acceleration Benchmark\n\n"
        f"**Bottom line:** {e.bottom_line}\n\n"
        f"Date: {summary.date or 'no runs'}\n\n"
        "## Objective\n\n"
        f"Measure pytest acceleration strategies ({names}) against {base}, and choose a fast "
        f"lane for local iteration and a lane for the full quality gate.{warning}"
    )


def _machines(summary: Summary) -> str:
    if len(summary.machines) < 2:
        return f"Machine: {text(summary.machines[0].description)}." if summary.machines else ""
    lines = [
        "## Machines",
        "",
        f"**Warning:** these results come from {len(summary.machines)} machines whose "
        "fingerprints differ; timings are compared only within one machine, and deltas that "
        "cross machines are marked.",
        "",
    ]
    lines += [
        f"- Machine {m.label}: {text(m.description)} ({m.runs} runs; hosts: "
        f"{text(', '.join(m.hostnames))})"
        for m in summary.machines
    ]
    return "\n".join(lines)


def _resources(s: StrategySummary) -> str:
    """Say CPU, utilization, peak RSS and workers in one line."""
    parts = []
    if s.cpu_s is not None:
        parts.append(f"CPU {seconds(s.cpu_s)} user+system ({s.cpu_source})")
    if s.utilization is not None:
        parts.append(f"utilization {s.utilization:.1%} of the usable CPUs")
    if s.peak_rss_bytes is not None:
        parts.append(f"peak RSS {mib(s.peak_rss_bytes)} ({RSS_NOTE})")
    workers = "serial" if s.workers == 0 else f"{s.workers} requested"
    parts.append(f"workers: {workers}, {s.workers_observed} seen")
    return "; ".join(parts)


def wall_words(s: StrategySummary) -> str:
    if s.wall is None:
        return "no completed run"
    if s.wall.runs == 1:
        return f"`{seconds(s.wall.median_s)}` (single run)"
    return (
        f"`{seconds(s.wall.median_s)}` median of {s.wall.runs} runs "
        f"({seconds(s.wall.min_s)}\N{EN DASH}{seconds(s.wall.max_s)})"
    )


def _baseline(summary: Summary) -> str:
    if summary.baseline is None:
        return (
            "## Baseline (Before)\n\nNo full-scope baseline ran "
            "(a strategy with scope `full` and no `compare_to`), so no lane can be judged."
        )
    s = summary.strategy(summary.baseline)
    lines = [
        "## Baseline (Before)",
        "",
        f"- Strategy: {_titled(s)}",
        f"- Command: {code(s.command)}",
        f"- Status: {s.status}",
        f"- Result: {code(s.outcome_text)}",
        f"- Wall clock: {wall_words(s)}",
        f"- Resources: {_resources(s)}",
        *_checks(s),
        *reasons.hang_lines(s),
    ]
    if s.log_path:
        lines.append(f"- Log: {link(s.log_path)}")
    return "\n".join(lines)


def _checks(s: StrategySummary) -> list[str]:
    """Noise warnings and budget checks, as list items."""
    lines = [f"- **Noise:** {noise_words(w)}" for w in s.noise]
    if s.selections > 1:
        lines.append(f"- **Warning:** {selection_words(s.selections)}")
    for b in s.budgets:
        state = "**BROKEN**" if b.broken else "kept"
        how = "median" if b.aggregate == "median" else "worst run"
        lines.append(
            f"- Budget {code(b.key)}: {budget_value(b.unit, b.actual)} ({how} of {b.runs}) "
            f"against {budget_value(b.unit, b.limit)}: {state}"
        )
    return lines


def _strategy(number: int, s: StrategySummary, e: Explanation) -> str:
    lines = [f"## Strategy {number}: {_titled(s)}", "", "Command:", ""]
    lines += [*fence(s.command, "bash"), "", f"Status: {s.status}"]
    if s.hangs:
        lines += ["", *reasons.hang_lines(s)]
    why = e.why(s.name)
    if why:
        lines += ["", f"Why: {why}"]
    lines += ["", "Before/After:", "", *_before_after(s), "", "Observed output:", ""]
    lines.append(f"- {code(s.outcome_text)}" + (" (representative run)" if s.runs > 1 else ""))
    lines += [f"- {_resources(s)}", *_checks(s)]
    if s.coverage is not None:
        g = s.coverage
        dirs = ", ".join(f"{code(d)} ({n})" for d, n in g.directories) or "none"
        lines += [
            "",
            "Coverage given up:",
            "",
            f"- {g.not_run} of the baseline's {g.baseline_tests} tests not run "
            f"({g.share_of_time:.1%} of its test time, {seconds(g.not_run_s)}), from: {dirs}",
        ]
    if s.new_failures:
        lines += ["", "New failures (failed or errored here, never in the baseline):", ""]
        lines += [f"- {code(n)}" for n in s.new_failures]
    pros, cons = e.pros_cons(s.name)
    lines += ["", "Tradeoffs:", ""]
    lines.append("- Pros: " + ("; ".join(pros) + "." if pros else "none measured."))
    lines.append("- Cons: " + ("; ".join(cons) + "." if cons else "none measured."))
    return "\n".join(lines)


def _before_after(s: StrategySummary) -> list[str]:
    c = s.comparison
    if c is None:
        return ["- No `compare_to`: nothing to compare against."]
    if c.before_s is None or c.after_s is None:
        return [f"- Not compared: {c.note}."]
    lines = [
        f"- Before: `{seconds(c.before_s)}` wall ({code(c.before)})",
        f"- After: `{seconds(c.after_s)}` wall",
        f"- Delta: {delta_words(c)}",
        f"- Speedup: {verdict_words(c)}",
        f"- Verdict: {c.word}",
    ]
    if c.machines_differ:
        lines.append(f"- **Not comparable:** {c.note}.")
    elif c.note:
        lines.append(f"- Note: {c.note}.")
    return lines


def _gate(summary: Summary) -> str:
    full = [s for s in _lanes(summary) if s.scope == "full"]
    lines = ["## Full Quality-Gate Check", ""]
    if not full:
        lines.append("No full-scope lane besides the baseline was run.")
        return "\n".join(lines)
    for s in full:
        result = code(s.outcome_text)
        lines.append(f"- {code(s.name)}: {s.status}; result {result}; wall {wall_words(s)}")
        if s.log_path:
            lines.append(f"  - Log: {link(s.log_path)}")
        for run in (r for r in summary.runs if r.strategy == s.name and r.status != "passed"):
            lines += _failed_run(run)
    return "\n".join(lines)


def _failed_run(run: RunRef) -> list[str]:
    why = f" ({text(run.message)})" if run.message else ""
    lines = [
        f"  - Run not passed: {link(run.log_path)}: {run.status}{why}, {code(run.outcome_text)}"
    ]
    for t in run.failures:
        where = f" in {t.phase}" if t.phase else ""
        lines.append(f"    - {code(t.nodeid)} {t.outcome}{where}: {text(first_line(t.message))}")
    if run.failures_total > len(run.failures):
        lines.append(f"    - and {run.failures_total - len(run.failures)} more")
    return lines


def _recommendations(e: Explanation) -> str:
    lines = ["## Summary Recommendation", ""]
    lines += [f"{i}. {r.text}" for i, r in enumerate(e.recommendations, start=1)]
    return "\n".join(lines)


def _missing(summary: Summary) -> str:
    if not summary.missing:
        return ""
    lines = ["## Missing Strategies", ""]
    for name in summary.missing:
        users = ", ".join(code(s.name) for s in summary.strategies if s.compare_to == name)
        lines.append(f"- {code(name)}: no results, though {users} compare to it.")
    return "\n".join(lines)


def _skipped(summary: Summary) -> str:
    if not summary.skipped:
        return ""
    lines = ["## Skipped Files", ""]
    lines += [f"- {code(s.path)}: {text(s.reason)}" for s in summary.skipped]
    return "\n".join(lines)


def _evidence(summary: Summary) -> str:
    lines = ["## Experiment Evidence", ""]
    if not summary.runs:
        return "\n".join([*lines, "No result files were found."])
    for r in summary.runs:
        warmup = ", warm-up (left out of statistics)" if r.warmup else ""
        machine = f", machine {r.machine}" if len(summary.machines) > 1 else ""
        # Rounds are recorded from 0 and shown from 1, as progress shows them while running.
        lines.append(
            f"- {link(r.log_path)}: {code(r.strategy)} round {r.round + 1}, {r.status}, "
            f"{seconds(r.wall_s)}, {code(r.outcome_text)}{machine}{warmup}"
        )
    return "\n".join(lines)
