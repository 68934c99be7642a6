"""Render a scan: the scaling section of summary.md and a table for the terminal.

Renderers return strings (scan.json's shape is scanjson's); report.write_outputs and the command
line write them. Variant names carry suite text (environment values, arguments): Markdown gets them
through wording's escapes. Every simulated number is labelled a prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchlib.analyze.judge import Judgement
from benchlib.analyze.scan.pick import Choice, Curve, Point, ScanResult, Simulation, TimeSplit
from benchlib.explain.wording import RSS_NOTE, cell, code, count, mib, seconds, text, verdict_words

# --- words shared by Markdown and the terminal ----------------------------------------------


def _plain(value: str) -> str:
    return value


def where(p: Point, quote: Callable[[str], str] = _plain) -> str:
    """Say a variant's place on the axes as the options a user would type."""
    how = "serial (-n 0)" if not p.workers else f"-n {p.workers} --dist {p.dist}"
    return quote(how) + (f" with {quote(p.labels)}" if p.labels else "")


def _wall(p: Point) -> str:
    if p.wall_s_median is None:
        return "no run that counts"
    runs = "single run" if p.runs == 1 else f"median of {p.runs} runs"
    return f"{seconds(p.wall_s_median)} ({runs})"


def _interval(p: Point) -> str:
    i = p.interval
    if i is None:
        return "-"
    return f"{seconds(i.low_s)}\N{EN DASH}{seconds(i.high_s)} ({i.coverage:.1%})"


def _against(j: Judgement | None) -> str:
    return "as configured" if j is None else verdict_words(j)


def choice_words(c: Choice, configured: str, quote: Callable[[str], str] = _plain) -> str:
    """Say the recommendation with its evidence and the rule that chose it, in one sentence."""
    p, j = c.point, c.vs_configured
    versus = (
        f"it is the strategy as configured, {_wall(p)}"
        if j is None
        else f"{_wall(p)}; against the strategy as configured ({quote(configured)}): "
        f"{verdict_words(j)}"
    )
    if c.rule == "fastest" or p.variant == c.fastest.variant:
        rule = "the fastest variant that finished and ended its tests as the configured one"
    else:
        rule = (
            f"the fewest workers whose 95% interval against the fastest variant, "
            f"{quote(c.fastest.variant)} at {_wall(c.fastest)}, stays within the noise floor "
            f"({c.noise_floor:.1%})"
        )
    return f"Run {where(p, quote)} ({quote(p.variant)}): {versus}. Rule: {rule}."


def _stops_words(c: Curve) -> str:
    if c.stops_paying is None:
        return (
            "every added worker up to the largest count predicted saves more than the noise floor"
        )
    return (
        f"beyond {c.stops_paying} worker{'s' if c.stops_paying > 1 else ''} each added worker "
        f"saves less than the noise floor ({c.noise_floor:.1%} of the wall, judge's A/A spread "
        "of the configured variant's runs)"
    )


def _se(value: float | None) -> str:
    return f" \N{PLUS-MINUS SIGN} {value:.3f}" if value is not None else ""


def fit_words(c: Curve) -> str:
    f = c.fit
    best = f.best_workers
    lowest = f" It is lowest near {best:.1f} workers." if best is not None else ""
    if len(f.residuals) == 3:  # three counts, three parameters: the curve meets every mean
        lowest += " With three worker counts it passes through their means: misfit cannot show."
    return (
        f"wall(n) = {f.serial_s:.3f}{_se(f.serial_se_s)} + {f.parallel_s:.3f}"
        f"{_se(f.parallel_se_s)} / n + {f.per_worker_s:.3f}{_se(f.per_worker_se_s)} "
        f"\N{MULTIPLICATION SIGN} n seconds, least squares over {f.runs} runs "
        f"(R\N{SUPERSCRIPT TWO} {f.r_squared:.3f}; "
        f"\N{PLUS-MINUS SIGN} one standard error from the residuals).{lowest} "
        f"By the curve, {_stops_words(c)}."
    )


# --- Markdown -------------------------------------------------------------------------------


def section(scans: Sequence[ScanResult]) -> str:
    """Return the scaling sections of summary.md, one per scanned strategy ("" for none)."""
    return "\n\n".join(_scan_section(s) for s in scans)


