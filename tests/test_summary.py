"""Pure tests of summary: merging result files into the report's facts."""

from __future__ import annotations

import json
from pathlib import Path

import factories as f
import pytest

from benchlib import pipeline
from benchlib.analyze import advice, judge, summary
from benchlib.model import results
from benchlib.model.results import Counts, TestRecord

pytestmark = pytest.mark.unit

SUBSET = {"compare_to": "serial-full", "scope": "subset"}


def seed_results() -> list[results.RunResult]:
    """The four runs of the hand-written report, with its figures."""
    return [
        f.result("serial-full", wall_s=216.58, outcome=Counts(passed=2105, skipped=1, warnings=11)),
        f.result(
            "unit",
            wall_s=114.87,
            outcome=Counts(passed=1854, deselected=358, warnings=11),
            strategy_kw=SUBSET,
        ),
        f.result(
            "xdist-unit",
            wall_s=56.12,
            outcome=Counts(passed=1854, warnings=13),
            strategy_kw={"compare_to": "unit", "scope": "subset", "workers": 4},
        ),
        f.result(
            "gate",
            wall_s=129.15,
            outcome=Counts(passed=2211, skipped=1, warnings=15),
            strategy_kw={"compare_to": "serial-full", "workers": 4},
        ),
    ]


def test_seed_figures_give_the_reports_deltas(tmp_path: Path) -> None:
    for r in seed_results():
        f.write(r, tmp_path)
    s = pipeline.summarize([tmp_path])
    unit, xdist = s.strategy("unit").comparison, s.strategy("xdist-unit").comparison
    assert unit is not None
    assert xdist is not None
    assert (unit.before_s, unit.after_s) == (216.58, 114.87)
    assert round(unit.delta_s or 0, 2) == -101.71
    assert round(unit.change_pct or 0, 2) == 46.96
    assert round(xdist.delta_s or 0, 2) == -58.75
    assert round(xdist.change_pct or 0, 2) == 51.14
    assert round(unit.speedup or 0, 2) == 1.89
    assert unit.word == "single run"
    assert s.baseline == "serial-full"
    assert s.strategy("unit").outcome_text == "1854 passed, 358 deselected, 11 warnings"


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        (Counts(passed=2105, skipped=1, warnings=11), "2105 passed, 1 skipped, 11 warnings"),
        (Counts(passed=1302, skipped=1, errors=1), "1302 passed, 1 skipped, 1 error"),
        (
            Counts(failed=2, passed=3, xfailed=1, xpassed=1, warnings=1, errors=2),
            "2 failed, 3 passed, 1 xfailed, 1 xpassed, 1 warning, 2 errors",
        ),
        (Counts(), "no tests ran"),
    ],
)
def test_outcome_text_uses_pytests_words_and_order(counts: Counts, text: str) -> None:
    assert summary.outcome_text(counts) == text


def test_corrupt_and_unknown_version_files_are_skipped_by_name(tmp_path: Path) -> None:
    f.write(f.result("serial-full"), tmp_path)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    future = results.to_dict(f.result("gate")) | {"schema_version": 99}
    (tmp_path / "future.json").write_text(json.dumps(future), encoding="utf-8")
    s = pipeline.summarize([tmp_path])
    assert [st.name for st in s.strategies] == ["serial-full"]
    reasons = {Path(x.path).name: x.reason for x in s.skipped}
    assert set(reasons) == {"broken.json", "future.json"}
    assert "not valid JSON" in reasons["broken.json"]
    assert "schema version 99" in reasons["future.json"]


def test_empty_folder_gives_an_empty_summary(tmp_path: Path) -> None:
    s = pipeline.summarize([tmp_path])
    assert (s.strategies, s.runs, s.baseline, s.date) == ((), (), None, "")
    assert advice.advise(s).recommendations[0].rule == "baseline"


