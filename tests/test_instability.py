"""Unstable tests classified (parallel-only, flaky, failing everywhere, selection-dependent),
counted only where they differ, with the fix that fits; time per file and per folder."""

from __future__ import annotations

import json

import factories as f
import pytest

from benchlib import report
from benchlib.analyze import pertest, summary
from benchlib.model.results import InFlight, RunResult, TestRecord

pytestmark = pytest.mark.unit

T = "tests/db/test_docker.py::test_pg"
OTHER = "tests/test_plain.py::test_ok"
GATE = {"compare_to": "serial-full", "workers": 2}
UNIT = {"compare_to": "serial-full", "scope": "subset"}


def record(outcome: str, phase: str | None = None) -> TestRecord:
    message = None if outcome == "passed" else "APIError: did not receive an exit event"
    return TestRecord(T, outcome, 1.0, phase=phase, message=message)  # type: ignore[arg-type]


def run(name: str, outcome: str, phase: str | None = None, **kw: object) -> RunResult:
    tests = (record(outcome, phase), TestRecord(OTHER, "passed", 0.5))
    return f.result(name, tests=tests, **kw)  # type: ignore[arg-type]


def only(s: summary.Summary) -> pertest.UnstableTest:
    [u] = s.instability
    return u


def test_failing_in_every_parallel_run_and_never_serially_is_parallel_only() -> None:
    s = summary.analyze(
        [
            run("serial-full", "passed"),
            run("unit", "passed", strategy_kw=UNIT),
            run("gate", "error", "teardown", strategy_kw=GATE),
            run("gate", "failed", "call", strategy_kw=GATE),
        ]
    )
    u = only(s)
    assert (u.kind, u.runs, u.phases) == ("parallel-only", 4, ("call", "teardown"))
    # Counted only where its outcome differs: under gate, not where it always passed.
    assert [(x.name, x.unstable) for x in s.strategies] == [
        ("serial-full", 0),
        ("unit", 0),
        ("gate", 1),
    ]
    md = report.render_markdown(s)
    assert f"| `{T}` | parallel-only | 4 | call, teardown |" in md
    assert f"- `{T}` (parallel-only): isolate the state it shares" in md
    assert "or mark it for a serial step" in md
    data = json.loads(report.render_json(s))
    assert data["instability"][0]["kind"] == "parallel-only"
    assert data["instability"][0]["fix_text"].startswith("isolate the state")
    assert data["version"] == report.SUMMARY_VERSION == 4


def test_flipping_between_runs_of_one_strategy_is_flaky_and_quarantined() -> None:
    s = summary.analyze(
        [
            run("serial-full", "passed"),
            run("serial-full", "failed", "call"),
            run("serial-full", "passed"),
        ]
    )
    u = only(s)
    assert (u.kind, u.runs, u.flaky) == ("flaky", 3, True)
    assert s.strategy("serial-full").unstable == 1
    md = report.render_markdown(s)
    assert "1 failed (2 flips)" in md
    assert "(flaky): quarantine it" in md


def test_failing_in_every_run_is_failing_everywhere() -> None:
    s = summary.analyze(
        [run("serial-full", "failed", "call"), run("gate", "error", "teardown", strategy_kw=GATE)]
    )
    u = only(s)
    assert u.kind == "failing everywhere"
    assert [x.unstable for x in s.strategies] == [1, 1]
    assert "it is broken, not unstable" in report.render_markdown(s)


def test_the_same_in_each_strategy_but_not_across_serial_ones_depends_on_the_selection() -> None:
    s = summary.analyze(
        [run("serial-full", "failed", "call"), run("unit", "passed", strategy_kw=UNIT)]
    )
    assert only(s).kind == "selection-dependent"
    assert "isolate it: it passes or fails by which tests run with it" in (
        report.render_markdown(s)
    )


def test_passing_in_parallel_but_failing_serially_is_not_parallel_only() -> None:
    s = summary.analyze(
        [run("serial-full", "failed", "call"), run("gate", "passed", strategy_kw=GATE)]
    )
    assert only(s).kind == "selection-dependent"


def records(*specs: tuple[str, float]) -> tuple[TestRecord, ...]:
    return tuple(TestRecord(n, "passed", d, call_s=d) for n, d in specs)


def test_time_per_file_splits_a_suite_whose_tests_share_one_folder() -> None:
    tests = records(
        ("tests/test_a.py::t1", 3.0),
        ("tests/test_a.py::t2", 1.0),
        ("tests/test_b.py::t", 1.0),
    )
    s = summary.analyze([f.result("serial-full", tests=tests)])
    p = s.profile
    assert p is not None
    assert [(d.directory, d.share) for d in p.directories] == [("tests", 1.0)]
    assert [(x.path, x.tests, x.seconds) for x in p.files] == [
        ("tests/test_a.py", 2, 4.0),
        ("tests/test_b.py", 1, 1.0),
    ]
    md = report.render_markdown(s)
    assert "| `tests/test_a.py` | 2 | 4.00s | 80.0% |" in md


def test_a_folder_holding_most_of_the_time_is_opened_into_its_subfolders() -> None:
    tests = records(
        ("tests/unit/db/test_x.py::a", 6.0),
        ("tests/unit/api/test_y.py::b", 3.0),
        ("tests/unit/test_z.py::c", 0.5),
        ("tests/e2e/test_w.py::d", 0.5),
    )
    folders = pertest.folders(tests, 10.0)
    assert [(d.directory, d.seconds) for d in folders] == [
        ("tests/unit/db", 6.0),
        ("tests/unit/api", 3.0),
        ("tests/e2e", 0.5),
        ("tests/unit", 0.5),
    ]
    assert sum(d.tests for d in folders) == 4
    assert pertest.folders((), 0.0) == ()


def test_a_test_that_passed_and_once_never_finished_is_unstable() -> None:
    """Issue 21 item 2: it passed in 5 runs and hung in the 6th (in flight at the timeout);
    the report said "No test ended differently between strategies or between runs"."""
    passed = [run("gate", "passed", strategy_kw=GATE, round=i) for i in range(5)]
    hung = f.result(
        "gate", status="timeout", round=5, strategy_kw=GATE,
        tests=(TestRecord(OTHER, "passed", 0.5),),
        in_flight=(InFlight(T, "gw1", 1.0, 45.0),),
    )  # fmt: skip
    s = summary.analyze([run("serial-full", "passed"), *passed, hung])
    u = only(s)
    assert (u.kind, u.runs, u.flaky) == ("flaky", 7, True)
    [gate] = [x for x in u.seen if x.strategy == "gate"]
    assert dict(gate.outcomes) == {"passed": 5, "did not finish": 1}
    assert "still running after 45.0s" in (u.message or "")
    md = report.render_markdown(s)
    assert "No test ended differently" not in md
    assert "1 did not finish" in md
