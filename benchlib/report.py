"""Render a Summary as the report a person would write (Markdown), as JSON, and as a table."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from benchlib import results, stats
from benchlib.judge import BudgetResult, Judgement, NoiseWarning
from benchlib.summary import (
    TIMES,
    Comparison,
    Profile,
    RunRef,
    SlowTest,
    StrategySummary,
    Summary,
    UnstableTest,
)

if TYPE_CHECKING:  # compare renders nothing itself, so report needs only its types
    from benchlib.compare import Gate, GateRow

SUMMARY_FORMAT = "benchlib-summary"
# Bump when a field of summary.json changes meaning or goes away.
SUMMARY_VERSION = 1
METHOD_NOTE = (
    f"speedup = base median / current median; interval: {stats.METHOD}; differences under "
    "the base's A/A noise floor are not significant"
)
RSS_NOTE = "summed over the process tree; shared pages counted once per process"


def write_outputs(summary: Summary, out_dir: Path) -> list[Path]:
    """Write summary.md and summary.json; append the Markdown to $GITHUB_STEP_SUMMARY if set."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(summary)
    written = [out_dir / "summary.md", out_dir / "summary.json"]
    results.write_atomic(written[0], markdown)
    results.write_atomic(written[1], render_json(summary))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        # GitHub collects every step's additions to this file, so append, never replace.
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(markdown + "\n")
        written.append(Path(step_summary))
    return written


