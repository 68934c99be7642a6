"""Charts over a run's own time: worker lanes and resources, every strategy on one time axis."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchlib.analyze.chartdata import RunPicture, Segment
from benchlib.analyze.summary import Summary
from benchlib.explain.wording import RSS_NOTE, count, first_line, seconds
from benchlib.render.html import svg
from benchlib.render.html.charts import OUTCOMES, PART_NAMES, colour, pictures
from benchlib.render.html.svg import Chart, Shape

LANE_H = 12
LANE_GAP = 3
HEADER_H = 22  # a strategy's row above its lanes: its name and pytest's own phases
PANEL_H = 80
PANEL_GAP = 26


def _top(pictures: Sequence[RunPicture]) -> float:
    return max((p.wall_s for p in pictures), default=1.0)


def lanes(summary: Summary) -> Chart | None:
    """Draw each representative run's tests on its workers' lanes, all on one time axis."""
    shown = [p for p in pictures(summary) if p.lanes]
    if not shown:
        return None
    scale, ticks = svg.time_scale(_top(shown))
    shapes: list[Shape] = []
    y = 6.0
    for p in shown:
        group, y = _run_lanes(p, scale, y)
        shapes += group
    legend = (*((f"seg o-{o}", o) for o in OUTCOMES), ("fail-mark", "failed or errored inside"))
    axis = svg.x_axis(scale, ticks, 2, y, "s", "seconds from pytest's start (representative runs)")
    return Chart(
        "lanes",
        "Worker timelines of each strategy's representative run",
        y + svg.AXIS_H,
        tuple(axis + shapes),
        legend,
    )


def _run_lanes(p: RunPicture, scale: svg.Scale, y: float) -> tuple[list[Shape], float]:
    """Return a strategy's header row and lanes, and where the next strategy starts."""
    data = (("strategy", p.strategy),)
    shapes = [svg.text(svg.LABELS_W - 10, y + 14, p.strategy, "name", "end")]
    shapes += _fixed_phases(p, scale, y + 6)
    bottom = y + HEADER_H + len(p.lanes) * (LANE_H + LANE_GAP)
    end = scale(p.wall_s)
    title = f"{p.strategy}: run {p.run_id} ended at {seconds(p.wall_s)}, {count(p.tests, 'test')}"
    shapes.append(svg.line(end, y + 2, end, bottom, "run-end", title, (*data, ("kind", "end"))))
    y += HEADER_H
    for lane in p.lanes:
        lane_data = (*data, ("worker", lane.worker))
        shapes.append(svg.text(svg.LABELS_W - 10, y + LANE_H - 2, lane.worker, "sub", "end"))
        shapes.append(
            svg.rect(
                scale(0),
                y,
                scale.length(p.wall_s),
                LANE_H,
                "lane",
                "",
                (*lane_data, ("kind", "lane")),
            )
        )
        shapes += [s for seg in lane.segments for s in _segment(seg, scale, y, lane_data)]
        y += LANE_H + LANE_GAP
    return shapes, y + 8


def _fixed_phases(p: RunPicture, scale: svg.Scale, y: float) -> list[Shape]:
    """Draw pytest's own time in the header row: start-up, boot, collection; shutdown."""
    b = p.breakdown
    if b is None:
        return []
    spans = (
        ("startup", 0.0, b.startup_s),
        ("boot", b.startup_s, b.boot_s),
        ("collection", b.startup_s + b.boot_s, b.collection_s),
        ("shutdown", b.wall_s - b.shutdown_s, b.shutdown_s),
    )
    shapes = []
    for name, at, value in spans:
        title = f"{p.strategy}: {PART_NAMES[name]} {seconds(value)}"
        data = (("strategy", p.strategy), ("part", name), ("kind", "phase"))
        cls = f"part part-{name}"
        shapes.append(svg.rect(scale(at), y, scale.length(value), 8, cls, title, data))
    return shapes