def test_single_strategy_has_no_comparison() -> None:
    s = summary.analyze([f.result("serial-full", wall_s=12.0)])
    only = s.strategy("serial-full")
    assert s.baseline == "serial-full"
    assert only.comparison is None
    assert only.vs_baseline is None
    assert only.wall == summary.WallTime(12.0, 12.0, 12.0, 1)
    first = advice.advise(s).recommendations[0]
    assert (first.rule, first.strategy, first.judgement) == ("local", "serial-full", None)


def test_repeats_use_the_median_leave_out_warmups_and_get_an_interval() -> None:
    base = [f.result("serial-full", wall_s=w, round=i) for i, w in enumerate([20, 21, 19, 20, 22])]
    lane = [
        f.result("gate", wall_s=w, round=i, strategy_kw={"compare_to": "serial-full"})
        for i, w in enumerate([10, 11, 10.5, 9.5, 10])
    ]
    warm = f.result("gate", wall_s=99.0, warmup=True, strategy_kw={"compare_to": "serial-full"})
    s = summary.analyze([*base, *lane, warm])
    gate = s.strategy("gate")
    assert gate.wall == summary.WallTime(10.0, 9.5, 11.0, 5)
    assert gate.warmups == 1
    c = gate.comparison
    assert c is not None
    assert c.word == "faster"
    assert c.ci_low is not None
    assert c.ci_high is not None
    assert c.ci_low > 1
    assert any(r.warmup for r in s.runs)


def test_two_machines_are_not_compared_silently() -> None:
    other = f.replace(f.result("gate"), machine=f.dataclasses.replace(f.MACHINE, cpu_model="Other"))
    lane = f.replace(other, strategy=f.strategy("gate", compare_to="serial-full"))
    s = summary.analyze([f.result("serial-full", wall_s=20.0), f.replace(lane, wall_s=10.0)])
    c = s.strategy("gate").comparison
    assert c is not None
    assert c.machines_differ
    assert "different machines" in (c.note or "")
    assert len(s.machines) == 2
    assert not c.gain
    recs = advice.advise(s).recommendations
    assert any(r.rule == "machines" for r in recs)
    assert all(r.strategy != "gate" for r in recs if r.rule == "gate")


def test_timed_out_run_is_shown_and_not_timed() -> None:
    s = summary.analyze(
        [
            f.result("serial-full", wall_s=20.0),
            f.result(
                "gate",
                wall_s=900.0,
                status="timeout",
                exit_code=None,
                message="stopped at the 900s time limit",
                strategy_kw={"compare_to": "serial-full"},
            ),
        ]
    )
    gate = s.strategy("gate")
    assert gate.status == "timeout (1 run)"
    assert gate.wall is None
    assert gate.comparison is not None
    assert gate.comparison.word == "not compared"
    assert gate.comparison.note == "`gate` has no completed run"
    assert [r.status for r in s.runs if r.strategy == "gate"] == ["timeout"]


def test_missing_compare_to_strategy_is_reported() -> None:
    s = summary.analyze(
        [
            f.result("serial-full"),
            f.result("xdist-unit", strategy_kw={"compare_to": "unit", "scope": "subset"}),
        ]
    )
    assert s.missing == ("unit",)
    assert s.strategy("xdist-unit").comparison == judge.Judgement(
        "unit", "xdist-unit", "not compared", note="`unit` has no results"
    )


def _record(nodeid: str, seconds: float, **kw: object) -> TestRecord:
    fields = {"outcome": "passed", "duration_s": seconds, "call_s": seconds} | kw
    return TestRecord(nodeid=nodeid, **fields)  # type: ignore[arg-type]


def test_subset_coverage_given_up_counts_tests_time_and_directories() -> None:
    base = (
        _record("tests/unit/test_a.py::t1", 1.0),
        _record("tests/unit/test_a.py::t2", 1.0),
        _record("tests/db/test_b.py::t3", 6.0),
        _record("tests/db/test_b.py::t4", 2.0),
    )
    s = summary.analyze(
        [
            f.result("serial-full", tests=base),
            f.result("unit", tests=base[:2], strategy_kw=SUBSET),
        ]
    )
    gap = s.strategy("unit").coverage
    assert gap == summary.CoverageGap(
        baseline="serial-full",
        baseline_tests=4,
        not_run=2,
        not_run_s=8.0,
        share_of_time=0.8,
        directories=(("tests/db", 2),),
    )


