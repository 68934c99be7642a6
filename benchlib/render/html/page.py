"""Render a Summary and its Advice as report.html: one self-contained page, charts inline.

No network: the style sheet and every chart (SVG) are inline, there is no script, and the
page's Content-Security-Policy forbids loading or running anything. Jinja2 escapes every
string it writes (autoescape), so a node id holding `<script>` is shown as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from benchlib import __version__, stats
from benchlib.analyze.summary import StrategySummary, Summary, UnstableTest
from benchlib.explain.model import Explanation, Finding, plain
from benchlib.explain.wording import (
    RSS_NOTE,
    delta_words,
    first_line,
    mib,
    seconds,
    verdict_words,
)
from benchlib.render.html import charts, lanes
from benchlib.render.html.svg import Chart

Inline = tuple[tuple[str, str], ...]  # ("text" | "code", value): Markdown words, made safe
_MD_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()!|~])")
_MD_BOLD = re.compile(r"(?<!\\)\*\*")
_MD_EMPHASIS = re.compile(r"(?<![\\*\w])\*(?=\S)([^*]+?)(?<=\S)(?<!\\)\*(?![*\w])")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Section:
    """One finding of the explanation, its sentences split for the template."""

    key: str
    title: Inline
    blocks: tuple[tuple[str, Inline, tuple[Inline, ...], HtmlTable | None], ...]


@dataclass(frozen=True)
class HtmlTable:
    head: tuple[Inline, ...]
    rows: tuple[tuple[Inline, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Page:
    """Everything the template shows, as plain values: it only lays them out."""

    summary: Summary
    bottom_line: Inline
    recommendations: tuple[Inline, ...]
    tradeoffs: dict[str, tuple[tuple[bool, Inline], ...]]
    whys: dict[str, Inline]
    verdicts: dict[str, Inline]  # by strategy: against its compare_to, naming it
    sections: tuple[Section, ...]
    charts: tuple[tuple[str, str, Chart | None], ...]  # (anchor, heading, chart)
    scans: tuple[Chart, ...]
    logs: dict[str, Link | None]  # by strategy: its representative run's log
    traces: dict[str, Link]  # by run id
    anchors: dict[str, str]  # strategy name -> an id safe in a URL fragment
    version: str
    method: str
    rss_note: str


def render(summary: Summary, e: Explanation) -> str:
    """Return the report as one HTML document."""
    from benchlib.render.html import template  # Jinja2 only when a page is rendered

    return template.render(page(summary, e), HELPERS)


def page(summary: Summary, e: Explanation) -> Page:
    """Collect what the page shows: the explanation's words, split into text and code."""
    return Page(
        summary=summary,
        bottom_line=inline(e.bottom_line),
        recommendations=tuple(inline(r.text) for r in e.recommendations),
        tradeoffs={
            name: tuple(
                (t.kind == "pro", inline(t.text)) for t in e.tradeoffs if t.strategy == name
            )
            for name in dict.fromkeys(t.strategy or "" for t in e.tradeoffs)
        },
        whys={w.strategy or "": inline(w.text) for w in e.whys},
        verdicts={
            s.name: inline(v.text)
            for s in summary.strategies
            if s.comparison and (v := e.verdict(s.name, s.comparison.before))
        },
        sections=tuple(section(f) for f in e.findings),
        charts=(
            ("walls", "Wall time", charts.walls(summary, {n: plain(x) for n, x in e.labels})),
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


def _cell(markdown: str) -> Inline:
    # A Markdown table escapes its pipes, code spans' included (wording.cell); a page's does not.
    return inline(markdown.replace("\\|", "|"))


def section(f: Finding) -> Section:
    blocks = []
    for b in f.blocks:
        t = b.table
        table = (
            HtmlTable(
                tuple(_cell(c) for c in t.head),
                tuple(tuple(_cell(c) for c in row) for row in t.rows),
                t.numeric,
            )
            if t is not None
            else None
        )
        blocks.append((b.kind, inline(b.text), tuple(inline(i) for i in b.items), table))
    return Section(f.key, inline(f.title), tuple(blocks))


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
        parts += _linked(markdown[at : m.start()])
        parts.append(("code", _code(markdown[m.end() : close.start()])))
        at = close.end()
    parts += _linked(markdown[at:])
    return tuple(p for p in parts if p[1])


# wording.link's `[text](url)`: its text escaped, its url quoted (no parenthesis left in it).
_MD_LINK = re.compile(r"(?<!\\)\[(.*?)(?<!\\)\]\(([^()\s]*)\)")


def _linked(markdown: str) -> list[tuple[str, str]]:
    """Split text around its links: ("link", text + newline + href), the href made safe."""
    parts, at = [], 0
    for m in _MD_LINK.finditer(markdown):
        parts.append(("text", _plain(markdown[at : m.start()])))
        parts.append(("link", _plain(m.group(1)) + "\n" + link(unquote(m.group(2))).href))
        at = m.end()
    return [*parts, ("text", _plain(markdown[at:]))]


def _plain(value: str) -> str:
    value = _MD_BOLD.sub("", value)  # emphasis: the page says the words, not the marks
    value = _MD_EMPHASIS.sub(r"\1", value)
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


HELPERS: dict[str, Any] = {
    "wall_cell": wall_cell,
    "outcomes_cell": outcomes_cell,
    "verdict_words": verdict_words,
    "delta_words": delta_words,
    "first_line": first_line,
    "seconds": seconds,
    "mib": mib,
    "link": link,
    "unstable_logs": unstable_logs,
}
