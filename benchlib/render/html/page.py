"""Render a Summary and its Advice as report.html: one self-contained page, charts inline.

No network: the style sheet and every chart (SVG) are inline, there is no script, and the
page's Content-Security-Policy forbids loading or running anything. Jinja2 escapes every
string it writes (autoescape), so a node id holding `<script>` is shown as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from benchlib import __version__, stats
from benchlib.analyze.advice import Advice
from benchlib.analyze.summary import StrategySummary, Summary, UnstableTest
from benchlib.explain.wording import (
    RSS_NOTE,
    delta_words,
    first_line,
    mib,
    recommendation_words,
    seconds,
    tradeoff_words,
    verdict_words,
)
from benchlib.render.html import charts, lanes
from benchlib.render.html.svg import Chart

Inline = tuple[tuple[str, str], ...]  # ("text" | "code", value): Markdown words, made safe
_MD_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()!|~])")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Page:
    """Everything the template shows, as plain values: it only lays them out."""

    summary: Summary
    recommendations: tuple[Inline, ...]
    tradeoffs: dict[str, tuple[tuple[bool, Inline], ...]]
    charts: tuple[tuple[str, str, Chart | None], ...]  # (anchor, heading, chart)
    scans: tuple[Chart, ...]
    logs: dict[str, Link | None]  # by strategy: its representative run's log
    traces: dict[str, Link]  # by run id
    anchors: dict[str, str]  # strategy name -> an id safe in a URL fragment
    version: str
    method: str
    rss_note: str


def render(summary: Summary, advice: Advice) -> str:
    """Return the report as one HTML document."""
    from benchlib.render.html import template  # Jinja2 only when a page is rendered

    return template.render(page(summary, advice), HELPERS)


def page(summary: Summary, advice: Advice) -> Page:
    """Collect what the page shows."""
    return Page(
        summary=summary,
        recommendations=tuple(
            inline(recommendation_words(r, summary.baseline)) for r in advice.recommendations
        ),
        tradeoffs={
            name: tuple((t.pro, inline(tradeoff_words(t))) for t in points)
            for name, points in advice.tradeoffs.items()
        },
        charts=(
            ("walls", "Wall time", charts.walls(summary)),
            ("parts", "Where the time went", charts.parts(summary)),
            ("timelines", "Worker timelines", lanes.lanes(summary)),
            ("resources", "Resources over time", lanes.resources(summary)),
        ),
        scans=tuple(charts.scan(s, i) for i, s in enumerate(summary.charts.scans)),
        logs={s.name: link(s.log_path) if s.log_path else None for s in summary.strategies},
        traces={run_id: link(path) for run_id, path in summary.charts.traces},
        anchors={s.name: f"s{i}" for i, s in enumerate(summary.strategies)},
        version=__version__,
        method=f"Speed-up = base median / current median; interval: {stats.METHOD}.",
        rss_note=RSS_NOTE,
    )


def link(path: str) -> Link:
    """Link a path relative to the results folder; a scheme in it is quoted, never followed."""
    return Link(path, quote(path, safe="/-_.~"))


def inline(markdown: str) -> Inline:
    """Split wording's Markdown into plain text and code spans, undoing its escapes.

    wording says names as code spans and escapes suite text for Markdown; the page shows the
    same words, and the template escapes them for HTML.
    """
    parts: list[tuple[str, str]] = []
    at = 0
    for m in re.finditer(r"(?<!\\)(`+)", markdown):
        if m.start() < at:
            continue
        fence = m.group(1)
        close = re.compile(rf"(?<!`){fence}(?!`)").search(markdown, m.end())
        if close is None:
            continue
        parts.append(("text", _plain(markdown[at : m.start()])))
        parts.append(("code", _code(markdown[m.end() : close.start()])))
        at = close.end()
    parts.append(("text", _plain(markdown[at:])))
    return tuple(p for p in parts if p[1])


def _plain(value: str) -> str:
    value = _MD_ESCAPED.sub(r"\1", value)
    for entity, char in _ENTITIES:
        value = value.replace(entity, char)
    return value


def _code(value: str) -> str:
    if len(value) > 1 and value.startswith(" ") and value.endswith(" ") and value.strip():
        return value[1:-1]
    return value


# --- table cells, called by the template ------------------------------------------------------


def wall_cell(s: StrategySummary) -> str:
    if s.wall is None:
        return "no completed run"
    if s.wall.runs == 1:
        return f"{seconds(s.wall.median_s)} (single run)"
    return f"{seconds(s.wall.median_s)} ({seconds(s.wall.min_s)}\N{EN DASH}{seconds(s.wall.max_s)})"


def outcomes_cell(u: UnstableTest) -> tuple[tuple[str, str], ...]:
    """Return (strategy, its outcome tally) for each strategy the test ran under."""
    return tuple((s.strategy, ", ".join(f"{n} {o}" for o, n in s.outcomes)) for s in u.seen)


def unstable_logs(summary: Summary, u: UnstableTest) -> list[tuple[str, Link]]:
    """Return the logs of the runs it failed or errored in (as far as the summary lists them)."""
    runs = [r for r in summary.runs if any(t.nodeid == u.nodeid for t in r.failures)]
    return [(f"{r.strategy} round {r.round + 1}", link(r.log_path)) for r in runs]


def parts_rows(summary: Summary) -> list[tuple[str, list[str], str]]:
    """Return each pictured strategy's parts and its lower bound, as table cells."""
    rows = []
    for p in charts.pictures(summary):
        if p.breakdown is None:
            continue
        cells = [seconds(v) for _, v in p.breakdown.parts()]
        bound = f"{seconds(p.bound.bound_s)} ({p.bound.term})" if p.bound else "-"
        rows.append((p.strategy, [*cells, seconds(p.breakdown.wall_s)], bound))
    return rows


HELPERS: dict[str, Any] = {
    "wall_cell": wall_cell,
    "outcomes_cell": outcomes_cell,
    "parts_rows": parts_rows,
    "verdict_words": verdict_words,
    "delta_words": delta_words,
    "speedup_label": charts.speedup_label,
    "first_line": first_line,
    "seconds": seconds,
    "mib": mib,
    "part_names": charts.PART_NAMES,
    "link": link,
    "unstable_logs": unstable_logs,
}
