"""The report's charts, built from the summary's facts: walls, parts, lanes, resources, scans.

Every chart that shows time shares one axis, from 0 to the slowest run drawn, so strategies
are compared by eye as well as by number. Numbers are never recomputed here: the medians and
intervals are judge's, the parts and bounds timeline's, the lanes and series chartdata's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from benchlib.analyze.chartdata import RunPicture, Scan, ScanPoint
from benchlib.analyze.judge import Judgement
from benchlib.analyze.summary import RunRef, StrategySummary, Summary
from benchlib.analyze.timeline import PARTS
from benchlib.explain.wording import factor_words, mib, seconds, verdict_words
from benchlib.render.html import svg
from benchlib.render.html.svg import Chart, Shape

PALETTE = 8  # strategy colours s0..s7 in the style sheet, reused in order
PART_NAMES = {
    "startup": "start-up",
    "boot": "boot",
    "collection": "collection",
    "execution": "execution",
    "between": "between tests",
    "idle_tail": "idle tail",
    "shutdown": "shutdown",
}
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def colour(summary: Summary, name: str) -> str:
    """Return the strategy's colour class, the same in every chart."""
    names = [s.name for s in summary.strategies]
    return f"s{names.index(name) % PALETTE}" if name in names else "s0"


def pictures(summary: Summary) -> list[RunPicture]:
    """Return the representative runs' pictures in the summary's order of strategies."""
    by_name = {p.strategy: p for p in summary.charts.pictures}
    return [by_name[s.name] for s in summary.strategies if s.name in by_name]


def speedup_label(j: Judgement | None) -> str:
    """Say a judgement in a few words (its title says it in full, as verdict_words does)."""
    if j is None or j.speedup is None or j.word == "not compared":
        return "not compared" if j else ""
    if j.word in ("faster", "slower"):
        return factor_words(j.speedup)
    if j.word == "single run":
        return f"{factor_words(j.speedup)}, single run"
    return "no significant difference"


def _top(summary: Summary) -> float:
    walls = [r.wall_s for r in summary.runs] + [p.wall_s for p in summary.charts.pictures]
    return max(walls, default=1.0)


# --- wall times ------------------------------------------------------------------------------


def walls(summary: Summary) -> Chart | None:
    """Each run as a point, the median, the interval against the baseline, the baseline line."""
    shown = [s for s in summary.strategies if any(r.strategy == s.name for r in summary.runs)]
    if not shown:
        return None
    scale, ticks = svg.time_scale(_top(summary))
    row_h = svg.ROW_H + 10
    bottom = 22 + row_h * len(shown)
    shapes = svg.x_axis(scale, ticks, 18, bottom, "s", "wall time, seconds (all runs)")
    by_name: dict[str, list[RunRef]] = defaultdict(list)
    for r in summary.runs:
        by_name[r.strategy].append(r)
    for i, s in enumerate(shown):
        y = 22 + row_h * i + row_h / 2
        label = "baseline" if s.name == summary.baseline else speedup_label(s.vs_baseline)
        shapes += _wall_row(s, label, by_name[s.name], scale, y, colour(summary, s.name))
    shapes += _baseline_line(summary, scale, 18, bottom)
    legend = (("dot", "a counted run"), ("dot left-out", "warm-up or left out"), ("ci", "95% CI"))
    return Chart(
        "walls", "Wall time of every run, by strategy", bottom + svg.AXIS_H, tuple(shapes), legend
    )


def _wall_row(
    s: StrategySummary, label: str, runs: Sequence[RunRef], scale: svg.Scale, y: float, cls: str
) -> list[Shape]:
    data = (("strategy", s.name),)
    shapes = [
        svg.text(svg.LABELS_W - 10, y - 2, s.name, "name", "end"),
        svg.text(svg.LABELS_W - 10, y + 11, label, "sub", "end"),
        *_interval(s.vs_baseline, scale, y, data),
    ]
    for r in runs:
        how = ", warm-up: left out" if r.warmup else "" if r.counted else ", left out"
        title = f"{s.name} round {r.round + 1}: {seconds(r.wall_s)}, {r.status}{how}"
        kind = "dot" if r.counted else "dot left-out"
        shapes.append(
            svg.circle(scale(r.wall_s), y, 4.5, f"{kind} {cls}", title, (*data, ("kind", "run")))
        )
    if s.wall is not None:
        x = scale(s.wall.median_s)
        title = f"{s.name}: median {seconds(s.wall.median_s)} of {s.wall.runs} counted runs"
        shapes.append(svg.line(x, y - 11, x, y + 11, "median", title, (*data, ("kind", "median"))))
        shapes.append(_value_label(scale, [r.wall_s for r in runs], y, seconds(s.wall.median_s)))
    return shapes


