"""Pure tests of report.html and the chart facts behind it, on results built by factories."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import factories as f
import pytest
import timedruns

from benchlib import pipeline, report
from benchlib.analyze import chartdata, summary, timeline
from benchlib.explain import explanation, wording
from benchlib.model.results import RunResult, TestRecord
from benchlib.render.html import page as htmlreport

pytestmark = pytest.mark.unit

EVIL_ID = "tests/test_x.py::test_p[<script>window.__pwned=1</script>]"
EVIL_ATTR = 'tests/test_x.py::test_p["><img src=x onerror="window.__pwned=2">]'
EVIL_TEXT = '<script>window.__pwned=3</script> "><img src=x onerror=y> & `tick`'


class Elements(HTMLParser):
    """Every element of a page, as (tag, attributes), and the page's text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def select(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            a for t, a in self.found if t == tag and all(a.get(k) == v for k, v in want.items())
        ]


@cache
def big_set() -> tuple[RunResult, ...]:
    return tuple(timedruns.four_strategies(tests=600, repeats=4))


def render(runs: tuple[RunResult, ...] | list[RunResult]) -> tuple[summary.Summary, str]:
    s = summary.analyze(list(runs))
    return s, htmlreport.render(s, explanation.build(s))


def representative(s: summary.Summary, runs: tuple[RunResult, ...], name: str) -> RunResult:
    run_id = s.strategy(name).representative_run
    return next(r for r in runs if r.run_id == run_id)


def test_page_loads_nothing_and_runs_nothing() -> None:
    _, page = render(big_set())
    found = Elements(page)
    tags = Counter(t for t, _ in found.found)
    assert tags["script"] == tags["img"] == tags["link"] == tags["iframe"] == 0
    srcs = [a for _, a in found.found if "src" in a or "srcset" in a]
    assert srcs == []
    # The one URL in the page is SVG's namespace name, which is never fetched.
    assert page.count("http://") == page.count('xmlns="http://www.w3.org/2000/svg"')
    assert "https://" not in page and "@import" not in page and "url(" not in page
    (csp,) = found.select("meta", http_equiv="Content-Security-Policy")
    assert (csp["content"] or "").startswith("default-src 'none';")


def test_charts_draw_what_the_data_holds() -> None:
    runs = big_set()
    s, page = render(runs)
    found = Elements(page)
    assert len(found.select("circle", data_kind="run")) == len(runs)
    assert len(found.select("line", data_kind="median")) == len(s.strategies)
    assert len(found.select("rect", data_kind="part")) == 7 * len(s.strategies)
    for name in ("serial-full", "gate"):
        rep = representative(s, runs, name)
        segments = found.select("rect", data_kind="segment", data_strategy=name)
        assert sum(int(a["data-tests"] or 0) for a in segments) == len(rep.tests)
        marks = found.select("path", data_kind="fail", data_strategy=name)
        failing = sum(1 for t in rep.tests if t.outcome in ("failed", "error"))
        assert failing and sum(int(a["data-failing"] or 0) for a in marks) == failing
        workers = {t.worker or "main" for t in rep.tests}
        lanes = found.select("rect", data_kind="lane", data_strategy=name)
        assert {a["data-worker"] for a in lanes} == workers
    assert len(found.select("path", data_series="rss")) == len(s.strategies)


def test_parts_table_says_the_breakdown_and_bound() -> None:
    runs = big_set()
    s, page = render(runs)
    rep = representative(s, runs, "gate")
    parts, bound = timeline.breakdown(rep), timeline.bound(rep)
    assert parts is not None and bound is not None
    # In the page's Where the Time Went, as in summary.md's: one column per strategy.
    where = page.split('data-finding="where"')[1].split("</table>")[0]
    column = list(s.strategies).index(s.strategy("gate")) + 1
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in where.split("<tr>")[2:]]
    said = [row[column] for row in rows if len(row) > column]
    parts_said = [wording.seconds(v) for _, v in parts.parts()]
    assert [x.split(" (")[0] for x in said[: len(parts_said)]] == parts_said
    assert wording.seconds(rep.wall_s) in said[len(parts_said)]
    assert said[len(parts_said) + 1 : len(parts_said) + 3] == [
        wording.seconds(bound.bound_s),
        bound.term,
    ]


def evil_runs() -> list[RunResult]:
    tests = (
        TestRecord(EVIL_ID, "passed", 0.5, call_s=0.5, start_s=0.3),
        TestRecord(
            EVIL_ATTR, "failed", 0.5, call_s=0.5, phase="call", message=EVIL_TEXT, start_s=0.8
        ),
    )
    kw = {"strategy_kw": {"description": EVIL_TEXT}, "log_path": 'logs/"><script>x</script>.log'}
    base = f.result("serial-full", tests=tests, status="tests-failed", **kw)
    fixed = tuple(dataclasses.replace(t, outcome="passed", phase=None, message=None) for t in tests)
    gate = f.result("gate", tests=fixed, strategy_kw={"compare_to": "serial-full"}, wall_s=8.0)
    return [base, gate]


