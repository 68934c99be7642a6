"""Statistics over repeated wall times: summaries, ratio intervals, noise floor, stopping rule.

Pure functions, no I/O. Values are wall times in seconds, in the order they were recorded.

The ratio interval is the Hodges-Lehmann interval on log times with its exact, distribution-free
Mann-Whitney confidence level. Why not the bootstrap: with the few runs a suite allows (3-5),
the bootstrap percentile interval of a median is too narrow (measured: 10% false positives at
3 vs 3 runs where 5% was promised), while the exact interval's error rate holds for any noise
shape - skewed, heavy-tailed, a stray slow run - because it assumes only that the runs of one
side are exchangeable. It draws no random numbers, so it is reproducible by construction. The
price is honesty about small samples: below 4 runs a side (3 vs 5 is the smallest uneven pair)
no 95% interval exists, and the estimate says so instead of inventing one. Above
NORMAL_ABOVE runs a side the exact count table gets slow (O(n^2 m)) and the normal approximation
of the same Mann-Whitney distribution gives the same interval, or one a single pairwise
difference wider; see NORMAL_ABOVE.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

Verdict = Literal["faster", "slower", "no significant difference", "single run"]

# Above this many runs on both sides the Mann-Whitney critical value comes from the normal
# approximation. The exact table costs O(n^2 m): ~10 ms at 50 vs 50, ~1.5 s at 249 vs 249. U is
# a sum of many bounded rank indicators, so it is close to normal for large samples; with the
# continuity correction the approximate cut-off equals the exact one at 50 vs 50, and over every
# pair from 45 to 70 runs a side (m up to 3n) it was the same or one pairwise difference lower,
# never higher: U's tails are lighter than the normal's, so the error widens the interval, and
# the coverage stays within 0.1% of the exact one (test_normal_approximation_agrees_...).
NORMAL_ABOVE = 50

METHOD = (
    "Hodges-Lehmann on log times, Mann-Whitney 95% interval "
    f"(exact up to {NORMAL_ABOVE} runs a side, normal approximation above)"
)
CONFIDENCE = 0.95

# Above this coefficient of variation a machine is too noisy for small differences: the
# issue's own control re-run moved 2.1%, and shared CI runners move by far more.
CV_LIMIT = 0.05

# A first run is "much slower" when it exceeds the median of the later runs by more than
# this fraction AND by more than FIRST_RUN_SIGMAS standard deviations of those runs. Cold
# .pyc compilation and file caches typically cost a first run 10-50%; the sigma condition keeps
# ordinary noise on a jittery runner from being mistaken for a warm-up effect.
FIRST_RUN_EXCESS = 0.10
FIRST_RUN_SIGMAS = 3.0

# Default relative width (high - low) / ratio at which `--repeat auto` may stop: a speedup
# known to within +-5% is precise enough to choose a strategy by.
STOP_WIDTH = 0.10


@dataclass(frozen=True)
class Stats:
    """Summary of one strategy's wall times."""

    n: int
    median: float
    mean: float
    stdev: float  # sample standard deviation; 0.0 for a single value
    min: float
    max: float
    cv: float  # coefficient of variation, stdev / mean


@dataclass(frozen=True)
class RatioEstimate:
    """How much faster `current` is than `base`: median(base) / median(current)."""

    ratio: float  # > 1: current is faster
    low: float | None  # 95% interval; None when no 95% interval exists (see `note`)
    high: float | None
    verdict: Verdict
    n_base: int
    n_current: int
    confidence: float | None = None  # exact coverage of [low, high], at least 0.95
    note: str | None = None  # why there is no interval, or why a difference was discounted

    @property
    def relative_width(self) -> float:
        """Return (high - low) / ratio, or infinity when there is no interval."""
        if self.low is None or self.high is None:
            return math.inf
        return (self.high - self.low) / self.ratio


def describe(values: Sequence[float]) -> Stats:
    """Summarize values; raise ValueError when there are none."""
    if not values:
        raise ValueError("no values to describe")
    mean = statistics.fmean(values)
    stdev = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stats(
        n=len(values),
        median=statistics.median(values),
        mean=mean,
        stdev=stdev,
        min=min(values),
        max=max(values),
        cv=stdev / mean if mean else 0.0,
    )


def relative_difference(ratio: float) -> float:
    """Return the size of a change as a fraction, the same either way (1.25 and 0.8 -> 0.25)."""
    return max(ratio, 1 / ratio) - 1


def compare_ratio(
    base: Sequence[float],
    current: Sequence[float],
    *,
    noise_floor: float = 0.0,
) -> RatioEstimate:
    """Estimate median(base) / median(current) with a 95% interval and a verdict.

    The interval draws no random numbers, so the same runs always give the same answer.
    """
    _check_positive(base, "base")
    _check_positive(current, "current")
    ratio = statistics.median(base) / statistics.median(current)
    n_base, n_current = len(base), len(current)
    if n_base < 2 or n_current < 2:
        return RatioEstimate(ratio, None, None, "single run", n_base, n_current)
    interval = ratio_interval(base, current)
    if interval is None:
        too_few = f"{n_base} vs {n_current} runs are too few for a {CONFIDENCE:.0%} interval"
        verdict: Verdict = "no significant difference"
        return RatioEstimate(ratio, None, None, verdict, n_base, n_current, note=too_few)
    low, high, confidence = interval
    verdict, note = _verdict(ratio, low, high, noise_floor)
    return RatioEstimate(ratio, low, high, verdict, n_base, n_current, confidence, note)


