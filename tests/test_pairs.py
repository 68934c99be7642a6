"""Paired comparisons: ratios measured within one job on one runner, not times across jobs.

Two simulated runners run the same jobs; one is slower (a busier machine). Absolute times differ
between them by far more than the noise floor; the ratio within each job does not.
"""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path

import factories as f
import pytest
import suitekit

from benchlib import pipeline, stats
from benchlib.analyze import judge
from benchlib.explain.wording import verdict_words
from benchlib.model.results import RunResult

SUBSET = {"compare_to": "serial-full", "scope": "subset"}
JITTER = (0.0, 0.012, -0.008, 0.02, -0.015, 0.005)


def runner(
    host: str,
    slowdown: float,
    *,
    strategies: tuple[str, ...] = ("serial-full", "unit"),
    rounds: int = 6,
    hour: int = 12,
) -> list[RunResult]:
    """One CI job on one host: the strategies round-robin, the unit lane twice as fast."""
    machine = dataclasses.replace(f.MACHINE, hostname=host)
    runs = []
    for r in range(rounds):
        for k, name in enumerate(strategies):
            base = 10.0 if name == "serial-full" else 5.0
            wall = base * slowdown * (1 + JITTER[(r + k) % len(JITTER)])
            runs.append(
                f.result(
                    name,
                    wall_s=wall,
                    round=r,
                    bench_id=f"job-{host}",
                    machine=machine,
                    started_at=f"2026-11-26T{hour:02d}:{r:02d}:{k:02d}+00:00",
                    strategy_kw=SUBSET if name == "unit" else {},
                )
            )
    return runs


def by_name(runs: list[RunResult], name: str) -> list[RunResult]:
    return [r for r in runs if r.strategy.name == name]


@pytest.mark.unit
def test_paired_ratios_agree_across_runners_where_absolute_times_do_not() -> None:
    quiet, busy = runner("runner-a", 1.0), runner("runner-b", 1.6, hour=13)
    j = judge.judge(
        "serial-full", "unit", by_name(quiet + busy, "serial-full"), by_name(quiet + busy, "unit")
    )
    assert j.paired == 12 and [b.host for b in j.benches] == ["runner-a", "runner-b"]
    a, b = j.benches
    floor = stats.noise_floor([r.wall_s for r in by_name(quiet, "serial-full")])
    assert b.before_s / a.before_s - 1 > 10 * floor  # absolute times: far apart
    assert stats.relative_difference(a.ratio / b.ratio) <= floor  # ratios: within the floor
    assert j.word == "faster" and j.speedup == pytest.approx(2.0, rel=0.02)
    assert "paired: each ratio measured within one job" in (j.note or "")
    assert "12 pairs in 2 jobs" in verdict_words(j)


@pytest.mark.unit
def test_unpaired_across_runners_says_so_and_widens_the_noise() -> None:
    # The baseline ran on the quiet runner only, the lane on the busy one only: their times
    # mix the lane's gain (2x) with the runners' difference (1.6x).
    quiet, busy = (
        runner("runner-a", 1.0, strategies=("serial-full",)),
        runner("runner-b", 1.6, strategies=("unit",), hour=13),
    )
    j = judge.judge("serial-full", "unit", quiet, busy)
    assert j.paired == 0 and j.runners_differ
    assert j.speedup == pytest.approx(1.25, rel=0.02)  # what the times say: wrong
    assert j.noise_floor == judge.RUNNER_FLOOR and j.word == "no significant difference"
    assert "runners differ (2 hosts) and no job ran both sides" in (j.note or "")
    assert not j.gain


@pytest.mark.unit
def test_the_widened_floor_is_the_swing_the_runs_show_when_they_show_it() -> None:
    quiet = runner("runner-a", 1.0, strategies=("serial-full",))
    other = runner("runner-c", 1.2, strategies=("serial-full",), hour=14)
    busy = runner("runner-b", 1.6, strategies=("unit",), hour=13)
    j = judge.judge("serial-full", "unit", quiet + other, busy)
    assert j.noise_floor == pytest.approx(0.2, rel=0.05)  # serial-full: 1.2x from host to host


@pytest.mark.unit
def test_one_bench_is_judged_on_its_rounds_as_pairs() -> None:
    runs = runner("runner-a", 1.0)
    j = judge.judge("serial-full", "unit", by_name(runs, "serial-full"), by_name(runs, "unit"))
    assert (j.paired, len(j.benches), j.runners_differ) == (6, 1, False)
    assert j.word == "faster" and j.ci_low is not None


