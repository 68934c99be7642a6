"""Pure tests of the report renderers and the one function that writes files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import factories as f
import pytest
from test_summary import seed_results

from benchlib import pipeline, report
from benchlib.analyze import judge, summary
from benchlib.explain import explanation, wording
from benchlib.model.results import TestRecord

pytestmark = pytest.mark.unit


@pytest.fixture
def seed() -> summary.Summary:
    return summary.analyze(seed_results())


def test_markdown_states_the_seed_reports_deltas(seed: summary.Summary) -> None:
    md = report.render_markdown(seed)
    assert "- Delta: -101.71s (~46.96% faster)" in md
    assert "- Delta: -58.75s (~51.14% faster)" in md
    assert "- Before: `216.58s` wall (`serial-full`)" in md
    assert "- After: `114.87s` wall" in md
    assert "`1854 passed, 358 deselected, 11 warnings`" in md
    assert "- Result: `2105 passed, 1 skipped, 11 warnings`" in md
    assert (
        "- Speedup: 1.89\N{MULTIPLICATION SIGN} faster on a single run each: not significant; "
        "4 runs a side would settle it"
    ) in md


def test_markdown_has_the_reports_sections_in_order(seed: summary.Summary) -> None:
    md = report.render_markdown(seed)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Objective",
        "## Charts",
        "## Baseline (Before)",
        "## Strategy 1: `unit`",
        "## Strategy 2: `xdist-unit`",
        "## Strategy 3: `gate`",
        "## Full Quality-Gate Check",
        "## Instability",
        "## Runtime Profile (baseline)",
        "## Summary Recommendation",
        "## Experiment Evidence",
    ]
    assert md.startswith("# Pytest Acceleration Benchmark\n\n**Bottom line:** On this machine")
    assert "\n\nDate: 2026-11-26\n" in md
    assert "shared pages counted once per process" in md
    for r in seed.runs:
        assert f"[{r.log_path}]({r.log_path})" in md


def test_speedup_words_with_repeats_give_the_interval() -> None:
    c = judge.Judgement(
        "serial-full", "gate", "faster", 20.0, 10.6, -9.4, 47.0, 1.89, 1.81, 1.97, 5, 5
    )
    assert (
        wording.verdict_words(c)
        == "1.89\N{MULTIPLICATION SIGN} faster (95% CI 1.81\N{EN DASH}1.97, 5 runs each)"
    )
    slower = judge.Judgement("a", "b", "slower", 10.0, 12.3, 2.3, -23.0, 10 / 12.3, 0.8, 0.9, 5, 5)
    assert wording.delta_words(slower) == "+2.30s (~23.00% slower)"
    # The interval is said in the factor's direction: 1/0.9 to 1/0.8 times slower.
    assert wording.verdict_words(slower) == (
        "1.23\N{MULTIPLICATION SIGN} slower (95% CI 1.11\N{EN DASH}1.25, 5 runs each)"
    )


def test_skipped_missing_and_other_machines_are_said(tmp_path: Path) -> None:
    other = f.dataclasses.replace(f.MACHINE, cpu_model="Other CPU")
    s = summary.analyze(
        [
            f.result("serial-full", wall_s=20.0),
            f.result("xdist-unit", strategy_kw={"compare_to": "unit", "scope": "subset"}),
            f.result("gate", wall_s=9.0, machine=other, strategy_kw={"compare_to": "serial-full"}),
        ],
        [summary.SkippedFile("results/bad.json", "not valid JSON (Expecting value at line 1)")],
    )
    md = report.render_markdown(s)
    assert "- `results/bad.json`: not valid JSON \\(Expecting value at line 1\\)" in md
    assert "- `unit`: no results, though `xdist-unit` compare to it." in md
    assert "**Not comparable:** before and after ran on different machines" in md
    assert "these results come from 2 machines" in md
    table = report.render_table(s)
    assert "[machines differ]" in table
    assert "1 file(s) skipped: they could not be read" in table
    assert "bad.json" not in table  # named once, in the warnings: skipped_lines


def test_thousands_of_skipped_files_are_said_in_a_bounded_number_of_lines() -> None:
    """Issue 21 item 14: 3,334 junk files printed 6,700 lines, each skip twice."""
    bad = [summary.SkippedFile(f"r/junk{i}.json", "not valid JSON") for i in range(3334)]
    lines = report.skipped_lines(bad)
    assert len(lines) == report.SKIPPED_SHOWN + 1
    assert lines[0] == "skipped r/junk0.json: not valid JSON"
    assert lines[-1] == f"and {3334 - report.SKIPPED_SHOWN} more files skipped"
    assert report.skipped_lines(bad[:2]) == [
        "skipped r/junk0.json: not valid JSON",
        "skipped r/junk1.json: not valid JSON",
    ]


def test_instability_row_names_test_phase_and_first_line() -> None:
    ok = TestRecord("tests/db/test_docker.py::test_pg", "passed", 1.0)
    bad = TestRecord(
        ok.nodeid,
        "error",
        1.0,
        phase="teardown",
        message="APIError: did not receive an exit event\nTraceback",
    )
    gate = {"compare_to": "serial-full", "workers": 2}
    s = summary.analyze(
        [
            f.result("serial-full", tests=(ok,)),
            f.result("gate", tests=(bad,), status="tests-failed", strategy_kw=gate),
        ]
    )
    md = report.render_markdown(s)
    assert (
        "| `tests/db/test_docker.py::test_pg` | parallel-only | 2 | teardown "
        "| `serial-full`: 1 passed; `gate`: 1 error | APIError: did not receive an exit event |"
    ) in md
    assert "`tests/db/test_docker.py::test_pg` error in teardown: APIError" in md


def test_empty_summary_still_renders(tmp_path: Path) -> None:
    s = pipeline.summarize([tmp_path])
    md = report.render_markdown(s)
    assert "No result files were found." in md
    assert "no lane can be recommended" in md
    assert json.loads(report.render_json(s))["strategies"] == []


def test_json_carries_the_same_facts(seed: summary.Summary) -> None:
    data = json.loads(report.render_json(seed))
    assert data["format"] == "benchlib-summary"
    unit = next(s for s in data["strategies"] if s["name"] == "unit")
    assert unit["comparison"]["before_s"] == 216.58
    assert unit["outcome_text"] == "1854 passed, 358 deselected, 11 warnings"
    assert [r["rule"] for r in data["recommendations"]] == ["local", "gate"] + ["unsettled"] * 3
    assert unit["comparison"]["word"] == "single run"
    assert unit["comparison"]["verdict_text"] == wording.verdict_words(
        seed.strategy("unit").comparison  # type: ignore[arg-type]
    )


def test_table_has_a_line_per_strategy(seed: summary.Summary) -> None:
    lines = report.render_table(seed).splitlines()
    assert lines[0].split() == ["strategy", "scope", "status", "wall", "vs", "delta", "verdict"]
    unit = next(line for line in lines if line.startswith("unit "))
    assert "-101.71s (~46.96% faster)" in unit
    table = lines[: lines.index("")]
    assert len(table) == 5
    # Then the recommendations, and last the bottom line, as the other outputs say them.
    e = explanation.build(seed)
    assert lines[-1] == explanation.plain(e.bottom_line)
    assert [explanation.plain(r.text) for r in e.recommendations] == [
        line.split(". ", 1)[1] for line in lines if line.startswith("  ") and ". " in line
    ]


def test_write_outputs_writes_files_and_appends_to_step_summary(
    tmp_path: Path, seed: summary.Summary, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = tmp_path / "step.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    written = report.write_outputs(seed, explanation.build(seed), tmp_path / "out")
    md, js = tmp_path / "out" / "summary.md", tmp_path / "out" / "summary.json"
    assert written == [md, js, tmp_path / "out" / "report.html", step]
    assert md.read_text(encoding="utf-8") == report.render_markdown(seed)
    assert json.loads(js.read_text(encoding="utf-8"))["baseline"] == "serial-full"
    assert (
        step.read_text(encoding="utf-8") == "earlier step\n" + report.render_markdown(seed) + "\n"
    )


def test_write_outputs_without_step_summary(
    tmp_path: Path, seed: summary.Summary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    written = [p.name for p in report.write_outputs(seed, explanation.build(seed), tmp_path)]
    assert written == ["summary.md", "summary.json", "report.html"]


def test_suite_text_is_escaped_in_markdown() -> None:
    evil = TestRecord(
        "tests/test_x.py::t[`a`]",
        "failed",
        1.0,
        phase="call",
        message="<script>alert(1)</script> <img src=x onerror=y> <b>b</b> [link](http://x)",
    )
    s = summary.analyze(
        [
            f.result("serial-full", tests=(TestRecord(evil.nodeid, "passed", 1.0),)),
            f.result(
                "gate",
                tests=(evil,),
                status="tests-failed",
                argv=("python", "-m", "pytest", "-n", "2", "-p", "benchlib_observer"),
                strategy_kw={"compare_to": "serial-full", "description": "<b>fast</b>"},
            ),
        ]
    )
    md = report.render_markdown(s)
    for raw in ("<script>", "<img", "<b>", "[link](http"):
        assert raw not in md
    assert "&lt;script&gt;" in md
    assert "``tests/test_x.py::t[`a`]``" in md  # a longer fence keeps the backticks inside
    assert "benchlib_observer" not in md
    assert "python -m pytest -n 2\n" in md


def test_teardown_rows_that_would_read_0_00s_are_left_out() -> None:
    tests = (
        TestRecord("tests/a.py::t", "passed", 1.0, teardown_s=0.004),
        TestRecord("tests/a.py::u", "passed", 1.0, teardown_s=0.5),
    )
    md = report.render_markdown(summary.analyze([f.result("serial-full", tests=tests)]))
    teardown = md.split("### Slowest in teardown")[1].split("Time by")[0]
    assert "0.00s" not in teardown
    assert "| 0.50s | `tests/a.py::u` |" in teardown


def test_sentences_say_counts_in_number_and_close_each_parenthesis_once() -> None:
    """One of each: 1 worker, 1 new failure, 1 unstable test; one bench's pairs say no jobs."""
    base = [
        f.result("serial-full", wall_s=w, round=i, bench_id="b")
        for i, w in enumerate([10.0, 10.2, 9.9, 10.1])
    ]
    one = {"workers": 1, "compare_to": "serial-full"}
    lane = [
        f.result("x1", wall_s=w, round=i, bench_id="b", strategy_kw=one)
        for i, w in enumerate([6.0, 6.1, 5.9, 6.05])
    ]
    s = summary.analyze([*base, *lane])
    md, table = report.render_markdown(s), report.render_table(s)
    data = json.loads(report.render_json(s))
    said = md + table + json.dumps(data["explanation"], ensure_ascii=False)
    assert "xdist with 1 worker:" in md
    assert "))" not in said
    assert "in 1 job" not in said
    assert not re.search(r"\b1 (tests|workers|runs|pairs|failures)\b", said)
    assert "Why:\n\n##" not in md and "### Why\n\n##" not in md