def _verdict(ratio: float, low: float, high: float, floor: float) -> tuple[Verdict, str | None]:
    if low <= 1 <= high:
        return "no significant difference", None
    if relative_difference(ratio) < floor:
        return "no significant difference", f"under the noise floor of {floor:.1%}"
    return ("faster" if low > 1 else "slower"), None


def _check_positive(values: Sequence[float], name: str) -> None:
    if not values:
        raise ValueError(f"{name}: no values")
    if any(not v > 0 for v in values):
        raise ValueError(f"{name}: wall times must be positive, got {list(values)!r}")


def ratio_interval(
    base: Sequence[float], current: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float] | None:
    """Return (low, high, exact coverage) for base/current, or None if too few runs.

    The interval is the pair of order statistics of all pairwise log differences
    log(b) - log(c) that the Mann-Whitney null distribution puts at the requested level; its
    coverage is exact for any continuous distribution that differs only by a scale factor
    (approximate, within 0.1%, above NORMAL_ABOVE runs a side).
    """
    n, m = len(base), len(current)
    k, coverage = _excluded_per_tail(n, m, 1 - confidence)
    if k == 0:
        return None
    log_current = [math.log(c) for c in current]  # n + m logs, not 2nm: 249 a side has 62,001
    diffs = sorted([lb - lc for lb in map(math.log, base) for lc in log_current])
    return math.exp(diffs[k - 1]), math.exp(diffs[n * m - k]), coverage


