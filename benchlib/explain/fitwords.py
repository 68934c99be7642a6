"""Words for how the project fits: lanes not applicable, coverage given up, the fast lane.

Thin on purpose: each function turns one finding of fit or fastlane into lines; the terminal,
summary.md, summary.json and report.html all say the same lines.
"""

from __future__ import annotations

import html

from benchlib.analyze.fastlane import SNIPPET_IDS, Findings, Proposal
from benchlib.explain.wording import seconds, text
from benchlib.plan.fit import Fit, GivenUp, marker_fix_for, not_applicable_words


def lines(found: Fit) -> list[str]:
    """Return the fit's findings, one line each, for the terminal."""
    return [
        *(f"not run: {not_applicable_words(n)}" for n in found.not_applicable),
        *found.notes,
    ]


def given_up_words(g: GivenUp) -> str:
    cost = (
        f"; measured beside it, that work takes {seconds(g.cost_s)} of {g.baseline}'s time"
        if g.cost_s is not None
        else ""
    )
    return (
        f"{g.strategy} gives up the {g.what} that {g.baseline} measures: it is not the same "
        f"work done faster{cost}"
    )


def proposal_words(p: Proposal) -> list[str]:
    """Say what marking the tail `slow` would keep and save (a proposal until measured)."""
    label = "measured" if p.measured else "proposal, not measured yet"
    return [
        f"Fast lane ({label}): mark the {len(p.slow)} slowest of {p.tests} tests `slow`; "
        f'`-m "not slow"` keeps {p.kept_tests} tests ({p.kept_share:.0%} of the suite) and '
        f"saves about {seconds(p.slow_time_s)} of {p.baseline}'s {seconds(p.wall_s)} "
        f"(about {seconds(p.predicted_wall_s)} a run), from the durations of run {p.run_id}."
    ]


def snippet(p: Proposal, inifile: str | None) -> str:
    """Return what to add: the marker's registration, then the files or node ids to mark."""
    parts = [f"# register the marker: {marker_fix_for(inifile, 'slow')}"]
    whole = {f.path for f in p.files}
    for f in p.files:
        parts.append(f"# {f.path}: every test is slow ({f.tests}, {seconds(f.time_s)})")
        parts.append("pytestmark = pytest.mark.slow")
    rest = [n for n in p.slow if n.split("::", 1)[0] not in whole]
    if rest:
        shown = rest[:SNIPPET_IDS]
        parts += ["# conftest.py", "SLOW = {", *(f"    {n!r}," for n in shown)]
        if len(rest) > len(shown):
            parts.append(f"    # ... {len(rest) - len(shown)} more: see summary.json")
        parts += [
            "}",
            "",
            "",
            "def pytest_collection_modifyitems(items):",
            "    for item in items:",
            "        if item.nodeid in SLOW:",
            '            item.add_marker("slow")',
        ]
    parts += [
        "",
        '# then a lane in benchlib\'s configuration: [strategies.fast] markers = "not slow"',
        '# compare_to = "serial-full", scope = "subset" ([tool.benchlib.strategies.fast] in',
        "# pyproject.toml); `benchlib run` measures it",
    ]
    return "\n".join(parts)


def all_lines(f: Findings) -> list[str]:
    """Return every finding as lines: lanes not run, notes, coverage given up, the fast lane."""
    return [
        *(lines(f.fit) if f.fit else []),
        *(given_up_words(g) for g in f.given_up),
        *(proposal_words(f.proposal) if f.proposal else []),
    ]


def _snippet(f: Findings) -> str | None:
    if f.proposal is None:
        return None
    return snippet(f.proposal, f.fit.inifile if f.fit else None)


def markdown(f: Findings) -> str:
    """Return summary.md's section on how the project fits; empty when there is nothing."""
    found = all_lines(f)
    if not found:
        return ""
    out = ["## This project", "", *(f"- {text(w)}" for w in found)]
    code = _snippet(f)
    if code is not None:
        out += ["", "```python", code, "```"]
    return "\n".join(out)


def html_section(f: Findings) -> str:
    """Return report.html's section: the same lines, escaped."""
    found = all_lines(f)
    if not found:
        return ""
    body = "".join(f"<li>{html.escape(w)}</li>" for w in found)
    code = _snippet(f)
    pre = f"<pre>{html.escape(code)}</pre>" if code is not None else ""
    return f'<section id="project-fit"><h2>This project</h2><ul>{body}</ul>{pre}</section>'
