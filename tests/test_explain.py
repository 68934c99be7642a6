"""The explanation is built once and every output walks it: a finding added in explain is shown
by summary.md, summary.json, report.html and (when it says so) the terminal, unchanged."""

from __future__ import annotations

import dataclasses
import json

import factories as f
import pytest

from benchlib import report
from benchlib.analyze import summary
from benchlib.explain import explanation
from benchlib.model.results import InFlight
from benchlib.render.html import page as htmlreport

pytestmark = pytest.mark.unit


def outputs(s: summary.Summary) -> dict[str, str]:
    e = explanation.build(s)
    return {
        "md": report.render_markdown(s, e),
        "json": report.render_json(s, e),
        "html": htmlreport.render(s, e),
        "terminal": report.render_table(s, e),
    }


def shown_everywhere(s: summary.Summary, key: str) -> explanation.Finding:
    """Assert the finding under key is in every output, and return it."""
    e = explanation.build(s)
    (finding,) = [x for x in e.findings if x.key == key]
    said = outputs(s)
    assert f"## {finding.title}" in said["md"]
    assert f'data-finding="{key}"' in said["html"]
    data = json.loads(said["json"])
    assert [x for x in data["explanation"]["findings"] if x["key"] == key] == [
        json.loads(json.dumps(dataclasses.asdict(finding)))
    ]
    for line in finding.terminal:
        assert explanation.plain(line) in said["terminal"]
    return finding


def test_a_hung_run_is_a_finding_every_output_shows_with_the_test_it_hung_in() -> None:
    flight = InFlight("tests/test_x.py::test_y", "gw1", 3.0, 87.0)
    gate = f.result(
        "gate",
        status="timeout",
        wall_s=90.0,
        in_flight=(flight,),
        strategy_kw={"compare_to": "serial-full", "workers": 2, "timeout_s": 90.0},
    )
    s = summary.analyze([f.result("serial-full"), gate])
    finding = shown_everywhere(s, "hangs")
    assert finding.terminal and "`tests/test_x.py::test_y` on `gw1`" in finding.terminal[0]


def test_the_bottom_line_is_the_first_sentence_of_every_output() -> None:
    s = summary.analyze([f.result("serial-full")])
    e = explanation.build(s)
    said = outputs(s)
    assert e.bottom_line in said["md"].split("\n\n")[1]
    assert json.loads(said["json"])["bottom_line"] == e.bottom_line
    assert said["terminal"].rstrip("\n").splitlines()[-1] == explanation.plain(e.bottom_line)
    assert said["html"].index("data-bottom-line") < said["html"].index("<main>")


def test_nothing_to_say_is_said_as_such() -> None:
    e = explanation.build(summary.analyze([]))
    assert e.bottom_line == "Nothing can be said: no result file was read."


def test_runs_left_out_of_the_statistics_are_a_finding_every_output_shows() -> None:
    runs = [
        f.result("serial-full", warmup=True, round=0),
        f.result("serial-full", round=1),
        f.result("serial-full", status="crashed", message="killed by <signal> 9", round=2),
    ]
    finding = shown_everywhere(summary.analyze(runs), "left-out")
    assert finding.terminal == (
        "`serial-full` round 1: a warm-up",
        "`serial-full` round 3: crashed (killed by &lt;signal&gt; 9)",  # suite text, escaped
    )
