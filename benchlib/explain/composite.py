"""Render the logical runs of sharded and stepped strategies: parts, balance, node-id check.

Markdown for the report (``markdown`` places the section) and the check's words, which the
terminal table uses too. Host names and log paths go through wording's escapes.
"""

from __future__ import annotations

from benchlib.analyze.parts import Check, LogicalRun
from benchlib.analyze.summary import Summary
from benchlib.explain.wording import cell, code, link, seconds, text


def parts_section(summary: Summary) -> str:
    """Say how each sharded or stepped strategy's logical runs went, part by part."""
    if not summary.logical:
        return ""
    lines = [
        "## Shards and Steps",
        "",
        "A sharded strategy's wall is its slowest shard (the makespan); a stepped one's is the "
        "sum of its steps. *All parts* is what the parts spent in all (CI minutes). Imbalance "
        "is slowest \N{DIVISION SIGN} mean \N{MINUS SIGN} 1. The node-id check holds the "
        "parts' tests against the selection collected before the split.",
    ]
    names = dict.fromkeys(run.strategy for run in summary.logical)
    for name in names:
        runs = [run for run in summary.logical if run.strategy == name]
        lines += ["", *_logical_table(name, runs), "", *_parts_table(runs)]
        steps = summary.strategy(name).steps if name in {x.name for x in summary.strategies} else ()
        lines += ["", "Its steps, run in turn:", ""] if steps else []
        lines += [f"- Step {i}: {code(c)}" for i, c in enumerate(steps, start=1)]
    return "\n".join(lines)


def _logical_table(name: str, runs: list[LogicalRun]) -> list[str]:
    first = runs[0]
    what = f"{first.of} {first.kind}s" + (", in parallel" if first.kind == "shard" else ", in turn")
    lines = [f"### {code(name)} ({what})", ""]
    lines += ["| Round | Wall | All parts | Imbalance | Predicted | Node ids |"]
    lines.append("|---:|---:|---:|---:|---:|---|")
    for run in runs:
        warmup = " (warm-up)" if run.warmup else ""
        lines.append(
            f"| {run.round + 1}{warmup} | {seconds(run.wall_s)} | {seconds(run.total_s)} "
            f"| {_share(run.imbalance)} | {_share(run.predicted_imbalance)} "
            f"| {cell(check_words(run.check, run.kind))} |"
        )
    return lines


def _parts_table(runs: list[LogicalRun]) -> list[str]:
    kind = runs[0].kind.capitalize()
    lines = [f"| Round | {kind} | Tests | Predicted | Measured | Status | Host | Log |"]
    lines.append("|---:|---:|---:|---:|---:|---|---|---|")
    for run in runs:
        for p in run.parts:
            given = f"{p.ran} of {p.assigned}" if p.assigned is not None else str(p.ran)
            predicted = seconds(p.predicted_s) if p.predicted_s is not None else "-"
            lines.append(
                f"| {run.round + 1} | {p.index}/{run.of} | {given} | {predicted} "
                f"| {seconds(p.wall_s)} | {p.status} | {text(p.host)} | {link(p.log_path)} |"
            )
    return lines


def _share(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "-"


def check_words(c: Check, kind: str) -> str:
    """Say the node-id check: `ok: 60 of 60 selected, each once`, or what went wrong."""
    if c.ok:
        return f"ok: {c.ran} of {c.selection_size} selected, each once"
    problems = []
    if c.missing_parts:
        problems.append(f"no result for {kind} {', '.join(map(str, c.missing_parts))}")
    if not c.selections_agree:
        problems.append(f"the {kind}s were split from different selections")
    if c.lost:
        problems.append(f"{c.lost} of {c.selection_size} selected tests never ran")
    elif not c.digest_matches and not c.duplicated:
        problems.append(f"the {c.ran} tests run are not the {c.selection_size} selected")
    if c.duplicated:
        named = ", ".join(code(n) for n in c.duplicates)
        more = (
            f" and {c.duplicated - len(c.duplicates)} more"
            if c.duplicated > len(c.duplicates)
            else ""
        )
        problems.append(f"{c.duplicated} ran in more than one {kind}: {named}{more}")
    if c.short_parts:
        problems.append(f"{kind} {', '.join(map(str, c.short_parts))} ran fewer than it was given")
    return "**FAILED:** " + "; ".join(problems)