def _segment(seg: Segment, scale: svg.Scale, y: float, data: svg.Data) -> list[Shape]:
    outcome = seg.outcome if seg.outcome in OUTCOMES else "other"
    x, w = scale(seg.start_s), max(scale.length(seg.duration_s), 0.6)
    attrs = (*data, ("kind", "segment"), ("tests", str(seg.tests)), ("outcome", outcome))
    shapes = [svg.rect(x, y, w, LANE_H, f"seg o-{outcome}", segment_title(seg), attrs)]
    if seg.failing:
        mid = x + w / 2
        d = f"M{mid:.1f},{y:.1f} L{mid - 4:.1f},{y - 5:.1f} L{mid + 4:.1f},{y - 5:.1f} Z"
        shapes.append(
            Shape(
                "path",
                "fail-mark",
                d=d,
                title=segment_title(seg),
                data=(*data, ("kind", "fail"), ("failing", str(seg.failing))),
            )
        )
    return shapes


def segment_title(seg: Segment) -> str:
    """Say what a segment holds: the test, its phase and duration; or the tests merged."""
    where = f" in {seg.phase}" if seg.phase else ""
    message = f"\n{first_line(seg.message)}" if seg.message else ""
    if seg.tests == 1:
        return f"{seg.nodeid}\n{seg.outcome}{where}, {seconds(seg.duration_s)}{message}"
    head = (
        f"{seg.tests} tests merged, {seconds(seg.busy_s)} of tests in "
        f"{seconds(seg.duration_s)}:\n{seg.nodeid}\n\N{HORIZONTAL ELLIPSIS}\n{seg.last_nodeid}"
    )
    if seg.outcome == "passed":
        return head
    count = f"{seg.failing} failed or errored; " if seg.failing else ""
    return f"{head}\n{count}worst: {seg.worst_nodeid} {seg.outcome}{where}{message}"


# --- resources -------------------------------------------------------------------------------

Series = Callable[[RunPicture], Sequence[float]]
PANELS: tuple[tuple[str, str, Series, Callable[[float], str]], ...] = (
    (
        "rss",
        "summed RSS, MiB",
        lambda p: [b / 2**20 for b in p.resources.rss_bytes],
        lambda v: f"{v:.1f} MiB",
    ),
    (
        "processes",
        "processes",
        lambda p: [float(n) for n in p.resources.processes],
        lambda v: f"{v:g}",
    ),
    ("cpu", "CPU cores busy", lambda p: list(p.resources.cpu_cores), lambda v: f"{v:.2f}"),
)


def resources(summary: Summary) -> Chart | None:
    """Draw summed RSS, process count and CPU over time, one line per strategy, one axis."""
    shown = [p for p in pictures(summary) if p.resources.t_s]
    if not shown:
        return None
    scale, ticks = svg.time_scale(max(max(p.resources.t_s[-1], p.wall_s) for p in shown))
    shapes: list[Shape] = []
    for i, panel in enumerate(PANELS):
        shapes += _panel(summary, shown, panel, scale, 16 + i * (PANEL_H + PANEL_GAP))
    bottom = 16 + len(PANELS) * (PANEL_H + PANEL_GAP) - PANEL_GAP
    shapes += svg.x_axis(
        scale, ticks, bottom, bottom, "s", "seconds from pytest's start (representative runs)"
    )
    legend = tuple((colour(summary, p.strategy), p.strategy) for p in shown)
    notes = (
        f"RSS is {RSS_NOTE}.",
        "CPU: CPU seconds of the live tree per second between two samples.",
    )
    return Chart(
        "resources", "Resources over time", bottom + svg.AXIS_H, tuple(shapes), legend, notes=notes
    )


def _panel(
    summary: Summary,
    shown: Sequence[RunPicture],
    panel: tuple[str, str, Series, Callable[[float], str]],
    x: svg.Scale,
    top: float,
) -> list[Shape]:
    key, caption, series, say = panel
    values = {p.strategy: series(p) for p in shown}
    ticks = svg.nice_ticks(max((max(v, default=0.0) for v in values.values()), default=1.0), 3)
    y = svg.Scale(ticks[-1], top + PANEL_H, top)
    shapes = [svg.text(x.start, top - 4, caption, "panel-caption")]
    shapes += svg.y_axis(y, ticks, x.start, x.end, "")
    for p in shown:
        points = [(x(t), y(v)) for t, v in zip(p.resources.t_s, values[p.strategy], strict=True)]
        title = f"{p.strategy}: {caption} peaks at {say(max(values[p.strategy]))}"
        data = (("strategy", p.strategy), ("series", key))
        shapes.append(svg.polyline(points, f"series {colour(summary, p.strategy)}", title, data))
    return shapes