def _value_label(scale: svg.Scale, values: Sequence[float], y: float, value: str) -> Shape:
    """Print the median beside the row's points, where there is room: pages get printed."""
    right = scale(max(values)) + 9
    if right < scale.end - 50:
        return svg.text(right, y + 4, value, "value")
    return svg.text(scale(min(values)) - 9, y + 4, value, "value", "end")


def _interval(j: Judgement | None, scale: svg.Scale, y: float, data: svg.Data) -> list[Shape]:
    """Draw the speed-up's 95% interval on the time axis: the baseline median over it."""
    if j is None or j.ci_low is None or j.ci_high is None or not j.before_s:
        return []
    slow, fast = j.before_s / j.ci_low, j.before_s / j.ci_high
    title = (
        f"95% CI against {j.before}: {verdict_words(j)}; on the time axis "
        f"{seconds(fast)}\N{EN DASH}{seconds(slow)} (the median of {j.before} over the interval)"
    )
    return [
        svg.rect(
            scale(fast), y - 7, scale(slow) - scale(fast), 14, "ci", title, (*data, ("kind", "ci"))
        )
    ]


def _baseline_line(summary: Summary, scale: svg.Scale, top: float, bottom: float) -> list[Shape]:
    if summary.baseline is None:
        return []
    base = summary.strategy(summary.baseline)
    if base.wall is None:
        return []
    x = scale(base.wall.median_s)
    title = f"baseline {base.name}: median {seconds(base.wall.median_s)}"
    left = x > (scale.start + scale.end) / 2  # the label goes where there is room
    return [
        svg.line(x, top - 6, x, bottom, "baseline", title, (("kind", "baseline"),)),
        svg.text(
            x + (-4 if left else 4),
            top - 8,
            f"baseline median {seconds(base.wall.median_s)}",
            "sub",
            "end" if left else "start",
        ),
    ]


# --- where the time went ---------------------------------------------------------------------


def parts(summary: Summary) -> Chart | None:
    """Stack each representative run's parts (they add up to its wall); mark its lower bound."""
    shown = [p for p in pictures(summary) if p.breakdown is not None]
    if not shown:
        return None
    scale, ticks = svg.time_scale(max(p.wall_s for p in shown))
    bottom = 12 + svg.ROW_H * len(shown)
    shapes = svg.x_axis(scale, ticks, 8, bottom, "s", "representative run, seconds")
    for i, p in enumerate(shown):
        shapes += _parts_row(p, scale, 12 + svg.ROW_H * i)
    legend = (*((f"part-{name}", PART_NAMES[name]) for name in PARTS), ("bound", "lower bound"))
    return Chart(
        "parts", "Where each strategy's time went", bottom + svg.AXIS_H, tuple(shapes), legend
    )


def _parts_row(p: RunPicture, scale: svg.Scale, y: float) -> list[Shape]:
    assert p.breakdown is not None
    b = p.breakdown
    workers = "serial" if b.workers <= 1 else f"{b.workers} workers"
    shapes = [svg.text(svg.LABELS_W - 10, y + 12, f"{p.strategy} ({workers})", "name", "end")]
    at = 0.0
    for name, value in b.parts():
        share = f"{value / b.wall_s:.1%} of {seconds(b.wall_s)}"
        title = f"{p.strategy}: {PART_NAMES[name]} {seconds(value)} ({share})"
        data = (("strategy", p.strategy), ("part", name), ("kind", "part"))
        shapes.append(
            svg.rect(
                scale(at), y, scale.length(value), svg.ROW_H - 8, f"part part-{name}", title, data
            )
        )
        at += value
    if p.bound is not None:
        x = scale(p.bound.bound_s)
        title = (
            f"{p.strategy}: lower bound {seconds(p.bound.bound_s)} ({p.bound.term}; "
            f"{p.bound.efficiency:.0%} of the wall)"
        )
        shapes.append(
            svg.line(
                x,
                y - 3,
                x,
                y + svg.ROW_H - 5,
                "bound",
                title,
                (("strategy", p.strategy), ("kind", "bound")),
            )
        )
    return shapes


# --- a scan's scaling curve ------------------------------------------------------------------