@pytest.mark.unit
def test_one_bench_with_too_few_rounds_for_pairs_is_compared_as_two_samples() -> None:
    runs = runner("runner-a", 1.0, rounds=5)
    j = judge.judge("serial-full", "unit", by_name(runs, "serial-full"), by_name(runs, "unit"))
    assert (j.paired, j.benches) == (0, ())
    assert j.word == "faster" and "5 runs each" in verdict_words(j)


@pytest.mark.unit
def test_runs_without_a_bench_id_are_never_paired() -> None:
    runs = [dataclasses.replace(r, bench_id=None) for r in runner("h", 1.0)]
    j = judge.judge("serial-full", "unit", by_name(runs, "serial-full"), by_name(runs, "unit"))
    assert j.paired == 0


@pytest.mark.unit
def test_the_summary_judges_lanes_on_pairs(tmp_path: Path) -> None:
    for r in runner("runner-a", 1.0) + runner("runner-b", 1.6, hour=13):
        f.write(r, tmp_path)
    unit = pipeline.summarize([tmp_path]).strategy("unit")
    assert unit.comparison is not None and unit.comparison.paired == 12


@pytest.mark.unit
def test_six_pairs_give_the_first_95_percent_interval() -> None:
    assert stats.pairs_for_interval() == 6
    assert stats.paired_ratio([1.5] * 5).low is None
    est = stats.paired_ratio([1.5, 1.52, 1.48, 1.55, 1.49, 1.51])
    assert (est.low, est.high, est.verdict) == (1.48, 1.55, "faster")
    assert est.confidence == pytest.approx(1 - 2 / 64)


@pytest.mark.unit
def test_paired_error_rates_under_runner_swings() -> None:
    """No change, runners 30% apart: at most 5% false calls; a real 1.3x: nearly always seen."""
    rng = random.Random(20261128)

    def trial(true_ratio: float) -> str:
        ratios = []
        for _job in range(2):
            speed = math.exp(rng.gauss(0, 0.3))  # the runner: cancels out of each ratio
            for _ in range(3):
                before = 10 * speed * math.exp(rng.gauss(0, 0.03))
                after = 10 / true_ratio * speed * math.exp(rng.gauss(0, 0.03))
                ratios.append(before / after)
        return stats.paired_ratio(ratios, noise_floor=stats.noise_floor(ratios)).verdict

    false_calls = sum(trial(1.0) in ("faster", "slower") for _ in range(2000))
    found = sum(trial(1.3) == "faster" for _ in range(500))
    assert false_calls / 2000 <= 0.05
    assert found / 500 >= 0.95


# --- for real: two runners, one with a competing process beside it ---------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_two_runners_one_busy_give_one_paired_verdict(tmp_path: Path) -> None:
    target = suitekit.copy_suite("cpubound", tmp_path)
    env = {**suitekit.env_without_pytest_vars(), "SUITE_WORK": "100000"}
    folders = [tmp_path / "runner-a", tmp_path / "runner-b"]
    args = ("run", "unit", "--pair", "serial-full", "--repeat", "2", "--target", str(target))
    quiet = suitekit.benchlib(*args, "--results", str(folders[0]), env=env)
    with suitekit.burning(processes=2, limit_s=120) as burners:
        busy = suitekit.benchlib(*args, "--results", str(folders[1]), env=env)
    assert quiet.returncode == busy.returncode == 0, quiet.stderr + busy.stderr
    assert all(not suitekit.alive(p.pid) for p in burners)
    s = pipeline.summarize(folders)
    j = s.strategy("unit").comparison
    assert j is not None and j.paired == 4 and len(j.benches) == 2
    assert "paired" in (j.note or "") and "4 pairs in 2 jobs" in verdict_words(j)
    for run in s.runs:  # each job ran the pair round-robin: serial-full, unit, serial-full, unit
        assert run.strategy in ("serial-full", "unit")
    order = [(r.strategy, r.round) for r in sorted(s.runs, key=lambda r: r.started_at)]
    assert order[:4] == [("serial-full", 0), ("unit", 0), ("serial-full", 1), ("unit", 1)]


@pytest.mark.unit
def test_the_gate_across_hosts_does_not_take_the_change_for_the_swing() -> None:
    # The same strategy before and after, each side on its own host: its 1.3x between the
    # hosts is the change being judged, not a swing the runs show.
    before = runner("runner-a", 1.0, strategies=("serial-full",))
    after = runner("runner-b", 1.3, strategies=("serial-full",), hour=13)
    j = judge.judge("serial-full", "serial-full", before, after)
    assert j.runners_differ and j.noise_floor == judge.RUNNER_FLOOR
