"""Defaults that settle: `benchlib run` with no option warms up, then repeats within a budget
sized to the suite, so a lane 3x faster gets a 95% interval; a cold first run is said and
never a figure."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import suitekit

from benchlib import stats
from benchlib.measure import bench
from benchlib.model import results
from benchlib.plan.machine import Interpreter
from benchlib.plan.runplan import RunPlan
from benchlib.plan.strategy import Strategy

WIDE = {"serial-full": [10.0, 12.0, 9.0, 11.5, 10.2], "unit": [5.0, 6.5, 4.1, 5.9, 5.2]}


def _plans() -> list[RunPlan]:
    python = Interpreter(sys.executable, "3", "9", None)
    return [
        bench.RunPlan(
            Strategy(name, compare_to=to), Path("/p"), python, (), (), 0, None, Path("/r")
        )
        for name, to in (("serial-full", None), ("unit", "serial-full"))
    ]


def _rounds(schedule: bench.Schedule, round_s: float = 1.0) -> int:
    """Return how many rounds a bench of wide intervals runs, a round taking round_s."""
    done = 0
    while True:
        done += 1
        measured = max(done - schedule.warmup, 0)
        walls = {k: v[:measured] for k, v in WIDE.items()}
        if not bench._another_round(schedule, _plans(), done, walls, done * round_s):
            return done


@pytest.mark.unit
def test_the_default_budget_is_sized_to_the_suite_in_rounds() -> None:
    sized = bench.Schedule(repeat=None, warmup=1, budget_s=None)
    # A warm-up round and the 4 an interval needs, however long a round takes...
    assert _rounds(sized, round_s=bench.SIZED_MORE_S / 2) == 1 + bench.AUTO_MIN_ROUNDS
    # ...more while the intervals are wide, in a small suite...
    assert _rounds(sized, round_s=0.5) == 1 + bench.SIZED_ROUNDS
    assert _rounds(sized, round_s=bench.SIZED_MORE_S / 7.5) == 7  # 180s: 7 rounds fit
    # ...fewer when the rounds would outlast the longest a default run may take.
    assert _rounds(sized, round_s=bench.DEFAULT_BUDGET_S / 3) == 1 + 2
    assert _rounds(sized, round_s=bench.DEFAULT_BUDGET_S * 2) == 1 + 1  # one measured, always
    # A budget given in seconds still runs the rounds an interval needs.
    given = bench.Schedule(repeat=None, warmup=1, budget_s=1.0)
    assert _rounds(given, round_s=10.0) == 1 + bench.AUTO_MIN_ROUNDS


@pytest.mark.unit
def test_without_a_warm_up_a_cold_first_run_costs_one_round_more() -> None:
    schedule = bench.Schedule(repeat=None, warmup=0, budget_s=1.0)
    cold = {"serial-full": [30.0, 10.0, 10.1, 9.9], "unit": [5.0, 5.1, 4.9, 5.05]}
    warm = {"serial-full": [10.2, 10.0, 10.1, 9.9], "unit": [5.0, 5.1, 4.9, 5.05]}
    # The summary will leave the cold run out: 3 runs a side are no interval yet.
    assert bench._another_round(schedule, _plans(), 4, cold, 40.0)
    assert not bench._another_round(schedule, _plans(), 4, warm, 40.0)


@pytest.mark.unit
def test_run_settles_by_default_and_scan_keeps_one_round() -> None:
    from benchlib.cli.arguments import build_parser

    run = build_parser().parse_args(["run"])
    assert (run.repeat, run.warmup, run.budget) == (None, 1, None)
    scan = build_parser().parse_args(["scan", "gate"])
    assert (scan.repeat, scan.warmup, scan.budget) == (1, 0, 1800.0)


def _run(target: Path, out: Path, *args: str) -> dict[str, Any]:
    """Run `benchlib run` as a user would: no option but the ones given (no ONE_ROUND)."""
    env = suitekit.env_without_pytest_vars() | {"BENCH_COLD_S": "4"}
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "run", "--target", str(target), "--results", str(out),
         "--summary", *args],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads((out / "summary.json").read_text()))


def _strategy(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["strategies"] if s["name"] == name)


@pytest.mark.integration
@pytest.mark.slow
def test_a_default_run_gives_a_95_interval_where_a_lane_is_3x_faster(tmp_path: Path) -> None:
    target = suitekit.copy_suite("lanes", tmp_path)
    out = tmp_path / "results"
    data = _run(target, out)
    runs = [results.load(p) for p in results.find_result_files([out])]
    assert sorted(r.strategy.name for r in runs if r.warmup) == ["serial-full", "unit"]
    unit = _strategy(data, "unit")["comparison"]
    # The 4 rounds an interval needs, and more while it is wide, within the sized budget.
    assert 4 <= unit["n_before"] == unit["n_after"] <= bench.SIZED_ROUNDS
    assert unit["ci_low"] is not None and "95% CI " in unit["verdict_text"]
    md = (out / "summary.md").read_text()
    assert "single run" not in md and "would settle" not in md
    rules = [r["rule"] for r in data["recommendations"]]
    if data["load"]["too_busy"]:
        # Other processes took so much of the CPUs that start-up, not the tests, made the time
        # (seen here at a load average of 30 on 2 CPUs): the summary says it, and no more.
        assert rules[0] == "busy" and "too busy to judge" in md
    else:
        assert unit["word"] == "faster" and unit["ci_low"] > 1, unit["verdict_text"]
        assert rules[:2] == ["local", "gate"]
    # The first session ever was cold: the warm-up took it, and the summary says so.
    base = _strategy(data, "serial-full")
    [cold] = [w["cold"] for w in base["noise"] if w["kind"] == "first-run"]
    assert cold["warmup"] and cold["wall_s"] > base["wall"]["max_s"]
    assert "cold first run took" in md and "a warm-up, left out as every warm-up is" in md


@pytest.mark.integration
@pytest.mark.slow
def test_a_cold_first_run_without_a_warm_up_is_said_and_never_a_figure(tmp_path: Path) -> None:
    target = suitekit.copy_suite("lanes", tmp_path)
    out = tmp_path / "results"
    data = _run(target, out, "serial-full", "--repeat", "4", "--warmup", "0")
    base = _strategy(data, "serial-full")
    [cold] = [w["cold"] for w in base["noise"] if w["kind"] == "first-run"]
    assert not cold["warmup"] and base["wall"]["runs"] == 3  # four runs, the cold one left out
    assert cold["wall_s"] > base["wall"]["max_s"]
    [left] = [r for r in data["runs"] if not r["counted"]]
    assert left["run_id"] == cold["run_id"] and left["round"] == 0
    md = (out / "summary.md").read_text()
    assert "left out of the statistics" in md and "cold first run (left out" in md


@pytest.mark.unit
def test_a_bench_judged_as_pairs_runs_the_pairs_an_interval_needs() -> None:
    """Four rounds give two samples their interval, not pairs: a paired bench (a pull
    request's gate) goes on to stats.pairs_for_interval() rounds before it may stop."""
    walls = {"a": [1.0] * 4, "b": [1.1] * 4}
    two_samples = bench.Schedule(repeat=None, budget_s=1e6)
    paired = dataclasses.replace(two_samples, min_rounds=stats.pairs_for_interval())
    assert not bench._another_round(two_samples, [], 4, walls, 4.0)
    assert bench._another_round(paired, [], 4, walls, 4.0)
    assert paired.first_rounds() == stats.pairs_for_interval() > two_samples.first_rounds()
