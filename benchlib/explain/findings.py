"""The report's sections as findings: where the time went, steps, instability, profile, scaling.

Each is worded once (reasons, composite, scaling say the sentences and tables in
Markdown) and cut here into blocks that every renderer lays out its own way. A new finding is
one more entry in SECTIONS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from benchlib.analyze.scan.pick import ScanResult
from benchlib.analyze.summary import Profile, SlowTest, Summary
from benchlib.explain import reasons, scaling
from benchlib.explain.composite import parts_section
from benchlib.explain.model import Block, Finding, Table
from benchlib.explain.wording import cell, code, count, seconds, text

Section = Callable[[Summary, Sequence[ScanResult]], Sequence[Finding]]


def build(summary: Summary, scans: Sequence[ScanResult]) -> tuple[Finding, ...]:
    return tuple(f for section in SECTIONS for f in section(summary, scans) if f.blocks)


def from_markdown(key: str, markdown: str, terminal: Sequence[str] = ()) -> list[Finding]:
    """Cut a worded Markdown section ("## Title" then blocks) into a finding."""
    if not markdown:
        return []
    head, _, body = markdown.partition("\n")
    return [Finding(key, head.removeprefix("## ").strip(), blocks(body), tuple(terminal))]


# A pipe that ends a cell: not escaped, so preceded by an even number of backslashes.
_CELL_EDGE = re.compile(r"(?<!\\)(?:\\\\)*\|")


def _cells(line: str) -> tuple[str, ...]:
    found, at = [], 0
    for m in _CELL_EDGE.finditer(line):
        found.append(line[at : m.end() - 1])
        at = m.end()
    found.append(line[at:])
    return tuple(c.strip() for c in found[1:-1])


def blocks(markdown: str) -> tuple[Block, ...]:
    """Cut Markdown into paragraphs, lists, tables and subheadings."""
    found: list[Block] = []
    for chunk in re.split(r"\n\s*\n", markdown.strip("\n")):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("### "):
            found.append(Block("heading", text=lines[0][4:].strip()))
            lines = lines[1:]
        if not lines:
            continue
        if all(line.startswith("|") for line in lines):
            rows = [_cells(line) for line in lines]
            numeric = tuple(c.endswith(":") for c in rows[1]) if len(rows) > 1 else ()
            found.append(Block("table", table=Table(rows[0], tuple(rows[2:]), numeric)))
        elif all(line.startswith("- ") for line in lines):
            found.append(Block("list", items=tuple(line[2:] for line in lines)))
        else:
            found.append(Block("paragraph", text=" ".join(line.strip() for line in lines)))
    return tuple(found)


# --- the sections ---------------------------------------------------------------------------


def _steps(summary: Summary, scans: Sequence[ScanResult]) -> list[Finding]:
    return from_markdown("steps", parts_section(summary))


def _where(summary: Summary, scans: Sequence[ScanResult]) -> list[Finding]:
    return from_markdown("where", reasons.where_section(summary))


def _hangs(summary: Summary, scans: Sequence[ScanResult]) -> list[Finding]:
    """Each run stopped with tests in flight, named with the test it hung in (the terminal too)."""
    items = [
        f"{reasons.hang_words(h)} (run {code(h.run_id)})"
        for s in summary.strategies
        for h in s.hangs
    ]
    if not items:
        return []
    body = "\n".join(f"- {x}" for x in items)
    return from_markdown("hangs", f"## Hung Runs\n\n{body}", items)


def _left_out(summary: Summary, scans: Sequence[ScanResult]) -> list[Finding]:
    """The runs no verdict rests on, and why: a reader counting runs finds the difference."""
    items = [
        f"{code(r.strategy)} round {r.round + 1}: "
        + ("a warm-up" if r.warmup else r.status + (f" ({text(r.message)})" if r.message else ""))
        for r in summary.runs
        if not r.counted
    ]
    if not items:
        return []
    body = "\n".join(f"- {x}" for x in items)
    return from_markdown("left-out", f"## Runs Left Out of the Statistics\n\n{body}", items)


def _profile(summary: Summary, scans: Sequence[ScanResult]) -> list[Finding]:
    p = summary.profile
    if p is None:
        return []
    return from_markdown("profile", "\n".join(profile_lines(p, summary)))


def _scaling(summary: Summary, scans: Sequence[ScanResult]) -> list[Finding]:
    return [f for s in scans for f in from_markdown(f"scaling-{s.strategy}", scaling.section([s]))]


SECTIONS: tuple[Section, ...] = (_steps, _where, _hangs, _left_out, _profile, _scaling)


# --- the profile's words --------------------------------------------------------------------


def profile_lines(p: Profile, summary: Summary) -> list[str]:
    lines = [
        "## Runtime Profile (baseline)",
        "",
        f"From run {code(p.run_id)} of {code(p.strategy)}: "
        f"{count(p.tests, 'test')}, {seconds(p.total_s)} of test time.",
    ]
    if p.tests:
        for phase, slow in (
            ("setup", p.slowest_setup),
            ("call", p.slowest_call),
            ("teardown", p.slowest_teardown),
        ):
            lines += ["", f"### Slowest in {phase}", "", *_slow_table(slow)]
        lines += ["", "### Time by folder", "", "Down to where the time splits.", ""]
        lines += ["| Folder | Tests | Time | Share |", "|---|---:|---:|---:|"]
        lines += [
            f"| {cell(code(d.directory))} | {d.tests} | {seconds(d.seconds)} | {d.share:.1%} |"
            for d in p.directories
        ]
        lines += reasons.files_table(p)
    lines += ["", *_warnings_table(summary)]
    return lines


def _slow_table(slow: tuple[SlowTest, ...]) -> list[str]:
    if not slow:
        return ["None of 0.01s or more."]
    rows = ["| Time | Test |", "|---:|---|"]
    return rows + [f"| {seconds(t.seconds)} | {cell(code(t.nodeid))} |" for t in slow]


def _warnings_table(summary: Summary) -> list[str]:
    shown = [s for s in summary.strategies if s.warning_categories]
    if not shown:
        return ["Warnings by category: none recorded."]
    categories = sorted({c for s in shown for c, _ in s.warning_categories})
    head = "| Category | " + " | ".join(cell(code(s.name)) for s in shown) + " |"
    rows = ["### Warnings by category", "", "The representative run of each strategy.", "", head]
    rows.append("|---|" + "---:|" * len(shown))
    for cat in categories:
        counts = [str(dict(s.warning_categories).get(cat, 0)) for s in shown]
        rows.append(f"| {cell(code(cat))} | " + " | ".join(counts) + " |")
    return rows
