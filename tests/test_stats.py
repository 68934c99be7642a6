from __future__ import annotations

import math
import random

import pytest

from benchlib import stats

pytestmark = pytest.mark.unit

FAST = [10.0, 10.1, 9.9, 10.2, 10.05]


def lognormal(rng: random.Random, n: int, cv: float, scale: float = 10.0) -> list[float]:
    sigma = math.sqrt(math.log1p(cv * cv))
    return [scale * rng.lognormvariate(0, sigma) for _ in range(n)]


def test_describe_summarizes_values() -> None:
    s = stats.describe([1.0, 2.0, 3.0, 6.0])
    assert (s.n, s.median, s.mean, s.min, s.max) == (4, 2.5, 3.0, 1.0, 6.0)
    assert s.stdev == pytest.approx(2.160247)
    assert s.cv == pytest.approx(2.160247 / 3)


def test_describe_single_value_has_no_spread() -> None:
    s = stats.describe([4.0])
    assert (s.stdev, s.cv, s.median) == (0.0, 0.0, 4.0)


def test_describe_rejects_empty() -> None:
    with pytest.raises(ValueError, match="no values"):
        stats.describe([])


@pytest.mark.parametrize(
    ("n", "m", "k"),
    # k = critical U + 1, from published two-sided 5% Mann-Whitney tables.
    [(3, 3, 0), (3, 4, 0), (3, 5, 1), (4, 4, 1), (4, 6, 3), (5, 5, 3), (6, 6, 6), (8, 8, 14)],
)
def test_excluded_differences_match_mann_whitney_tables(n: int, m: int, k: int) -> None:
    excluded, coverage = stats._excluded_per_tail(n, m, 0.05)
    assert excluded == k
    assert coverage >= 0.95 or k == 0


def test_mann_whitney_counts_cover_every_ordering() -> None:
    counts = stats._mann_whitney_counts(5, 7, upto=35)
    assert sum(counts) == math.comb(12, 5)
    assert counts == counts[::-1]  # U is symmetric about nm/2


def test_clear_speedup_is_faster_with_interval_around_ratio() -> None:
    e = stats.compare_ratio(FAST, [w / 2 for w in FAST])
    assert e.verdict == "faster"
    assert e.ratio == pytest.approx(2.0)
    assert e.low is not None
    assert e.high is not None
    assert e.low <= e.ratio <= e.high
    assert e.confidence == pytest.approx(1 - 8 / 252)
    assert (e.n_base, e.n_current) == (5, 5)


def test_clear_slowdown_is_slower() -> None:
    e = stats.compare_ratio(FAST, [w * 1.3 for w in FAST])
    assert e.verdict == "slower"
    assert e.high is not None
    assert e.high < 1


def test_same_values_are_no_significant_difference() -> None:
    e = stats.compare_ratio(FAST, list(reversed(FAST)))
    assert e.verdict == "no significant difference"
    assert e.ratio == 1.0


def test_single_run_has_no_interval() -> None:
    e = stats.compare_ratio([10.0], [5.0, 5.0])
    assert (e.verdict, e.low, e.high, e.ratio) == ("single run", None, None, 2.0)
    assert e.relative_width == math.inf


def test_too_few_runs_for_an_interval_say_so() -> None:
    e = stats.compare_ratio([10.0, 10.1, 10.2], [5.0, 5.1, 5.2])
    assert e.verdict == "no significant difference"
    assert e.low is None
    assert e.note is not None
    assert "too few" in e.note


def test_difference_under_noise_floor_is_not_significant() -> None:
    current = [w / 1.03 for w in FAST]
    assert stats.compare_ratio(FAST, current).verdict == "faster"
    e = stats.compare_ratio(FAST, current, noise_floor=0.05)
    assert e.verdict == "no significant difference"
    assert e.note is not None
    assert "noise floor" in e.note


def test_interval_is_the_outermost_pairwise_ratios_at_4_runs_a_side() -> None:
    # At 4 vs 4 the 5% tables drop one pairwise difference per tail (k = 1), so the interval
    # runs from the smallest to the largest of the 16 ratios base / current, worked by hand.
    e = stats.compare_ratio([10.0, 11.0, 12.0, 13.0], [5.0, 5.5, 6.0, 6.5])
    assert e.low == pytest.approx(10.0 / 6.5)
    assert e.high == pytest.approx(13.0 / 5.0)
    assert e.ratio == pytest.approx(11.5 / 5.75)


def test_four_runs_a_side_are_the_fewest_for_an_interval() -> None:
    assert stats.runs_for_interval() == 4
    assert stats.compare_ratio([1.0, 1.1, 1.2], [2.0, 2.1, 2.2]).low is None


def test_non_positive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        stats.compare_ratio([1.0, 0.0], [1.0, 2.0])


def test_noise_floor_compares_interleaved_halves() -> None:
    # Alternating runs differ by 10%; a first-half/second-half split would see none.
    assert stats.noise_floor([10.0, 11.0, 10.0, 11.0]) == pytest.approx(0.1)
    # Drift over time falls on both interleaved halves alike.
    assert stats.noise_floor([10.0, 10.0, 11.0, 11.0]) == 0.0
    assert stats.noise_floor([10.0]) == 0.0


