"""Recommendations an expert would sign: each rule sees every comparison and states its evidence."""

from __future__ import annotations

from typing import Any

import factories as f
import pytest

from benchlib.analyze import advice, summary
from benchlib.explain import wording
from benchlib.model.results import Counts, TestRecord

pytestmark = pytest.mark.unit

BASE = [300.0, 302.0, 299.0, 301.0, 300.5]
FULL = {"compare_to": "serial-full", "workers": 4}
SUBSET = {"compare_to": "serial-full", "scope": "subset", "workers": 4}


def repeated(name: str, walls: list[float], **kw: Any) -> list[Any]:
    return [f.result(name, wall_s=w, round=i, **kw) for i, w in enumerate(walls)]


def advise(*groups: list[Any]) -> tuple[summary.Summary, advice.Advice]:
    s = summary.analyze([r for g in groups for r in g])
    return s, advice.advise(s)


def rec(found: advice.Advice, rule: str) -> advice.Recommendation:
    return next(r for r in found.recommendations if r.rule == rule)


def words(found: advice.Advice, rule: str) -> str:
    return wording.recommendation_words(rec(found, rule), "serial-full")


def test_a_subset_lane_no_faster_than_the_full_gate_is_not_recommended() -> None:
    # The real suite: `-m "not serial"` in parallel took 165 s, leaving 36 tests out; the full
    # parallel gate took 169 s. The subset buys nothing over running everything.
    gate = repeated("gate", [169.0, 171.0, 166.0, 172.0, 168.0], strategy_kw=FULL)
    lane = repeated("not-serial", [165.0, 170.0, 167.0, 171.0, 164.0], strategy_kw=SUBSET)
    _, found = advise(repeated("serial-full", BASE), gate, lane)
    local = rec(found, "local")
    assert local.strategy == "gate"
    assert local.versus is not None
    assert (local.versus.before, local.versus.after) == ("gate", "not-serial")
    assert not local.versus.gain
    said = words(found, "local")
    assert "Use `gate` for local iteration" in said
    assert "the subset lane `not-serial` is not significantly faster than it" in said


def test_a_subset_lane_significantly_faster_than_the_full_gate_is_recommended() -> None:
    gate = repeated("gate", [169.0, 171.0, 166.0, 172.0, 168.0], strategy_kw=FULL)
    lane = repeated("unit-par", [60.0, 61.0, 59.5, 60.5, 60.2], strategy_kw=SUBSET)
    _, found = advise(repeated("serial-full", BASE), gate, lane)
    local = rec(found, "local")
    assert local.strategy == "unit-par"
    assert local.versus is not None
    assert local.versus.gain
    assert "significantly faster than the fastest full-scope lane `gate`" in words(found, "local")
    assert rec(found, "gate").strategy == "gate"


def test_keeping_the_baseline_on_single_runs_says_how_many_runs_would_settle_it() -> None:
    gate = [f.result("gate", wall_s=169.0, strategy_kw=FULL)]
    _, found = advise([f.result("serial-full", wall_s=300.0)], gate)
    said = words(found, "gate")
    assert said.startswith("No lane is significantly faster than `serial-full`, so keep it")
    assert "the closest lane, `gate`: 1.78× faster on a single run each" in said
    assert "4 runs a side would settle it" in said


def test_a_parallel_lane_no_faster_than_its_serial_sibling_is_not_recommended() -> None:
    unit = repeated("unit", [100.0, 101.0, 99.0, 100.5, 100.2], strategy_kw=SUBSET | {"workers": 0})
    sibling = {"compare_to": "unit", "scope": "subset", "workers": 2}
    xdist = repeated("xdist-unit", [99.0, 102.0, 98.5, 101.5, 100.0], strategy_kw=sibling)
    _, found = advise(repeated("serial-full", BASE), unit, xdist)
    assert rec(found, "local").strategy == "unit"
    rules = {(r.rule, r.strategy) for r in found.recommendations}
    assert ("no-gain", "xdist-unit") in rules
    assert ("local", "xdist-unit") not in rules


def test_keeping_the_serial_gate_says_the_parallel_gate_hung() -> None:
    done, stuck = repeated("gate", [150.0, 900.0], strategy_kw=FULL)
    flight = "stopped at the 900s time limit; the tree was stopped; in flight: tests/t.py::hang"
    hung = f.replace(stuck, status="timeout", exit_code=None, message=flight)
    _, found = advise(repeated("serial-full", BASE), [done, hung])
    gate = rec(found, "gate")
    assert gate.strategy == "serial-full"
    assert [(h.strategy, h.runs, h.runs_total) for h in gate.hangs] == [("gate", 1, 2)]
    said = words(found, "gate")
    assert "`gate` hung: 1 of 2 runs timed out (stopped at the 900s time limit" in said
    assert "tests/t.py::hang" in said


def test_tests_failing_only_in_parallel_say_which_fix_unlocks_the_gate() -> None:
    ok = TestRecord("tests/test_db.py::test_pg", "passed", 1.0)
    bad = TestRecord(
        ok.nodeid, "error", 1.0, phase="teardown", message="APIError: no exit event\nmore"
    )
    base = repeated("serial-full", BASE, tests=(ok,))
    gate = repeated(
        "gate", [150.0, 151.0, 149.0, 150.5, 150.2], tests=(bad,), status="tests-failed",
        outcome=Counts(errors=1), strategy_kw=FULL,
    )  # fmt: skip
    _, found = advise(base, gate)
    assert rec(found, "gate").strategy == "serial-full"
    unlock = rec(found, "parallel-failures")
    assert (unlock.strategy, unlock.count, unlock.example) == ("gate", 1, ok.nodeid)
    assert unlock.detail == "error in teardown: APIError: no exit event"
    said = words(found, "parallel-failures")
    assert said.startswith("Fix `tests/test_db.py::test_pg` (error in teardown: APIError")
    assert "only in the parallel lane `gate`" in said
    assert "2.00× faster" in said  # what fixing it would unlock, with its interval
