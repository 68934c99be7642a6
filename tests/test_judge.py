"""Pure tests of judge: the one place that decides which runs count and what they show."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import factories as f
import pytest

from benchlib import stats
from benchlib.analyze import judge
from benchlib.model.results import Counts, RunResult, Target

pytestmark = pytest.mark.unit

WALLS = (10.0, 10.1, 9.9, 10.2, 10.05)


def runs(
    name: str, walls: Sequence[float] = WALLS, factor: float = 1.0, **kw: Any
) -> list[RunResult]:
    return [
        f.result(name, wall_s=w * factor, round=i, started_at=f"2026-11-26T12:0{i}:00+00:00", **kw)
        for i, w in enumerate(walls)
    ]


def test_only_completed_non_warmup_runs_count() -> None:
    ok, failed = f.result(), f.result(status="tests-failed")
    warm, timeout = f.result(warmup=True), f.result(status="timeout", exit_code=None)
    assert judge.counted([ok, failed, warm, timeout]) == [ok, failed]
    assert judge.left_out([ok, failed, warm, timeout]) == [timeout]


def test_noise_floor_comes_from_the_baselines_own_repeats() -> None:
    # 3% apart, 5 runs each: a fixed 5% floor called this noise; the base's A/A spread is 1%.
    base = runs("serial-full")
    j = judge.judge("serial-full", "gate", base, runs("gate", factor=1 / 1.03))
    assert j.noise_floor == pytest.approx(stats.noise_floor([r.wall_s for r in base]))
    assert j.word == "faster"
    assert j.gain


def test_difference_under_a_noisy_baselines_floor_is_not_significant() -> None:
    base = runs("serial-full", walls=(10.0, 11.0, 10.0, 11.0, 10.0, 11.0))
    j = judge.judge("serial-full", "gate", base, runs("gate", walls=(9.6,) * 5))
    assert j.noise_floor == pytest.approx(0.1)
    assert j.word == "no significant difference"
    assert "noise floor" in (j.note or "")


def test_slower_is_a_loss_and_a_regression_beyond_the_threshold() -> None:
    j = judge.judge("a", "a", runs("a"), runs("a", factor=1.2))
    assert (j.word, j.loss, j.gain) == ("slower", True, False)
    assert judge.regressed(j, 0.10)
    assert not judge.regressed(j, 0.25)


@pytest.mark.parametrize(("n", "word"), [(1, "single run"), (3, "no significant difference")])
def test_too_few_runs_say_how_many_would_settle_it(n: int, word: str) -> None:
    j = judge.judge("a", "b", runs("a", WALLS[:n]), runs("b", WALLS[:n], factor=0.5))
    assert (j.word, j.settle_runs, j.gain) == (word, 4, False)


def test_settled_comparison_needs_no_more_runs() -> None:
    assert judge.judge("a", "b", runs("a"), runs("b", factor=0.5)).settle_runs is None


def test_runs_of_different_projects_are_never_compared() -> None:
    other = Target(path="/src/other", git_commit=None, git_dirty=None, project="git@x:other")
    j = judge.judge("a", "b", runs("a"), runs("b", factor=0.5, target=other))
    assert j.word == "not compared"
    assert "different projects" in (j.note or "")
    warning = judge.project_warning([*runs("a"), *runs("b", target=other)])
    assert warning is not None
    assert "2 different projects" in warning
    assert judge.project_warning(runs("a")) is None


def test_other_projects_are_left_out_of_a_mixed_side() -> None:
    other = Target(path="/src/other", git_commit=None, git_dirty=None, project="git@x:other")
    j = judge.judge("a", "b", [*runs("a"), *runs("a", target=other)], runs("b", factor=0.5))
    assert (j.word, j.n_before) == ("faster", 5)
    assert "5 runs of other projects left out" in (j.note or "")


def test_different_machines_are_marked_and_not_a_gain() -> None:
    other = dataclasses.replace(f.MACHINE, cpu_model="Other CPU")
    j = judge.judge("a", "b", runs("a"), runs("b", factor=0.5, machine=other))
    assert j.machines_differ
    assert j.word == "faster"
    assert not j.gain
    assert judge.machine_labels([*runs("a"), *runs("b", machine=other)]) == {
        f.MACHINE.fingerprint(): "A",
        other.fingerprint(): "B",
    }


def test_missing_side_or_no_completed_run_is_not_compared() -> None:
    assert judge.judge("a", "b", [], runs("b")).note == "`a` has no results"
    timeout = [f.result("b", status="timeout", exit_code=None)]
    assert judge.judge("a", "b", runs("a"), timeout).note == "`b` has no completed run"


def test_noise_warnings_for_spread_and_a_cold_first_run() -> None:
    cold = judge.noise("gate", runs("gate", walls=(14.0, 10.0, 10.1, 9.9, 10.2)))
    assert [w.kind for w in cold] == ["cv", "first-run"]
    assert cold[1].value == pytest.approx(14.0 / 10.05 - 1)
    assert judge.noise("gate", runs("gate")) == ()


def test_budgets_are_the_latest_runs_recorded_limits() -> None:
    older = runs("gate", strategy_kw={"budgets": {"max_wall_s": 1.0}})[:2]
    newer = runs("gate", strategy_kw={"budgets": {"max_wall_s": 9.0, "max_warnings": 0}})[2:]
    newer[0] = dataclasses.replace(newer[0], outcome=Counts(passed=10, warnings=2))
    checks = judge.budget_checks("gate", [*older, *newer])
    assert [(c.key, c.limit, c.broken) for c in checks] == [
        ("max_wall_s", 9.0, True),
        ("max_warnings", 0, True),
    ]
    assert checks[0].actual == pytest.approx(10.05)  # median of all five counted runs
    assert checks[1].actual == 2  # the worst run


def test_budgets_without_a_counted_run_are_not_checked() -> None:
    timeout = [f.result("gate", status="timeout", strategy_kw={"budgets": {"max_wall_s": 1.0}})]
    assert judge.budget_checks("gate", timeout) == ()
    assert judge.recorded_budgets(timeout) == {"max_wall_s": 1.0}