def test_teardown_error_only_under_xdist_is_unstable() -> None:
    ok = _record("tests/db/test_docker.py::test_pg", 1.0)
    bad = _record(
        ok.nodeid,
        1.0,
        outcome="error",
        phase="teardown",
        message="APIError: did not receive an exit event\nmore",
    )
    other = _record("tests/test_other.py::test_x", 0.5)
    gate = {"compare_to": "serial-full", "workers": 2}
    s = summary.analyze(
        [
            f.result("serial-full", tests=(ok, other)),
            f.result("gate", tests=(bad, other), status="tests-failed", strategy_kw=gate),
            f.result("gate", tests=(ok, other), strategy_kw=gate),
        ]
    )
    (u,) = s.instability
    assert u.nodeid == "tests/db/test_docker.py::test_pg"
    assert u.phases == ("teardown",)
    assert u.message is not None
    assert u.message.startswith("APIError: did not receive")
    assert u.between_strategies
    assert u.flaky
    assert [(x.strategy, x.outcomes, x.flips) for x in u.seen] == [
        ("serial-full", (("passed", 1),), 0),
        ("gate", (("error", 1), ("passed", 1)), 1),
    ]
    assert s.strategy("gate").new_failures == ("tests/db/test_docker.py::test_pg",)


def repeated(name: str, walls: list[float], **kw: object) -> list[results.RunResult]:
    return [f.result(name, wall_s=w, round=i, **kw) for i, w in enumerate(walls)]  # type: ignore[arg-type]


BASE = [216.0, 217.0, 215.5, 216.5, 216.2]


def test_recommendation_rules() -> None:
    runs = [
        *repeated("serial-full", BASE),
        *repeated("unit", [w / 1.9 for w in BASE], strategy_kw=SUBSET),
        *repeated("gate", [w / 1.7 for w in BASE], strategy_kw={"compare_to": "serial-full"}),
    ]
    rules = {r.rule: r for r in advice.advise(summary.analyze(runs)).recommendations}
    assert rules["local"].strategy == "unit"
    assert rules["gate"].strategy == "gate"
    assert set(rules) == {"local", "gate"}


def test_single_runs_are_unsettled_not_recommended() -> None:
    recs = advice.advise(summary.analyze(seed_results())).recommendations
    assert [(r.rule, r.strategy) for r in recs] == [
        ("local", "serial-full"),
        ("gate", "serial-full"),
        ("unsettled", "unit"),
        ("unsettled", "xdist-unit"),
        ("unsettled", "gate"),
    ]
    assert {r.judgement.settle_runs for r in recs if r.judgement} == {4}


def test_a_slower_lane_is_said_to_be_slower() -> None:
    slow = repeated("gate", [w * 2.1 for w in BASE], strategy_kw={"compare_to": "serial-full"})
    found = advice.advise(summary.analyze([*repeated("serial-full", BASE), *slow]))
    rules = {r.rule: r for r in found.recommendations}
    assert rules["gate"].strategy == "serial-full"
    assert rules["slower"].strategy == "gate"
    assert next(t.point for t in found.tradeoffs["gate"] if not t.pro) == "slower"


def test_three_runs_a_side_are_no_gain_and_not_a_pro() -> None:
    fast = repeated("gate", [w / 2.12 for w in BASE[:3]], strategy_kw={"compare_to": "serial-full"})
    found = advice.advise(summary.analyze([*repeated("serial-full", BASE[:3]), *fast]))
    assert [r.rule for r in found.recommendations if r.strategy == "gate"] == ["unsettled"]
    assert not any(t.point == "faster" for t in found.tradeoffs["gate"])