def test_suite_text_is_text_in_every_place() -> None:
    _, page = render(evil_runs())
    found = Elements(page)
    tags = Counter(t for t, _ in found.found)
    assert tags["script"] == tags["img"] == 0
    assert not [k for _, a in found.found for k in a if k.startswith("on")]
    text = "".join(found.text)
    for value in (EVIL_ID, EVIL_ATTR, EVIL_TEXT):
        assert value in text  # shown as itself, in a title or a table
    hrefs = [a["href"] or "" for a in found.select("a", data_link="log")]
    assert "logs/%22%3E%3Cscript%3Ex%3C/script%3E.log" in hrefs


def test_a_link_never_follows_a_scheme_from_a_file() -> None:
    assert htmlreport.link("javascript:alert(1)").href == "javascript%3Aalert%281%29"
    assert htmlreport.link("logs/a b.log").href == "logs/a%20b.log"


def test_inline_splits_wordings_markdown_into_text_and_code() -> None:
    md = f"use {wording.code('a`b')} for {wording.text('<x> *y* [z](w)')} and {wording.code('`')}"
    assert htmlreport.inline(md) == (
        ("text", "use "),
        ("code", "a`b"),
        ("text", " for <x> *y* [z](w) and "),
        ("code", "`"),
    )


def test_lanes_merge_tiny_tests_and_keep_every_test_and_failure() -> None:
    specs = timedruns.suite(5000)
    tests = timedruns.place(specs, 2, 1.0)
    wall = max(t.end_s or 0.0 for t in tests)
    lanes = chartdata.lanes(tests, wall * chartdata.MERGE_SHARE)
    assert [lane.worker for lane in lanes] == ["gw0", "gw1"]
    for lane in lanes:
        mine = [t for t in tests if t.worker == lane.worker]
        assert sum(s.tests for s in lane.segments) == len(mine)
        assert sum(s.failing for s in lane.segments) == sum(
            1 for t in mine if t.outcome in chartdata.FAILING
        )
        assert len(lane.segments) <= 2 / chartdata.MERGE_SHARE
        assert len(lane.segments) < len(mine) / 5
        ends = [(s.start_s, s.start_s + s.duration_s) for s in lane.segments]
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(ends))


def test_a_long_test_stands_alone_and_a_merged_segment_shows_its_worst() -> None:
    tests = (
        TestRecord("t.py::a", "passed", 0.001, start_s=0.0),
        TestRecord("t.py::b", "error", 0.001, phase="setup", message="boom", start_s=0.001),
        TestRecord("t.py::long", "passed", 5.0, start_s=0.002),
    )
    (lane,) = chartdata.lanes(tests, 0.5)
    merged, long = lane.segments
    assert (merged.tests, merged.outcome, merged.worst_nodeid, merged.failing) == (
        2,
        "error",
        "t.py::b",
        1,
    )
    assert (long.tests, long.nodeid, long.duration_s) == (1, "t.py::long", 5.0)
    title = htmlreport.lanes.segment_title(merged)
    assert "2 tests merged" in title and "t.py::b error in setup" in title and "boom" in title


def test_resources_say_cpu_as_cores_busy() -> None:
    r = f.result(samples=f.results.Samples((1.0, 2.0, 3.0), (1, 2, 3), (1, 2, 1), (0.5, 2.0, 1.0)))
    assert chartdata.resources(r).cpu_cores == (0.0, 1.5, 0.0)


SCAN = {
    "strategy": "gate",
    "points": [
        {
            "workers": w,
            "dist": "load",
            "runs": 5,
            "wall_s_median": 10.0 / (w + 1),
            "ci_low": 9.0 / (w + 1),
            "ci_high": 11.0 / (w + 1),
            "peak_rss_bytes": 2**20 * w,
        }
        for w in (0, 1, 2)
    ],
    "fit": {"serial_s": 1.5, "parallel_s": 8.5, "model": "<b>amdahl</b>"},
    "recommended": {"workers": 2, "dist": "load"},
    "predicted": [{"workers": w, "dist": "load", "wall_s": 1.5 + 8.5 / w} for w in (4, 8)],
}


def test_a_scan_beside_the_results_is_drawn_with_predictions_dashed(tmp_path: Path) -> None:
    f.write(f.result("serial-full"), tmp_path)
    (tmp_path / "scan.json").write_text(json.dumps(SCAN))
    s = pipeline.summarize([tmp_path])
    assert s.skipped == ()
    (scan,) = s.charts.scans
    assert [p.workers for p in scan.points] == [0, 1, 2] and scan.recommended_workers == 2
    found = Elements(htmlreport.render(s, explanation.build(s)))
    assert len(found.select("circle", data_kind="measured")) == 3
    assert len(found.select("circle", data_kind="predicted")) == 2
    (line,) = found.select("path", data_kind="predicted-line")
    assert "predicted" in (line["class"] or "")
    assert len(found.select("circle", data_kind="recommended")) == 1
    assert "model = <b>amdahl</b>" in "".join(found.text)


