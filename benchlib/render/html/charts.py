"""The report's charts, built from the summary's facts: walls, parts, lanes, resources, scans.

Every chart that shows time shares one axis, from 0 to the slowest run drawn, so strategies
are compared by eye as well as by number. Numbers are never recomputed here: the medians and
intervals are judge's, the parts and bounds timeline's, the lanes and series chartdata's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from benchlib.analyze.chartdata import Prediction, RunPicture, Scan, ScanPoint
from benchlib.analyze.judge import Judgement
from benchlib.analyze.summary import RunRef, StrategySummary, Summary
from benchlib.analyze.timeline import PARTS
from benchlib.explain.wording import count, mib, seconds, verdict_words
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


def _top(summary: Summary) -> float:
    walls = [r.wall_s for r in summary.runs] + [p.wall_s for p in summary.charts.pictures]
    return max(walls, default=1.0)


# --- wall times ------------------------------------------------------------------------------


def walls(summary: Summary, labels: Mapping[str, str]) -> Chart | None:
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
        label = labels.get(s.name, "")  # the explanation's: it names what it is against
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
    """Draw the measured medians with their intervals, the fitted curve, and each machine
    size's predictions as its own dashed, hollow series in a band of their own.

    No text is drawn inside the plot: what a mark is, the legend says, so no label can sit
    over a point.
    """
    series = _predicted_series(found)
    walls = [p.wall_s_median for p in found.points] + [p.wall_s for p in found.predicted]
    walls += [p.ci_high for p in found.points if p.ci_high is not None]
    workers = [p.workers for p in found.points] + [p.workers for p in found.predicted]
    workers += [found.cpus] if found.cpus else []
    wt = tuple(t for t in svg.nice_ticks(max(workers, default=1), 8) if t == int(t))  # whole
    # Room left of 0 workers: a ringed serial point must not touch the time ticks.
    x = svg.Scale(wt[-1], svg.LABELS_W + 16, svg.WIDTH - svg.RIGHT_W - 80)
    yt = svg.nice_ticks(max(walls, default=1.0), 5)
    y = svg.Scale(yt[-1], 14 + SCAN_H, 14)
    measured_max = max((p.workers for p in found.points), default=0)
    shapes = []
    if found.predicted:  # predictions live beyond the measurements, on a shaded band
        left = x(measured_max)
        shapes.append(svg.rect(left, 14, x.end - left, SCAN_H, "predicted-band"))
    shapes += svg.y_axis(y, yt, svg.LABELS_W, x.end, "s")
    shapes += svg.x_axis(x, wt, 14 + SCAN_H, 14 + SCAN_H, "", "xdist workers (0: serial)")
    if found.cpus:
        title = f"this machine: {found.cpus} usable CPUs"
        cpus = (("kind", "cpus"),)
        shapes.append(svg.line(x(found.cpus), 14, x(found.cpus), 14 + SCAN_H, "cpus", title, cpus))
    shapes += _fitted(found, measured_max, x, y)
    dists = list(dict.fromkeys(p.dist for p in found.points))
    for i, dist in enumerate(dists):
        shapes += _measured_line(found, dist, x, y, f"d{i % PALETTE}")
    for p in found.points:
        shapes += _scan_point(p, x, y, f"d{dists.index(p.dist) % PALETTE}")
    legend = [(f"d{i % PALETTE}", f"measured, --dist {d}" if d else "measured, serial")
              for i, d in enumerate(dists)]  # fmt: skip
    for i, (label, points) in enumerate(series):
        cls = f"d{(len(dists) + i) % PALETTE}"
        shapes += _prediction(label, points, x, y, cls)
        legend.append((f"{cls} predicted", label))
    shapes += _recommended(found, x, y)
    legend += _keys(found)
    fit = "; ".join(f"{k} = {v}" for k, v in found.fit)
    notes = (f"Fit: {fit}.",) if fit else ()
    return Chart(
        f"scan-{index}",
        f"Scaling of {found.strategy} over workers",
        14 + SCAN_H + svg.AXIS_H,
        tuple(shapes),
        tuple(legend),
        notes=notes,
    )


SCAN_H = 220


def _keys(found: Scan) -> list[tuple[str, str]]:
    keys = [("whisker", "95% interval of a measured median")]
    if found.curve:
        keys.append(("fit", "fitted curve over the measured worker counts"))
    if found.predicted:
        keys.append(("predicted-band", "predictions, not measurements (shaded)"))
    if found.cpus:
        keys.append(("cpus", f"this machine: {found.cpus} usable CPUs (dotted line)"))
    if found.recommended_workers is not None:
        keys.append(("recommended", "recommended (ringed)"))
    return keys


def _predicted_series(found: Scan) -> list[tuple[str, list[Prediction]]]:
    """Group predictions by the machine they are for: this one as loaded, or an idle size."""
    groups: dict[tuple[bool, float, str | None], list[Prediction]] = defaultdict(list)
    for p in found.predicted:
        groups[(p.on_this_machine, p.cpus or 0.0, p.dist)].append(p)
    several = len({d for _, _, d in groups}) > 1
    found_series = []
    for (here, cpus, dist), points in sorted(groups.items(), key=lambda g: (not g[0][0], g[0][1])):
        if here:
            label = "predicted: this machine as it was" + (
                f" ({found.cpus} CPUs)" if found.cpus else ""
            )
        else:
            label = f"predicted: an idle machine with {cpus:g} CPUs"
        label += f", --dist {dist}" if several and dist else ""
        found_series.append((label, sorted(points, key=lambda p: p.workers)))
    return found_series


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
    workers = "serial" if p.workers == 0 else count(p.workers, "worker")
    title = f"{workers}{dist}: median {seconds(p.wall_s_median)} of {count(p.runs, 'run')}{ci}{rss}"
    shapes.append(svg.circle(x(p.workers), y(p.wall_s_median), 4.5, f"dot {cls}", title, data))
    return shapes


def _measured_line(
    found: Scan, dist: str | None, x: svg.Scale, y: svg.Scale, cls: str
) -> list[Shape]:
    measured = sorted((p.workers, p.wall_s_median) for p in found.points if p.dist == dist)
    if len(measured) < 2:
        return []
    return [svg.polyline([(x(w), y(v)) for w, v in measured], f"series {cls}")]


def _fitted(found: Scan, up_to: int, x: svg.Scale, y: svg.Scale) -> list[Shape]:
    """Draw the fitted curve from 1 worker to the most measured (it is fitted there only)."""
    if found.curve is None or up_to < 2:
        return []
    serial, parallel, per_worker = found.curve
    steps = 40
    ns = [1 + (up_to - 1) * i / steps for i in range(steps + 1)]
    points = [(x(n), y(max(serial + parallel / n + per_worker * n, 0.0))) for n in ns]
    times = "\N{MULTIPLICATION SIGN}"
    title = f"fitted: wall(n) = {serial:.3f} + {parallel:.3f} / n + {per_worker:.3f} {times} n"
    return [svg.polyline(points, "fit", title, (("kind", "fit"),))]


def _prediction(
    label: str, points: Sequence[Prediction], x: svg.Scale, y: svg.Scale, cls: str
) -> list[Shape]:
    data: svg.Data = (("series", label),)
    shapes = []
    if len(points) > 1:
        title = label + ": " + ", ".join(f"{p.workers} workers {seconds(p.wall_s)}" for p in points)
        line = [(x(p.workers), y(p.wall_s)) for p in points]
        shapes.append(
            svg.polyline(
                line, f"series predicted {cls}", title, (*data, ("kind", "predicted-line"))
            )
        )
    for p in points:
        words = f"{label}: {p.workers} workers, {seconds(p.wall_s)}"
        shapes.append(
            svg.circle(
                x(p.workers), y(p.wall_s), 3.5, f"dot hollow {cls}", words,
                (*data, ("kind", "predicted"), ("workers", str(p.workers))),
            )
        )  # fmt: skip
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
    title = f"recommended: {count(p.workers, 'worker')}" + (f", --dist {p.dist}" if p.dist else "")
    return [svg.circle(cx, cy, 9, "recommended", title, (("kind", "recommended"),))]