def scan(found: Scan, index: int) -> Chart:
    """Draw measured medians with their intervals, and the predictions dashed and labelled."""
    walls = [p.wall_s_median for p in found.points] + [p.wall_s for p in found.predicted]
    walls += [p.ci_high for p in found.points if p.ci_high is not None]
    workers = [p.workers for p in found.points] + [p.workers for p in found.predicted]
    wt = tuple(t for t in svg.nice_ticks(max(workers, default=1), 8) if t == int(t))  # whole
    x = svg.Scale(wt[-1], svg.LABELS_W, svg.WIDTH - svg.RIGHT_W - 80)
    yt = svg.nice_ticks(max(walls, default=1.0), 5)
    y = svg.Scale(yt[-1], 14 + SCAN_H, 14)
    shapes = svg.y_axis(y, yt, x.start, x.end, "s")
    shapes += svg.x_axis(x, wt, 14 + SCAN_H, 14 + SCAN_H, "", "xdist workers (0: serial)")
    dists = list(dict.fromkeys([p.dist for p in found.points] + [p.dist for p in found.predicted]))
    for p in found.points:
        shapes += _scan_point(p, x, y, f"d{dists.index(p.dist) % PALETTE}")
    for i, dist in enumerate(dists):
        shapes += _scan_lines(found, dist, x, y, f"d{i % PALETTE}")
    shapes += _recommended(found, x, y)
    legend = tuple(
        (f"d{i % PALETTE}", f"--dist {d}" if d else "serial") for i, d in enumerate(dists)
    )
    legend += (("predicted", "predicted (dashed)"),)
    fit = "; ".join(f"{k} = {v}" for k, v in found.fit)
    notes = (f"Fit: {fit}.",) if fit else ()
    return Chart(
        f"scan-{index}",
        f"Scaling of {found.strategy} over workers",
        14 + SCAN_H + svg.AXIS_H,
        tuple(shapes),
        legend,
        notes=notes,
    )


SCAN_H = 220


def _scan_point(p: ScanPoint, x: svg.Scale, y: svg.Scale, cls: str) -> list[Shape]:
    dist = f", --dist {p.dist}" if p.dist else ""
    ci = ""
    shapes = []
    data = (("kind", "measured"), ("workers", str(p.workers)))
    if p.ci_low is not None and p.ci_high is not None:
        ci = f" (95% CI {seconds(p.ci_low)}\N{EN DASH}{seconds(p.ci_high)})"
        shapes.append(
            svg.line(x(p.workers), y(p.ci_low), x(p.workers), y(p.ci_high), f"whisker {cls}")
        )
    rss = f", peak RSS {mib(p.peak_rss_bytes)}" if p.peak_rss_bytes is not None else ""
    title = (
        f"{p.workers} workers{dist}: median {seconds(p.wall_s_median)} of {p.runs} runs{ci}{rss}"
    )
    shapes.append(svg.circle(x(p.workers), y(p.wall_s_median), 4.5, f"dot {cls}", title, data))
    return shapes


def _scan_lines(found: Scan, dist: str | None, x: svg.Scale, y: svg.Scale, cls: str) -> list[Shape]:
    """Join the measured medians; dash the predictions on from the last measured point."""
    measured = sorted((p.workers, p.wall_s_median) for p in found.points if p.dist == dist)
    predicted = sorted((p.workers, p.wall_s) for p in found.predicted if p.dist == dist)
    shapes = []
    if len(measured) > 1:
        shapes.append(svg.polyline([(x(w), y(v)) for w, v in measured], f"series {cls}"))
    if not predicted:
        return shapes
    title = "predicted: " + ", ".join(f"{w} workers {seconds(v)}" for w, v in predicted)
    dashed = [(x(w), y(v)) for w, v in [*measured[-1:], *predicted]]
    shapes.append(
        svg.polyline(dashed, f"series predicted {cls}", title, (("kind", "predicted-line"),))
    )
    for w, v in predicted:
        words = f"predicted: {w} workers, {seconds(v)}"
        data = (("kind", "predicted"), ("workers", str(w)))
        shapes.append(svg.circle(x(w), y(v), 3.5, f"dot hollow {cls}", words, data))
    shapes.append(svg.text(dashed[-1][0] + 8, dashed[-1][1] + 4, "predicted", "sub"))
    return shapes


def _recommended(found: Scan, x: svg.Scale, y: svg.Scale) -> list[Shape]:
    pick = [
        p
        for p in found.points
        if p.workers == found.recommended_workers
        and (found.recommended_dist is None or p.dist == found.recommended_dist)
    ]
    if not pick:
        return []
    p = pick[0]
    cx, cy = x(p.workers), y(p.wall_s_median)
    title = f"recommended: {p.workers} workers" + (f", --dist {p.dist}" if p.dist else "")
    return [
        svg.circle(cx, cy, 9, "recommended", title, (("kind", "recommended"),)),
        svg.text(cx, cy - 14, "recommended", "sub", "middle"),
    ]