def test_lane_with_new_failures_is_not_recommended_as_gate() -> None:
    fail = _record("tests/test_x.py::t", 1.0, outcome="failed", phase="call", message="boom")
    s = summary.analyze(
        [
            f.result("serial-full", wall_s=20.0, tests=(_record(fail.nodeid, 1.0),)),
            f.result(
                "gate",
                wall_s=10.0,
                tests=(fail,),
                status="tests-failed",
                strategy_kw={"compare_to": "serial-full"},
            ),
        ]
    )
    gate = next(r for r in advice.advise(s).recommendations if r.rule == "gate")
    assert gate.strategy == "serial-full"


def test_profile_ranks_phases_and_directories() -> None:
    tests = (
        _record("tests/api/test_a.py::t1", 3.0, setup_s=2.0, call_s=0.5, teardown_s=0.5),
        _record("tests/db/test_b.py::t2", 5.0, setup_s=0.1, call_s=4.0, teardown_s=0.9),
        _record("tests/test_c.py::t3", 2.0),
    )
    r = f.result("serial-full", tests=tests, warning_categories={"DeprecationWarning": 3})
    p = summary.analyze([r]).profile
    assert p is not None
    assert [t.nodeid for t in p.slowest_setup] == [
        "tests/api/test_a.py::t1",
        "tests/db/test_b.py::t2",
    ]
    assert p.slowest_call[0] == summary.SlowTest("tests/db/test_b.py::t2", 4.0)
    assert [(d.directory, d.tests, d.seconds) for d in p.directories] == [
        ("tests/db", 1, 5.0),
        ("tests/api", 1, 3.0),
        ("tests", 1, 2.0),
    ]
    assert p.warning_categories == (("DeprecationWarning", 3),)


def test_summarize_reads_files_like_analyze(tmp_path: Path) -> None:
    tests = (_record("tests/a/test_a.py::t", 1.0), _record("tests/b/test_b.py::u", 2.0))
    rs = [
        f.result("serial-full", tests=tests),
        f.result("unit", tests=tests[:1], strategy_kw=SUBSET),
    ]
    for r in rs:
        f.write(r, tmp_path / "nested")
    from_files = pipeline.summarize([tmp_path])
    in_memory = summary.analyze(rs)
    assert from_files.strategies == in_memory.strategies
    assert from_files.profile == in_memory.profile


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [("wall_s", "fast", "wall_s is 'fast', not a number"), ("tests", "nope", "tests is 'nope'")],
)
def test_files_with_wrong_types_are_skipped_with_the_reason(
    tmp_path: Path, key: str, value: object, reason: str
) -> None:
    f.write(f.result("serial-full"), tmp_path)
    bad = results.to_dict(f.result("gate")) | {key: value}
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    s = pipeline.summarize([tmp_path])
    assert [st.name for st in s.strategies] == ["serial-full"]
    (skipped,) = s.skipped
    assert Path(skipped.path).name == "bad.json"
    assert reason in skipped.reason


def test_a_strategy_whose_every_test_was_skipped_is_no_timing() -> None:
    """Issue 21 item 14: it was judged "faster" and recommended with no word that no test
    body ran; its runs timed start-up and collection only."""
    skipped = Counts(skipped=12)
    s = summary.analyze(
        [
            *(f.result("serial-full", wall_s=w, round=i) for i, w in enumerate((10, 10.1, 9.9))),
            *(
                f.result("gate", wall_s=w, round=i, outcome=skipped,
                         strategy_kw={"compare_to": "serial-full", "workers": 2})
                for i, w in enumerate((1.0, 1.1, 0.9))
            ),
        ]
    )  # fmt: skip
    gate = s.strategy("gate")
    assert gate.status == "all skipped (3 runs)"
    assert gate.wall is None
    assert gate.comparison is not None
    assert gate.comparison.word == "not compared"
    assert gate.comparison.note == "`gate` ran no test body: every test was skipped"
    said = advice.advise(s)
    assert all(r.strategy != "gate" for r in said.recommendations)
