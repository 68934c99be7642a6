"""The regression gate in Markdown, for a pull request's job summary page.

The first line says the outcome (fails, or passes), then which lanes moved, by how much and
with their 95% intervals, in the words every report uses (wording.verdict_words). The plain
table `benchlib compare` prints stays report.render_gate's.
"""

from __future__ import annotations

from benchlib.analyze.compare import Gate, GateRow, exit_code
from benchlib.explain.wording import cell, code, delta_words, seconds, text, verdict_words


def render(g: Gate, base: str, current: str) -> str:
    """Return the gate's findings as Markdown: outcome first, then one row a lane."""
    threshold = f"{g.threshold * 100:g}%"
    moved = [r for r in g.rows if r.judgement is not None and r.judgement.word in _MOVED]
    lines = ["## Performance gate", "", _headline(g, moved, threshold), ""]
    lines += [
        "| lane | base | head | change | verdict |",
        "|---|---|---|---|---|",
        *(_row(r, threshold) for r in g.rows),
        "",
        f"Base: {code(base)}; head: {code(current)}. A lane fails the gate when it is "
        f"significantly slower (its 95% interval excludes no change) by more than {threshold}.",
    ]
    broken = g.broken_budgets
    if broken:
        lines += ["", *(f"- Budget broken: {code(b.strategy)} {text(b.key)}" for b in broken)]
    if g.warnings:
        lines += ["", "Warnings:", *(f"- {text(w)}" for w in g.warnings)]
    return "\n".join(lines) + "\n"


_MOVED = ("faster", "slower")


def _headline(g: Gate, moved: list[GateRow], threshold: str) -> str:
    if exit_code(g):
        names = ", ".join(code(r.name) for r in g.regressions) or "none"
        budgets = len(g.broken_budgets)
        return (
            f"**FAILED:** significantly slower by more than {threshold}: {names}"
            + (f"; {budgets} budget(s) broken" if budgets else "")
            + "."
        )
    if not moved:
        return "**Passed:** no lane moved significantly."
    said = ", ".join(f"{code(r.name)} {r.judgement.word}" for r in moved if r.judgement)
    return f"**Passed:** significant moves within {threshold}, or faster: {said}."


def _row(r: GateRow, threshold: str) -> str:
    j = r.judgement
    if j is None:
        cells = ["-", "-", "-", f"only in {r.presence.removesuffix(' only')}"]
    else:
        verdict = text(verdict_words(j))
        if r.regressed:
            verdict = f"**REGRESSION** (slower by more than {threshold}): {verdict}"
        cells = [
            seconds(j.before_s) if j.before_s is not None else "-",
            seconds(j.after_s) if j.after_s is not None else "-",
            delta_words(j),
            verdict,
        ]
    return "| " + " | ".join(cell(c) for c in [code(r.name), *cells]) + " |"
