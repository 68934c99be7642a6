"""The explanation of a report as data: what every output says, decided once.

Every sentence is Markdown inline text, as wording writes it: names as code spans, suite text
escaped. summary.md prints it as is, report.html splits it into text and code (page.inline),
the terminal strips the marks (plain), summary.json keeps it. A renderer walks these values
and decides nothing: which findings exist, their order and their words are settled here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  # right-aligned columns (Markdown `---:`)


@dataclass(frozen=True)
class Block:
    """One piece of a finding: a paragraph, a list, a table or a subheading."""

    kind: str  # "paragraph" | "list" | "table" | "heading"
    text: str = ""  # paragraph, heading
    items: tuple[str, ...] = ()  # list
    table: Table | None = None


@dataclass(frozen=True)
class Finding:
    """One section every output shows, under one key (summary.json's, report.html's anchor)."""

    key: str
    title: str
    blocks: tuple[Block, ...]
    terminal: tuple[str, ...] = ()  # the lines the terminal prints for it (none: not there)


@dataclass(frozen=True)
class Verdict:
    """A strategy against one reference: the ratio always names what it is against."""

    strategy: str
    against: str
    word: str  # judge's word: faster, slower, no significant difference, ...
    ratio: str  # `1.78× slower than `unit``: for a chart label or a table cell
    text: str  # the full verdict: factor, interval, runs
    delta: str  # `-1.23s (~40.00% faster)`
    significant: bool


@dataclass(frozen=True)
class Said:
    """One sentence about one strategy (or none), with the rule or kind that produced it."""

    kind: str  # a recommendation's rule, "why", "scan", ...
    strategy: str | None
    text: str


@dataclass(frozen=True)
class Explanation:
    bottom_line: str  # the first sentence of every output
    verdicts: tuple[Verdict, ...]  # against compare_to, then against the baseline
    whys: tuple[Said, ...]  # one per strategy that has one, from its verdict's runs
    recommendations: tuple[Said, ...]
    scan_picks: tuple[Said, ...]  # a scan's choice, one per scanned strategy
    findings: tuple[Finding, ...] = field(default=())  # the sections, in report order
    labels: tuple[tuple[str, str], ...] = ()  # (strategy, its chart label), naming the reference
    tradeoffs: tuple[Said, ...] = ()  # kind "pro" or "con", per strategy

    def pros_cons(self, strategy: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        mine = [t for t in self.tradeoffs if t.strategy == strategy]
        return (
            tuple(t.text for t in mine if t.kind == "pro"),
            tuple(t.text for t in mine if t.kind == "con"),
        )

    def verdict(self, strategy: str, against: str) -> Verdict | None:
        return next(
            (v for v in self.verdicts if (v.strategy, v.against) == (strategy, against)), None
        )

    def why(self, strategy: str) -> str | None:
        return next((w.text for w in self.whys if w.strategy == strategy), None)

    def label(self, strategy: str) -> str:
        return dict(self.labels).get(strategy, "")


_MARKS = re.compile(r"\\([\\`*_{}\[\]()!|~])|`+|\*\*")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def plain(markdown: str) -> str:
    """Return a sentence without its Markdown marks, for the terminal."""
    value = _MARKS.sub(lambda m: m.group(1) or "", markdown)
    for entity, char in _ENTITIES:
        value = value.replace(entity, char)
    return value