def _scan_section(s: ScanResult) -> str:
    parts = [
        f"## Scaling: {code(s.strategy)} over workers and --dist modes",
        "",
        f"Machine: {s.cpus} usable CPUs. The strategy as configured is "
        f"{code(s.configured)}; every verdict below is against it. Its pick, with its rule, is "
        "what the recommendations at the end of this report name for this strategy and its "
        "variants.",
        *_mismatch_lines(s),
        "",
        *_points_table(s.points),
        "",
        "Interval: the order-statistic interval of the median wall, with its exact coverage "
        "(5 runs give 93.8%, 8 give 99.2%: no more than the runs allow). Efficiency: "
        "timeline's lower bound over the wall. Peak RSS: " + RSS_NOTE + ".",
        *_curve_lines(s.curves),
        *(line for sim in s.simulations for line in _simulation_lines(sim, s.cpus)),
        *_choice_lines(s),
        *(f"\nNote: {text(n)}." for n in s.notes),
        *([f"\nTime: {time_words(s.time)}."] if s.time else []),
    ]
    return "\n".join(parts)


def _mismatch_lines(s: ScanResult) -> list[str]:
    lines = []
    for m in s.mismatches:
        examples = "; ".join(
            f"{code(n)} ({text(here)} here, {text(there)} there)" for n, here, there in m.examples
        )
        lines.append(
            f"\n**Mismatch:** {code(m.variant)} ended {m.count} test{'s' if m.count > 1 else ''} "
            f"differently from {code(m.against)}: {examples}. It is not recommended."
        )
    return lines


def _points_table(points: Sequence[Point]) -> list[str]:
    rows = [
        "| Variant | Workers | --dist | Other axes | Median wall | Interval of the median | "
        "Runs | Against configured | Efficiency | Peak RSS |",
        "|---|---:|---|---|---:|---|---:|---|---:|---:|",
    ]
    for p in points:
        left = f" ({', '.join(p.left_out)} left out)" if p.left_out else ""
        rows.append(
            f"| {cell(code(p.variant))} | {p.workers or 'serial'} | {p.dist or '-'} "
            f"| {cell(code(p.labels)) if p.labels else '-'} "
            f"| {seconds(p.wall_s_median) if p.wall_s_median is not None else '-'} "
            f"| {_interval(p)} | {p.runs}{left} | {cell(_against(p.vs_configured))} "
            f"| {f'{p.efficiency:.0%}' if p.efficiency is not None else '-'} "
            f"| {mib(p.peak_rss_bytes) if p.peak_rss_bytes is not None else '-'} |"
        )
    return rows


def _curve_lines(curves: Sequence[Curve]) -> list[str]:
    lines = []
    for c in curves:
        residuals = ", ".join(f"n={r.workers} {r.residual_s:+.3f}s" for r in c.fit.residuals)
        lines += [
            "",
            f"### Fitted curve, --dist {c.dist}" + (f", with {code(c.labels)}" if c.labels else ""),
            "",
            fit_words(c),
            "",
            f"Residuals (median of the runs minus the curve): {residuals}.",
        ]
    return lines


def _simulation_lines(sim: Simulation, cpus: int) -> list[str]:
    error = f"{sim.median_error:.1%}" if sim.median_error is not None else "none held out"
    lines = [
        "",
        "### Simulator (predictions, not measurements)"
        + (f", with {code(sim.labels)}" if sim.labels else ""),
        "",
        "The serial runs' test durations replayed through models of xdist's schedulers with "
        "the measured fixed costs. Each measured point is predicted by a model that did not "
        f"see its runs (leave one worker count out); median error on those: {error}.",
        "",
        "| Workers | --dist | Predicted | Measured (median) | Error |",
        "|---:|---|---:|---:|---:|",
    ]
    for p in sim.validation:
        mark = " (calibration)" if p.calibration else ""
        err = f"{p.error:+.1%}" if p.error is not None else "-"
        lines.append(
            f"| {p.workers or 'serial'} | {p.dist or '-'} | prediction {seconds(p.wall_s)} "
            f"| {seconds(p.measured_s or 0.0)} | {err}{mark} |"
        )
    lines += ["", *_predicted_table(sim, cpus)]
    return lines