def render_json(summary: Summary) -> str:
    """Return the summary's facts as JSON, for tools."""
    data = {"format": SUMMARY_FORMAT, "version": SUMMARY_VERSION, **dataclasses.asdict(summary)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- wording -------------------------------------------------------------------------------


def seconds(value: float) -> str:
    return f"{value:.2f}s"


def delta_words(c: Comparison | Judgement) -> str:
    """Say a before/after delta as the report does: `-101.71s (~46.96% faster)`."""
    if c.delta_s is None or c.change_pct is None:
        return "n/a"
    word = "faster" if c.change_pct >= 0 else "slower"
    return f"{c.delta_s:+.2f}s (~{abs(c.change_pct):.2f}% {word})"


def speedup_words(c: Comparison) -> str:
    """Say the speedup with its evidence: `1.89× faster (95% CI 1.81–1.97, 5 runs each)`."""
    if c.speedup is None:
        return "n/a"
    factor = (
        f"{c.speedup:.2f}{TIMES} faster" if c.speedup >= 1 else f"{1 / c.speedup:.2f}{TIMES} slower"
    )
    runs = (
        f"{c.n_before} runs each"
        if c.n_before == c.n_after
        else f"{c.n_before} and {c.n_after} runs"
    )
    if c.ci_low is not None and c.ci_high is not None:
        evidence = f"95% CI {c.ci_low:.2f}\N{EN DASH}{c.ci_high:.2f}, {runs}"
        if c.verdict == "no significant difference":
            evidence += ": no significant difference"
    elif c.n_before == 1 and c.n_after == 1:
        evidence = "single run each"
    elif c.verdict == "single run":
        evidence = f"{c.n_before} and {c.n_after} runs; a single run gives no interval"
    else:
        evidence = f"{runs}, too few for a 95% interval"
    return f"{factor} ({evidence})"


def wall_words(s: StrategySummary) -> str:
    if s.wall is None:
        return "no completed run"
    if s.wall.runs == 1:
        return f"`{seconds(s.wall.median_s)}` (single run)"
    return (
        f"`{seconds(s.wall.median_s)}` median of {s.wall.runs} runs "
        f"({seconds(s.wall.min_s)}\N{EN DASH}{seconds(s.wall.max_s)})"
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def resources_words(s: StrategySummary) -> str:
    """Say CPU, utilization, peak RSS and workers in one line."""
    parts = []
    if s.cpu_s is not None:
        parts.append(f"CPU {seconds(s.cpu_s)} user+system ({s.cpu_source})")
    if s.utilization is not None:
        parts.append(f"utilization {s.utilization:.1%} of the usable CPUs")
    if s.peak_rss_bytes is not None:
        parts.append(f"peak RSS {_mib(s.peak_rss_bytes)} ({RSS_NOTE})")
    workers = "serial" if s.workers == 0 else f"{s.workers} requested"
    parts.append(f"workers: {workers}, {s.workers_observed} seen")
    return "; ".join(parts)


def _link(path: str) -> str:
    return f"[{path}]({path.replace(' ', '%20')})"


def _first_line(text: str | None) -> str:
    return (text or "").splitlines()[0] if text else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# --- Markdown ------------------------------------------------------------------------------


def render_markdown(summary: Summary) -> str:
    """Return the report: objective, baseline, strategies, gate, instability, profile, advice."""
    sections = [
        _head(summary),
        _machines(summary),
        _baseline(summary),
        *(_strategy(summary, i, s) for i, s in enumerate(_lanes(summary), start=1)),
        _gate(summary),
        _instability(summary),
        _profile(summary.profile, summary),
        _recommendations(summary),
        _missing(summary),
        _skipped(summary),
        _evidence(summary),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


def _lanes(summary: Summary) -> list[StrategySummary]:
    return [s for s in summary.strategies if s.name != summary.baseline]


def _head(summary: Summary) -> str:
    names = ", ".join(f"`{s.name}`" for s in _lanes(summary)) or "none besides the baseline"
    base = f"`{summary.baseline}`" if summary.baseline else "a full-scope baseline (none ran)"
    return (
        "# Pytest Acceleration Benchmark\n\n"
        f"Date: {summary.date or 'no runs'}\n\n"
        "## Objective\n\n"
        f"Measure pytest acceleration strategies ({names}) against {base}, and choose a fast "
        "lane for local iteration and a lane for the full quality gate."
    )


def _machines(summary: Summary) -> str:
    if len(summary.machines) < 2:
        if summary.machines:
            m = summary.machines[0]
            return f"Machine: {m.description}."
        return ""
    lines = [
        "## Machines",
        "",
        f"**Warning:** these results come from {len(summary.machines)} machines whose "
        "fingerprints differ; timings are compared only within one machine, and deltas that "
        "cross machines are marked.",
        "",
    ]
    lines += [
        f"- Machine {m.label}: {m.description} ({m.runs} runs; hosts: {', '.join(m.hostnames)})"
        for m in summary.machines
    ]
    return "\n".join(lines)


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
        f"- Strategy: `{s.name}`" + (f" ({s.description})" if s.description else ""),
        f"- Command: `{s.command}`",
        f"- Status: {s.status}",
        f"- Result: `{s.outcome_text}`",
        f"- Wall clock: {wall_words(s)}",
        f"- Resources: {resources_words(s)}",
    ]
    if s.log_path:
        lines.append(f"- Log: {_link(s.log_path)}")
    return "\n".join(lines)


def _strategy(summary: Summary, number: int, s: StrategySummary) -> str:
    title = f"## Strategy {number}: `{s.name}`" + (f" ({s.description})" if s.description else "")
    lines = [title, "", "Command:", "", "```bash", s.command, "```", "", f"Status: {s.status}"]
    lines += ["", "Before/After:", "", *_before_after(s), "", "Observed output:", ""]
    lines.append(f"- `{s.outcome_text}`" + (" (representative run)" if s.runs > 1 else ""))
    lines.append(f"- {resources_words(s)}")
    if s.coverage is not None:
        g = s.coverage
        dirs = ", ".join(f"`{d}` ({n})" for d, n in g.directories) or "none"
        lines += [
            "",
            "Coverage given up:",
            "",
            f"- {g.not_run} of the baseline's {g.baseline_tests} tests not run "
            f"({g.share_of_time:.1%} of its test time, {seconds(g.not_run_s)}), from: {dirs}",
        ]
    if s.new_failures:
        lines += ["", "New failures (failed or errored here, never in the baseline):", ""]
        lines += [f"- `{n}`" for n in s.new_failures]
    lines += ["", "Tradeoffs:", ""]
    lines.append("- Pros: " + ("; ".join(s.pros) + "." if s.pros else "none measured."))
    lines.append("- Cons: " + ("; ".join(s.cons) + "." if s.cons else "none measured."))
    return "\n".join(lines)


def _before_after(s: StrategySummary) -> list[str]:
    c = s.comparison
    if c is None:
        return ["- No `compare_to`: nothing to compare against."]
    if c.before_s is None or c.after_s is None:
        return [f"- Not compared: {c.note}."]
    lines = [
        f"- Before: `{seconds(c.before_s)}` wall (`{c.before}`)",
        f"- After: `{seconds(c.after_s)}` wall",
        f"- Delta: {delta_words(c)}",
        f"- Speedup: {speedup_words(c)}",
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
        lines.append(f"- `{s.name}`: {s.status}; result `{s.outcome_text}`; wall {wall_words(s)}")
        if s.log_path:
            lines.append(f"  - Log: {_link(s.log_path)}")
        for run in (r for r in summary.runs if r.strategy == s.name and r.status != "passed"):
            lines += _failed_run(run)
    return "\n".join(lines)


def _failed_run(run: RunRef) -> list[str]:
    why = f" ({run.message})" if run.message else ""
    lines = [f"  - Run not passed: {_link(run.log_path)}: {run.status}{why}, `{run.outcome_text}`"]
    for t in run.failures:
        where = f" in {t.phase}" if t.phase else ""
        lines.append(f"    - `{t.nodeid}` {t.outcome}{where}: {_first_line(t.message)}")
    if run.failures_total > len(run.failures):
        lines.append(f"    - and {run.failures_total - len(run.failures)} more")
    return lines


def _instability(summary: Summary) -> str:
    lines = ["## Instability", ""]
    if not summary.instability:
        lines.append("No test ended differently between strategies or between runs.")
        return "\n".join(lines)
    lines += [
        "Tests whose outcome differs between strategies or between runs of one strategy:",
        "",
        "| Test | Phase | Outcomes | First line of the error |",
        "|---|---|---|---|",
    ]
    lines += [_unstable_row(u) for u in summary.instability]
    flaky = [u for u in summary.instability if u.flaky]
    if flaky:
        lines += ["", "Flaky (outcome changed between runs of one strategy):", ""]
        for u in flaky:
            for seen in (x for x in u.seen if x.flips):
                runs = sum(n for _, n in seen.outcomes)
                tally = ", ".join(f"{n} {o}" for o, n in seen.outcomes)
                phases = ", ".join(u.phases) or "unknown phase"
                lines.append(
                    f"- `{u.nodeid}` under `{seen.strategy}`: {seen.flips} flips over {runs} "
                    f"runs ({tally}); phases: {phases}"
                )
    return "\n".join(lines)


def _unstable_row(u: UnstableTest) -> str:
    outcomes = "; ".join(
        f"`{s.strategy}`: " + ", ".join(f"{n} {o}" for o, n in s.outcomes) for s in u.seen
    )
    return (
        f"| `{_cell(u.nodeid)}` | {', '.join(u.phases) or '-'} | {_cell(outcomes)} "
        f"| {_cell(_first_line(u.message)) or '-'} |"
    )


def _profile(p: Profile | None, summary: Summary) -> str:
    if p is None:
        return ""
    lines = [
        "## Runtime Profile (baseline)",
        "",
        f"From run `{p.run_id}` of `{p.strategy}`: {p.tests} tests, "
        f"{seconds(p.total_s)} of test time.",
    ]
    if p.tests:
        for phase, slow in (
            ("setup", p.slowest_setup),
            ("call", p.slowest_call),
            ("teardown", p.slowest_teardown),
        ):
            lines += ["", f"Slowest in {phase}:", "", *_slow_table(slow)]
        lines += ["", "Time by top-level directory:", "", "| Directory | Tests | Time | Share |"]
        lines.append("|---|---:|---:|---:|")
        lines += [
            f"| `{d.directory}` | {d.tests} | {seconds(d.seconds)} | {d.share:.1%} |"
            for d in p.directories
        ]
    lines += ["", *_warnings_table(summary)]
    return "\n".join(lines)


def _slow_table(slow: tuple[SlowTest, ...]) -> list[str]:
    if not slow:
        return ["None over 0s."]
    rows = ["| Time | Test |", "|---:|---|"]
    return rows + [f"| {seconds(t.seconds)} | `{_cell(t.nodeid)}` |" for t in slow]


def _warnings_table(summary: Summary) -> list[str]:
    shown = [s for s in summary.strategies if s.warning_categories]
    if not shown:
        return ["Warnings by category: none recorded."]
    categories = sorted({c for s in shown for c, _ in s.warning_categories})
    head = "| Category | " + " | ".join(f"`{s.name}`" for s in shown) + " |"
    rows = ["Warnings by category (representative run of each strategy):", "", head]
    rows.append("|---|" + "---:|" * len(shown))
    for cat in categories:
        counts = [str(dict(s.warning_categories).get(cat, 0)) for s in shown]
        rows.append(f"| `{cat}` | " + " | ".join(counts) + " |")
    return rows


def _recommendations(summary: Summary) -> str:
    lines = ["## Summary Recommendation", ""]
    lines += [f"{i}. {r.text}" for i, r in enumerate(summary.recommendations, start=1)]
    return "\n".join(lines)


def _missing(summary: Summary) -> str:
    if not summary.missing:
        return ""
    lines = ["## Missing Strategies", ""]
    for name in summary.missing:
        users = ", ".join(f"`{s.name}`" for s in summary.strategies if s.compare_to == name)
        lines.append(f"- `{name}`: no results, though {users} compare to it.")
    return "\n".join(lines)


def _skipped(summary: Summary) -> str:
    if not summary.skipped:
        return ""
    lines = ["## Skipped Files", ""]
    lines += [f"- `{s.path}`: {s.reason}" for s in summary.skipped]
    return "\n".join(lines)


def _evidence(summary: Summary) -> str:
    lines = ["## Experiment Evidence", ""]
    if not summary.runs:
        return "\n".join([*lines, "No result files were found."])
    for r in summary.runs:
        warmup = ", warm-up (left out of statistics)" if r.warmup else ""
        machine = f", machine {r.machine}" if len(summary.machines) > 1 else ""
        lines.append(
            f"- {_link(r.log_path)}: `{r.strategy}` round {r.round}, {r.status}, "
            f"{seconds(r.wall_s)}, `{r.outcome_text}`{machine}{warmup}"
        )
    return "\n".join(lines)


# --- terminal ------------------------------------------------------------------------------


def render_table(summary: Summary) -> str:
    """Return a compact table for the terminal, one line per strategy."""
    header = ("strategy", "scope", "status", "wall", "vs", "delta", "speedup")
    rows = [header]
    for s in summary.strategies:
        c = s.comparison
        compared = c is not None and c.delta_s is not None
        rows.append(
            (
                s.name,
                s.scope,
                s.status,
                seconds(s.wall.median_s) if s.wall else "-",
                c.before if c else "-",
                (delta_words(c) + (" [machines differ]" if c.machines_differ else ""))
                if c is not None and compared
                else (c.verdict if c else "-"),
                f"{c.speedup:.2f}{TIMES}" if c is not None and c.speedup is not None else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"skipped {s.path}: {s.reason}" for s in summary.skipped]
    lines += [f"missing strategy {name}" for name in summary.missing]
    return "\n".join(lines) + "\n"


# --- one wording of a judgement, for every renderer ----------------------------------------


def factor_words(speedup: float) -> str:
    """Say a speed-up (before / after) the one way: `1.89× faster`, `1.07× slower`."""
    if speedup >= 1:
        return f"{speedup:.2f}{TIMES} faster"
    return f"{1 / speedup:.2f}{TIMES} slower"


def _runs_words(j: Judgement) -> str:
    if j.n_before == j.n_after:
        return f"{j.n_before} runs each" if j.n_before != 1 else "a single run each"
    return f"{j.n_before} and {j.n_after} runs"


def _interval_words(j: Judgement) -> str:
    assert j.ci_low is not None and j.ci_high is not None and j.speedup is not None
    # Said in the factor's own direction: a slowdown's interval as slowdowns.
    low, high = (j.ci_low, j.ci_high) if j.speedup >= 1 else (1 / j.ci_high, 1 / j.ci_low)
    return f"95% CI {low:.2f}\N{EN DASH}{high:.2f}"


def verdict_words(j: Judgement) -> str:
    """Say a judgement as every report says it: Markdown, JSON's `verdict_text`, terminal, gate."""
    if j.word == "not compared" or j.speedup is None:
        return f"not compared: {j.note}"
    factor = factor_words(j.speedup)
    settle = f"{j.settle_runs} runs a side would settle it"
    if j.word in ("faster", "slower"):
        return f"{factor} ({_interval_words(j)}, {_runs_words(j)})"
    if j.word == "single run":
        return f"{factor} on {_runs_words(j)}: not significant; {settle}"
    if j.ci_low is None:
        return (
            f"no significant difference ({factor} by median; {_runs_words(j)} are too few "
            f"for a 95% interval; {settle})"
        )
    floor = (
        f"; under the noise floor of {j.noise_floor:.1%}" if "noise floor" in (j.note or "") else ""
    )
    evidence = f"{_interval_words(j)}, {_runs_words(j)}{floor}"
    return f"no significant difference ({factor} by median; {evidence})"


def noise_words(w: NoiseWarning) -> str:
    if w.kind == "cv":
        return f"coefficient of variation {w.value:.1%} is over {stats.CV_LIMIT:.0%}"
    return f"first run is {w.value:.0%} slower than the rest; consider --warmup 1"


def budget_value(unit: str, value: float) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "bytes":
        return _mib(int(value))
    return f"{value:g}"


# --- the gate ------------------------------------------------------------------------------


def render_gate(g: Gate) -> str:
    """Render the gate's findings as a plain-text table with budgets, warnings, a result line."""
    header = ("strategy", "runs", "base", "current", "delta", "verdict")
    lines = _plain_table([header, *(_gate_row(r, g.threshold) for r in g.rows)])
    lines.append(METHOD_NOTE)
    if g.budgets:
        head = ("budget", "strategy", "limit", "actual", "status")
        lines += ["", *_plain_table([head, *(_budget_row(b) for b in g.budgets)])]
    warnings = [*(f"{n.side} {n.warning.strategy}: {noise_words(n.warning)}" for n in g.noise)]
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
    return (
        b.key,
        b.strategy,
        budget_value(b.unit, b.limit),
        actual,
        "BROKEN" if b.broken else "ok",
    )


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
