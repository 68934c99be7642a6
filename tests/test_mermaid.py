"""Pure tests of the Mermaid charts in summary.md: the summary's numbers, safe labels.

That the blocks parse with Mermaid itself is checked in a real browser (test_browser.py).
"""

from __future__ import annotations

import dataclasses
import re

import factories as f
import pytest
import timedruns

from benchlib import report
from benchlib.analyze import summary
from benchlib.explain import wording
from benchlib.render import mermaid

pytestmark = pytest.mark.unit

HOSTILE = ('a"]\n%%{init: {"theme": "dark"}}%%', "x:y;z#w<b>,[c]`d`", "ok name-1.2")


@pytest.fixture(scope="module")
def seed() -> summary.Summary:
    return summary.analyze(timedruns.four_strategies(tests=400, repeats=2))


def test_labels_keep_only_characters_mermaid_reads_as_text() -> None:
    for value in HOSTILE:
        cut = mermaid.label(value)
        assert re.fullmatch(r"[A-Za-z0-9 ._+=/()-]+", cut), cut
        assert len(cut) <= mermaid.LABEL_MAX
    assert mermaid.label("ok name-1.2") == "ok name-1.2"
    assert mermaid.label("") == "_"


def test_the_wall_chart_shows_the_tables_medians(seed: summary.Summary) -> None:
    chart = mermaid.walls(seed)
    names = re.search(r"x-axis \[(.*)\]", chart)
    bars = re.search(r"bar \[(.*)\]", chart)
    assert names and bars
    assert names.group(1) == ", ".join(f'"{s.name}"' for s in seed.strategies)
    md = report.render_markdown(seed)
    for s, value in zip(seed.strategies, bars.group(1).split(", "), strict=True):
        assert s.wall is not None and f"{value}s" == wording.seconds(s.wall.median_s)
        assert f"`{value}s`" in md  # the number the strategy's section says
    base = seed.strategy("serial-full").wall
    assert base and f"line [{', '.join([wording.seconds(base.median_s)[:-1]] * 4)}]" in chart


def test_the_gantt_shows_each_runs_parts_on_one_clock(seed: summary.Summary) -> None:
    chart = mermaid.gantt(seed)
    sections = re.findall(r"section (.*)", chart)
    assert sections == [s.name for s in seed.strategies]
    for p in seed.charts.pictures:
        b = p.breakdown
        assert b is not None
        body = chart.split(f"section {p.strategy}\n")[1].split("section")[0]
        assert f"start-up {wording.seconds(b.startup_s)} :done, 00:00:00.000, " in body
        end = mermaid._clock(b.wall_s)
        assert f"shutdown {wording.seconds(b.shutdown_s)} :done, " in body
        assert body.rstrip().endswith(end)
        for lane in p.lanes:
            tests = sum(s.tests for s in lane.segments)
            assert f"    {lane.worker} {tests} tests " in body
    assert mermaid._clock(75.5) == "00:01:15.500"


def test_suite_names_cannot_break_out_of_a_block() -> None:
    runs = timedruns.four_strategies(tests=60, repeats=1)
    evil = [dataclasses.replace(r, strategy=f.strategy(HOSTILE[0], workers=0)) for r in runs[:1]]
    tests = tuple(dataclasses.replace(t, worker=HOSTILE[1]) for t in runs[3].tests)
    odd = dataclasses.replace(runs[3], tests=tests)
    text = mermaid.render(summary.analyze([*evil, odd]))
    for block in re.findall(r"```mermaid\n(.*?)\n```", text, re.S):
        for line in block.splitlines()[1:]:
            assert not re.search(r"%%|[#;<>`{}]", line.replace(" --> ", " ")), line
    assert "    section a__ ___init_ __theme__ _dark_____\n" in text
    assert "    x_y_z_w_b___c__d_ 60 tests " in text


def test_no_runs_no_charts() -> None:
    assert mermaid.render(summary.analyze([])) == ""
    assert "```mermaid" not in report.render_markdown(
        summary.analyze([f.result(wall_s=0.0, status="crashed")])
    )