def _excluded_per_tail(n: int, m: int, alpha: float) -> tuple[int, float]:
    """Return how many pairwise differences to drop from each end, and the coverage left.

    Exact for up to NORMAL_ABOVE runs on either side, from the normal approximation above.
    """
    if min(n, m) > NORMAL_ABOVE:
        return _excluded_per_tail_normal(n, m, alpha)
    counts = _mann_whitney_counts(n, m, upto=n * m // 2)
    return _cut(counts, math.comb(n + m, n), alpha)


def _cut(counts: Sequence[int], total: int, alpha: float) -> tuple[int, float]:
    """Return how many of the smallest values each tail may exclude, and the coverage left.

    counts[u] is how many of the total equally likely arrangements give the statistic u: the
    tails grow while both together stay within alpha.
    """
    tail, k = 0, 0
    for count in counts:
        if 2 * (tail + count) > alpha * total:
            break
        tail += count
        k += 1
    return k, 1 - 2 * tail / total


def runs_for_interval(confidence: float = CONFIDENCE) -> int:
    """Return the fewest runs a side (n vs n) that give an interval at this confidence."""
    n = 2
    while _excluded_per_tail(n, n, 1 - confidence)[0] == 0:
        n += 1
    return n


def _excluded_per_tail_normal(n: int, m: int, alpha: float) -> tuple[int, float]:
    """Return _excluded_per_tail's answer from the normal approximation of U's distribution.

    Dropping k differences per tail keeps the interval when P(U <= k - 1) <= alpha / 2; with
    the continuity correction that is Phi((k - 1/2 - nm/2) / sd) <= alpha / 2.
    """
    normal = NormalDist(n * m / 2, math.sqrt(n * m * (n + m + 1) / 12))
    k = max(0, math.floor(normal.inv_cdf(alpha / 2) + 0.5))
    return k, 1 - 2 * normal.cdf(k - 0.5)


def _mann_whitney_counts(n: int, m: int, upto: int) -> list[int]:
    """Return how many of the C(n+m, n) orderings give U = 0, 1, ..., upto.

    These are the coefficients of the Gaussian binomial [n+m choose n]_q, built as the product
    of (1 - q^(m+i)) / (1 - q^i) for i = 1..n. Coefficient u depends only on lower ones, so
    truncating at `upto` is exact; integers keep it exact for any size.
    """
    coef = [1] + [0] * upto
    for i in range(1, n + 1):
        for u in range(upto, m + i - 1, -1):  # multiply by 1 - q^(m+i)
            coef[u] -= coef[u - m - i]
        for u in range(i, upto + 1):  # divide by 1 - q^i
            coef[u] += coef[u - i]
    return coef


def paired_ratio(ratios: Sequence[float], *, noise_floor: float = 0.0) -> RatioEstimate:
    """Estimate the typical before/after ratio of paired runs, with a 95% interval and a verdict.

    Each ratio was measured within one bench (one machine, one round), so the machine's speed
    cancels out of it. The estimate is the Hodges-Lehmann one-sample estimate on log ratios (the
    median of the Walsh averages); the interval is its exact Wilcoxon signed-rank interval,
    distribution-free for log ratios symmetric about their centre. 6 pairs give a 95% interval.
    """
    _check_positive(ratios, "ratios")
    n = len(ratios)
    logs = [math.log(r) for r in ratios]
    walsh = sorted((logs[i] + logs[j]) / 2 for i in range(n) for j in range(i, n))
    ratio = math.exp(statistics.median(walsh))
    if n < 2:
        return RatioEstimate(ratio, None, None, "single run", n, n)
    k, coverage = _signed_rank_excluded(n, 1 - CONFIDENCE)
    if k == 0:
        few = f"{n} pairs are too few for a {CONFIDENCE:.0%} interval"
        return RatioEstimate(ratio, None, None, "no significant difference", n, n, note=few)
    low, high = math.exp(walsh[k - 1]), math.exp(walsh[len(walsh) - k])
    verdict, note = _verdict(ratio, low, high, noise_floor)
    return RatioEstimate(ratio, low, high, verdict, n, n, coverage, note)


def _signed_rank_excluded(n: int, alpha: float) -> tuple[int, float]:
    """Return how many Walsh averages to drop from each end, and the exact coverage left.

    counts[w] is how many of the 2^n sign patterns give the signed-rank sum w, the
    coefficients of the product of (1 + q^i) for i = 1..n.
    """
    counts = [1] + [0] * (n * (n + 1) // 2)
    for i in range(1, n + 1):
        for w in range(len(counts) - 1, i - 1, -1):
            counts[w] += counts[w - i]
    return _cut(counts, 2**n, alpha)


def pairs_for_interval(confidence: float = CONFIDENCE) -> int:
    """Return the fewest pairs that give a signed-rank interval at this confidence."""
    n = 1
    while _signed_rank_excluded(n, 1 - confidence)[0] == 0:
        n += 1
    return n


def interleaved_halves(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """Split runs into odd and even positions, so drift over time falls on both halves."""
    return list(values[0::2]), list(values[1::2])


def noise_floor(values: Sequence[float]) -> float:
    """Return the A/A noise floor of repeated runs of one strategy, as a fraction.

    Definition: the runs (in recorded order) are split into two interleaved halves - the same
    suite on the same machine, so any difference between them is noise - and the floor is the
    relative difference between the halves' medians, |ratio - 1| taken symmetrically. It is
    what this machine showed for "no change at all", so a measured difference smaller than it
    cannot be told from noise. Fewer than two runs give 0.0: no floor can be measured.
    """
    if len(values) < 2:
        return 0.0
    first, second = interleaved_halves(values)
    _check_positive(values, "values")
    return relative_difference(statistics.median(first) / statistics.median(second))


def is_noisy(values: Sequence[float], limit: float = CV_LIMIT) -> bool:
    """Return whether the coefficient of variation is over the limit (5% by default)."""
    return len(values) > 1 and describe(values).cv > limit


def first_run_much_slower(values: Sequence[float]) -> bool:
    """Return whether the first run looks like an unexcluded warm-up (see FIRST_RUN_EXCESS)."""
    if len(values) < 3:  # the rest needs two runs to have a spread at all
        return False
    rest = describe(values[1:])
    excess = values[0] - rest.median
    return excess > FIRST_RUN_EXCESS * rest.median and excess > FIRST_RUN_SIGMAS * rest.stdev


def warnings_for(values: Sequence[float]) -> tuple[str, ...]:
    """Return human-readable warnings about one strategy's runs, in recorded order."""
    found: list[str] = []
    if is_noisy(values):
        cv = describe(values).cv
        found.append(f"coefficient of variation {cv:.1%} is over {CV_LIMIT:.0%}")
    if first_run_much_slower(values):
        rest = statistics.median(values[1:])
        found.append(
            f"first run is {values[0] / rest - 1:.0%} slower than the rest; consider --warmup 1"
        )
    return tuple(found)


def pending_comparisons(
    walls: Mapping[str, Sequence[float]],
    compare_to: Mapping[str, str | None],
    *,
    max_width: float = STOP_WIDTH,
) -> tuple[str, ...]:
    """Return the strategies whose interval against compare_to is still wider than max_width.

    `walls` maps each strategy to its non-warm-up wall times so far; `compare_to` maps each
    strategy to its baseline (None: not compared). A comparison whose baseline has no runs is
    not pending: no number of repeats of one side would settle it.
    """
    pending = []
    for name, base_name in compare_to.items():
        if base_name is None or not walls.get(base_name) or not walls.get(name):
            continue
        estimate = compare_ratio(walls[base_name], walls[name])
        if estimate.relative_width > max_width:
            pending.append(name)
    return tuple(pending)


def needs_more_runs(
    walls: Mapping[str, Sequence[float]],
    compare_to: Mapping[str, str | None],
    *,
    max_width: float = STOP_WIDTH,
) -> bool:
    """Return whether `--repeat auto` should run another round (the caller owns the budget)."""
    return bool(pending_comparisons(walls, compare_to, max_width=max_width))