def test_noise_floor_is_symmetric() -> None:
    assert stats.noise_floor([11.0, 10.0]) == pytest.approx(stats.noise_floor([10.0, 11.0]))


def test_noisy_runs_warn_about_variation() -> None:
    assert stats.is_noisy([10.0, 12.0, 9.0, 11.0])
    assert not stats.is_noisy(FAST)
    assert not stats.is_noisy([10.0])
    (warning,) = stats.warnings_for([10.0, 12.0, 9.0, 11.0])
    assert "coefficient of variation" in warning


def test_slow_first_run_warns() -> None:
    runs = [13.065, *FAST]  # 30% over the rest's median of 10.05
    assert stats.first_run_much_slower(runs)
    assert any("first run is 30% slower" in w for w in stats.warnings_for(runs))


@pytest.mark.parametrize(
    "runs",
    [
        [10.5, *FAST],  # 5% slower: within what a first run may cost
        [13.0, 10.0, 14.0, 9.0, 12.0],  # the rest are as spread out as the first is slow
        [13.0, 10.0],  # one later run gives no spread to judge by
    ],
)
def test_first_run_not_much_slower(runs: list[float]) -> None:
    assert not stats.first_run_much_slower(runs)


def test_stopping_rule_waits_for_a_narrow_interval() -> None:
    compare_to = {"serial-full": None, "gate": "serial-full", "unit": "missing"}
    few = {"serial-full": FAST[:3], "gate": [w / 2 for w in FAST[:3]], "unit": [1.0]}
    assert stats.pending_comparisons(few, compare_to) == ("gate",)
    assert stats.needs_more_runs(few, compare_to)
    enough = {"serial-full": FAST, "gate": [w / 2 for w in FAST]}
    assert not stats.needs_more_runs(enough, compare_to)
    assert stats.needs_more_runs(enough, compare_to, max_width=0.01)


# Error rates on synthetic data. 200 seeds of 5 runs a side, as `benchmarks/stats_error_rates.py`
# prints them; fixed seeds keep the test deterministic, and a wrong interval would move them.
SEEDS = range(200)


@pytest.mark.parametrize(("cv", "at_least"), [(0.03, 1.0), (0.05, 0.95), (0.10, 0.5)])
def test_real_20_percent_slowdown_is_flagged(cv: float, at_least: float) -> None:
    flagged = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        base, slow = lognormal(rng, 5, cv), lognormal(rng, 5, cv, scale=12.0)
        e = stats.compare_ratio(base, slow, noise_floor=stats.noise_floor(base))
        flagged += e.verdict == "slower"
    assert flagged / len(SEEDS) >= at_least


# One CV is enough: a rank method sees the same orderings at any noise level, so its false
# positive rate does not depend on the CV (the script's rows show identical rates).
@pytest.mark.parametrize(("n", "m"), [(4, 4), (5, 5), (3, 5)])
def test_same_distribution_is_flagged_at_most_5_percent(n: int, m: int) -> None:
    flagged = 0
    seeds = range(1000)
    for seed in seeds:
        rng = random.Random(seed)
        e = stats.compare_ratio(lognormal(rng, n, 0.05), lognormal(rng, m, 0.05))
        flagged += e.verdict != "no significant difference"
    assert flagged / len(seeds) <= 0.05


def test_same_heavy_tailed_distribution_is_flagged_at_most_5_percent() -> None:
    # Exponential noise on top of a floor: skewed, nothing like a normal distribution.
    flagged = 0
    for seed in range(1000):
        rng = random.Random(seed)
        base = [10 + rng.expovariate(1.0) for _ in range(5)]
        current = [10 + rng.expovariate(1.0) for _ in range(5)]
        flagged += stats.compare_ratio(base, current).verdict != "no significant difference"
    assert flagged / 1000 <= 0.05


@pytest.mark.parametrize(
    ("n", "m"), [(stats.NORMAL_ABOVE, stats.NORMAL_ABOVE), (stats.NORMAL_ABOVE, 80), (60, 60)]
)
def test_normal_approximation_agrees_with_the_exact_table(
    n: int, m: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The exact table of stats itself, made to answer for every size.
    monkeypatch.setattr(stats, "NORMAL_ABOVE", 10**6)
    exact_k, exact_coverage = stats._excluded_per_tail(n, m, 0.05)
    normal_k, normal_coverage = stats._excluded_per_tail_normal(n, m, 0.05)
    # Never more differences dropped than the exact table allows (the interval is never
    # narrower), at most one fewer, and the coverage the same to a tenth of a percent.
    assert exact_k - 1 <= normal_k <= exact_k
    assert normal_coverage >= 0.95
    assert normal_coverage == pytest.approx(exact_coverage, abs=1e-3)


def test_many_runs_get_an_interval_from_the_normal_approximation() -> None:
    rng = random.Random(3)
    base, current = lognormal(rng, 249, 0.02), lognormal(rng, 249, 0.02, scale=5.0)
    e = stats.compare_ratio(base, current)
    assert e.verdict == "faster"
    assert e.low is not None
    assert e.high is not None
    assert e.low <= e.ratio <= e.high
    assert e.confidence == pytest.approx(0.95, abs=1e-3)
