"""SVG as data: shapes with a class, a hover title and data-* attributes; scales and axes.

The charts are built here as plain values and drawn by the template, which escapes every
string it writes: a title holding a node id is text, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["rect", "line", "circle", "path", "text"]
Data = tuple[tuple[str, str], ...]

WIDTH = 960  # the viewBox width: the page scales it to the screen
LABELS_W = 170  # room for strategy and worker names at the left
RIGHT_W = 20
ROW_H = 26
AXIS_H = 34  # under the plot: tick labels and the unit


@dataclass(frozen=True)
class Shape:
    """One SVG element: rect (x y w h), line (x y x2 y2), circle (x y r), path (d), text."""

    kind: Kind
    cls: str
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    x2: float = 0.0
    y2: float = 0.0
    r: float = 0.0
    d: str = ""
    text: str = ""
    anchor: str = "start"
    title: str = ""
    data: Data = ()


@dataclass(frozen=True)
class Chart:
    """One figure: its shapes, its size, and the legend beside it."""

    key: str  # data-chart: a stable name tests and readers can find it by
    label: str  # what it shows, for screen readers
    height: float
    shapes: tuple[Shape, ...]
    legend: tuple[tuple[str, str], ...] = ()  # (css class, text)
    width: float = WIDTH
    notes: tuple[str, ...] = field(default=())


def rect(
    x: float, y: float, w: float, h: float, cls: str, title: str = "", data: Data = ()
) -> Shape:
    return Shape("rect", cls, x=x, y=y, w=max(w, 0.0), h=h, title=title, data=data)


def line(
    x: float, y: float, x2: float, y2: float, cls: str, title: str = "", data: Data = ()
) -> Shape:
    return Shape("line", cls, x=x, y=y, x2=x2, y2=y2, title=title, data=data)


def circle(x: float, y: float, r: float, cls: str, title: str = "", data: Data = ()) -> Shape:
    return Shape("circle", cls, x=x, y=y, r=r, title=title, data=data)


def text(x: float, y: float, value: str, cls: str = "label", anchor: str = "start") -> Shape:
    return Shape("text", cls, x=x, y=y, text=value, anchor=anchor)


def polyline(
    points: Sequence[tuple[float, float]], cls: str, title: str = "", data: Data = ()
) -> Shape:
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    return Shape("path", cls, d=d, title=title, data=data)


@dataclass(frozen=True)
class Scale:
    """Map a value in [0, top] to a pixel in [start, end]."""

    top: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.top <= 0:
            return self.start
        return self.start + (self.end - self.start) * min(max(value / self.top, 0.0), 1.0)

    def length(self, value: float) -> float:
        return self(value) - self(0.0)


def nice_ticks(top: float, count: int = 6) -> tuple[float, ...]:
    """Return round tick values from 0 past top, about count of them (steps of 1, 2 or 5)."""
    if top <= 0:
        return (0.0, 1.0)
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return tuple(i * step for i in range(n + 1))


def time_scale(top_s: float) -> tuple[Scale, tuple[float, ...]]:
    """Return the x scale of a time axis starting at 0 and its ticks."""
    ticks = nice_ticks(top_s)
    return Scale(ticks[-1], LABELS_W, WIDTH - RIGHT_W), ticks


def tick_label(value: float, unit: str) -> str:
    return f"{value:g}{unit}"


def x_axis(
    scale: Scale, ticks: Sequence[float], top: float, bottom: float, unit: str, caption: str
) -> list[Shape]:
    """Grid lines at each tick from top to bottom, labels under them, the caption last."""
    shapes: list[Shape] = []
    for t in ticks:
        x = scale(t)
        shapes.append(line(x, top, x, bottom, "grid"))
        shapes.append(text(x, bottom + 14, tick_label(t, unit), "tick", "middle"))
    mid = (scale.start + scale.end) / 2
    shapes.append(text(mid, bottom + 29, caption, "axis-caption", "middle"))
    return shapes


def y_axis(
    scale: Scale, ticks: Sequence[float], left: float, right: float, unit: str
) -> list[Shape]:
    """Horizontal grid lines at each tick with labels at the left (scale maps up the page)."""
    shapes: list[Shape] = []
    for t in ticks:
        y = scale(t)
        shapes.append(line(left, y, right, y, "grid"))
        shapes.append(text(left - 6, y + 4, tick_label(t, unit), "tick", "end"))
    return shapes
