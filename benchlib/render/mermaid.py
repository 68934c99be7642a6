"""Charts GitHub draws from the Markdown itself: Mermaid blocks, no image to host.

An `xychart-beta` of the strategies' median wall times, the baseline's as a line across, and a
`gantt` of each strategy's representative run on one time axis: pytest's start-up, boot and
collection, each worker's span of tests, and shutdown. The numbers are the summary's, written
as the tables write them. Every label is cut down to characters Mermaid never reads as syntax.
"""

from __future__ import annotations

import re

from benchlib.analyze.chartdata import FAILING, RunPicture
from benchlib.analyze.summary import StrategySummary, Summary
from benchlib.explain.wording import count, seconds

# Letters, digits and a little punctuation: no quote, bracket, colon, hash, semicolon, comma
# or angle bracket, each of which means something to one of Mermaid's diagram grammars.
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._+=/()-]")
LABEL_MAX = 40
# Times are written as a clock from midnight: Mermaid reads and draws dates in the reader's
# time zone, and only a time of day reads the same in every one of them.
DATE_FORMAT = "HH:mm:ss.SSS"
GANTT_PARTS = (("startup", "start-up"), ("boot", "boot"), ("collection", "collection"))


def label(value: str) -> str:
    """Return value with every character Mermaid could read as syntax replaced by `_`."""
    cut = _UNSAFE.sub("_", value.replace("\n", " ")).strip()
    return (cut[: LABEL_MAX - 1] + "_" if len(cut) > LABEL_MAX else cut) or "_"


def render(summary: Summary) -> str:
    """Return the Charts section, or "" when there is nothing to draw."""
    blocks = [b for b in (walls(summary), gantt(summary)) if b]
    if not blocks:
        return ""
    body = "\n\n".join(f"```mermaid\n{b}\n```" for b in blocks)
    return (
        "## Charts\n\n"
        "Median wall time per strategy (the line is the baseline's), then each strategy's "
        f"representative run on one time axis (see report.html for every test).\n\n{body}"
    )


def _timed(summary: Summary) -> list[StrategySummary]:
    return [s for s in summary.strategies if s.wall is not None]


def walls(summary: Summary) -> str:
    """Return an xychart-beta of median wall times, in seconds as the tables round them."""
    shown = _timed(summary)
    if not shown:
        return ""
    medians = [_number(s.wall.median_s) for s in shown if s.wall]
    lines = [
        "xychart-beta",
        '    title "Median wall time (s)"',
        "    x-axis [" + ", ".join(f'"{label(s.name)}"' for s in shown) + "]",
        f'    y-axis "seconds" 0 --> {_number(max(float(m) for m in medians) * 1.1)}',
        f"    bar [{', '.join(medians)}]",
    ]
    base = next((s for s in shown if s.name == summary.baseline), None)
    if base is not None and base.wall is not None:
        lines.append(f"    line [{', '.join([_number(base.wall.median_s)] * len(shown))}]")
    return "\n".join(lines)


def _number(value: float) -> str:
    return seconds(value).removesuffix("s")


def gantt(summary: Summary) -> str:
    """Return a gantt of each strategy's representative run, strategies on one time axis."""
    by_name = {p.strategy: p for p in summary.charts.pictures}
    shown = [by_name[s.name] for s in summary.strategies if s.name in by_name]
    shown = [p for p in shown if p.breakdown is not None and p.lanes]
    if not shown:
        return ""
    lines = [
        "gantt",
        "    title Representative runs, from pytest's start",
        f"    dateFormat {DATE_FORMAT}",
        "    axisFormat %M:%S",
    ]
    for p in shown:
        lines += [f"    section {label(p.strategy)}", *_tasks(p)]
    return "\n".join(lines)


def _tasks(p: RunPicture) -> list[str]:
    assert p.breakdown is not None
    b = p.breakdown
    tasks, at = [], 0.0
    for name, words in GANTT_PARTS:
        value = getattr(b, f"{name}_s")
        if seconds(value) != seconds(0):
            tasks.append(_task(f"{words} {seconds(value)}", "done", at, at + value))
        at += value
    for lane in p.lanes:
        start = lane.segments[0].start_s
        end = max(s.start_s + s.duration_s for s in lane.segments)
        failed = any(s.outcome in FAILING or s.failing for s in lane.segments)
        tests = sum(s.tests for s in lane.segments)
        words = f"{label(lane.worker)} {count(tests, 'test')} {seconds(end - start)}"
        tasks.append(_task(words, "crit" if failed else "active", start, end))
    shutdown = f"shutdown {seconds(b.shutdown_s)}"
    tasks.append(_task(shutdown, "done", b.wall_s - b.shutdown_s, b.wall_s))
    return tasks


def _task(words: str, tag: str, start_s: float, end_s: float) -> str:
    return f"    {words} :{tag}, {_clock(start_s)}, {_clock(max(end_s, start_s + 0.001))}"


def _clock(value_s: float) -> str:
    """Write seconds from the start as DATE_FORMAT: 75.5 is 00:01:15.500."""
    ms = round(value_s * 1000)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