def _predicted_table(sim: Simulation, cpus: int) -> list[str]:
    rows = [
        f"Predicted, not measured: on this machine as it was during the runs (its {cpus} CPUs "
        f"worked like {sim.effective_cpus:.2f}, the rest taken by other load), and on an idle "
        "machine with as many CPUs like these as workers:",
        "",
        "| Workers | --dist | Prediction on this machine | Prediction on n idle CPUs |",
        "|---:|---|---:|---:|",
    ]
    here = {(p.workers, p.dist): p.wall_s for p in sim.predicted if p.on_this_machine}
    for p in (p for p in sim.predicted if not p.on_this_machine):
        mine = here.get((p.workers, p.dist))
        shown = seconds(mine) if mine is not None else "measured above"
        rows.append(f"| {p.workers} | {p.dist or '-'} | {shown} | {seconds(p.wall_s)} |")
    return rows


def _choice_lines(s: ScanResult) -> list[str]:
    lines = ["", "### Recommendation", ""]
    c = s.recommended
    if c is None:
        lines.append(
            "No variant can be recommended: none finished with the configured tests' outcomes."
        )
        return lines
    lines.append(choice_words(c, s.configured, code))
    m = s.memory
    if m.per_worker_bytes is not None and m.base_bytes is not None:
        fits = (
            f"; a budget of {mib(m.budget_bytes)} fits at most {m.max_workers} workers"
            if m.budget_bytes is not None and m.max_workers is not None
            else ""
        )
        lines.append(
            f"\nMemory: peak RSS \N{ALMOST EQUAL TO} {mib(m.base_bytes)} + "
            f"{mib(m.per_worker_bytes)} per worker (a line through the measured peaks){fits}."
        )
    lines += [f"\n- Not eligible: {code(v)}: {text(why)}." for v, why in c.excluded]
    return lines


# --- the terminal ---------------------------------------------------------------------------


def render_table(s: ScanResult) -> str:
    """Return the scan as plain text: one line per variant, then the findings."""
    lines = [f"scan of {s.strategy} ({s.cpus} CPUs); configured: {s.configured}"]
    width = max(len(p.variant) for p in s.points)
    for p in s.points:
        wall = seconds(p.wall_s_median) if p.wall_s_median is not None else "-"
        against = _against(p.vs_configured)
        lines.append(f"  {p.variant.ljust(width)}  {wall:>8}  {count(p.runs, 'run'):>7}  {against}")
    lines += [
        f"MISMATCH: {m.variant} ended {count(m.count, 'test')} differently from {m.against}"
        for m in s.mismatches
    ]
    for c in s.curves:
        lines.append(f"fit (--dist {c.dist}{', ' + c.labels if c.labels else ''}): {fit_words(c)}")
    for sim in s.simulations:
        error = f"{sim.median_error:.1%}" if sim.median_error is not None else "none held out"
        series = f" ({sim.labels})" if sim.labels else ""
        lines.append(f"simulator{series}: median error {error} on the held-out measured points")
    lines += [f"note: {n}" for n in s.notes]
    if s.recommended is not None:
        lines.append("recommendation: " + choice_words(s.recommended, s.configured))
    if s.stopped is not None:
        lines.append(f"stopped: {_stopped_words(s.stopped)}")
    if s.time is not None:
        lines.append(f"time: {time_words(s.time)}")
    return "\n".join(lines) + "\n"


def time_words(t: TimeSplit) -> str:
    return (
        f"{seconds(t.total_s)} in all: the runs {seconds(t.runs_s)} (of which start-up, worker "
        f"boot, collection and shutdown {seconds(t.fixed_s)}, the tests' span "
        f"{seconds(t.runs_s - t.fixed_s)}), benchlib between runs {seconds(t.between_s)}, "
        f"analysis and report {seconds(t.analysis_s)}"
    )


def _stopped_words(stopped: str) -> str:
    return {
        "rounds": "after the rounds asked for",
        "width": "every interval reached the width asked for",
        "budget": "the time budget ran out before every interval reached the width",
    }.get(stopped, stopped)