def test_the_scaling_chart_draws_one_prediction_series_per_machine_size(tmp_path: Path) -> None:
    here = [{"workers": w, "dist": "load", "wall_s": 2.0, "cpus": 1.6} for w in (4, 8)]
    idle = [
        {"workers": w, "dist": "load", "wall_s": 1.5 + 8.5 / w, "cpus": w, "on_this_machine": False}
        for w in (4, 8, 16)
    ]
    fit = {"serial_s": 1.5, "parallel_s": 8.5, "per_worker_s": 0.01}
    scan = {**SCAN, "cpus": 2, "fit": fit, "predicted": here + idle}
    f.write(f.result("serial-full"), tmp_path)
    (tmp_path / "scan.json").write_text(json.dumps(scan))
    s = pipeline.summarize([tmp_path])
    page = htmlreport.render(s, explanation.build(s))
    found = Elements(page)
    series = Counter(c["data-series"] for c in found.select("circle", data_kind="predicted"))
    assert series == {
        "predicted: this machine as it was (2 CPUs)": 2,
        "predicted: an idle machine with 4 CPUs": 1,
        "predicted: an idle machine with 8 CPUs": 1,
        "predicted: an idle machine with 16 CPUs": 1,
    }
    # One line for the one series with several points: sizes are never joined to each other.
    assert len(found.select("path", data_kind="predicted-line")) == 1
    for label in series:
        assert f"</span>{label}</li>" in page  # each series in the legend
    assert len(found.select("line", data_kind="cpus")) == 1  # the machine's CPU count marked
    assert len(found.select("path", data_kind="fit")) == 1  # the fitted curve
    chart = page.split('data-chart="scan-0"')[1].split("</figure>")[0]
    words = re.findall(r'<text[^>]*class="([^"]*)"[^>]*>([^<]*)</text>', chart)
    # No label inside the plot: only the axes' ticks and captions are text.
    assert words and {cls for cls, _ in words} <= {"tick", "axis-caption"}, words


def test_an_unusable_scan_is_skipped_with_its_reason(tmp_path: Path) -> None:
    f.write(f.result("serial-full"), tmp_path)
    (tmp_path / "scan.json").write_text(json.dumps({**SCAN, "points": [{"workers": "two"}]}))
    s = pipeline.summarize([tmp_path])
    (skipped,) = s.skipped
    assert skipped.path.endswith("scan.json") and "not a usable scan" in skipped.reason
    assert s.charts.scans == ()


def test_trace_files_are_linked_when_present(tmp_path: Path) -> None:
    with_trace, without = f.result("serial-full"), f.result("gate")
    for r in (with_trace, without):
        f.write(r, tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / f"{with_trace.run_id}.trace.json").write_text("{}")
    s = pipeline.summarize([tmp_path / f"{r.run_id}.json" for r in (with_trace, without)])
    assert s.charts.traces == ((with_trace.run_id, f"logs/{with_trace.run_id}.trace.json"),)
    found = Elements(htmlreport.render(s, explanation.build(s)))
    (trace,) = found.select("a", data_link="trace")
    assert trace["href"] == f"logs/{with_trace.run_id}.trace.json"


def test_write_outputs_writes_the_page_and_keeps_lanes_out_of_the_json(tmp_path: Path) -> None:
    s = summary.analyze(list(big_set()))
    written = report.write_outputs(s, explanation.build(s), tmp_path)
    assert tmp_path / "report.html" in written
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    pictures = data["charts"]["pictures"]
    assert len(pictures) == 4 and "lanes" not in pictures[0] and "breakdown" in pictures[0]


@pytest.mark.integration
def test_a_run_never_imports_the_template_engine() -> None:
    code = (
        "import sys, benchlib.cli.main, benchlib.measure.bench, benchlib.cli.progress; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jinja2', 'markupsafe')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    help_ = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "benchlib", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "jinja2" not in help_.stderr and "benchlib.render.html" not in help_.stderr


def test_markdown_links_and_emphasis_become_elements_never_marks() -> None:
    md = (
        "see [logs/a\\_b.log](logs/a_b.log), *All parts*, \\*star\\* and "
        "[x](javascript:alert%281%29)"
    )
    assert htmlreport.inline(md) == (
        ("text", "see "),
        ("link", "logs/a_b.log\nlogs/a_b.log"),
        ("text", ", All parts, *star* and "),
        ("link", "x\njavascript%3Aalert%281%29"),  # a scheme is quoted, never followed
    )
