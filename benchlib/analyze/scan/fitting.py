"""The scaling curve of a worker scan: wall(n) = serial + parallel / n + per_worker * n.

Pure functions over (workers, wall seconds) pairs, one pair per run. The model is linear in its
three parameters, so ordinary least squares solves it exactly through the normal equations (a
3x3 system); numpy is not needed. Standard errors come from the residuals (s^2 (X'X)^-1), which
needs more runs than parameters: fitting every run rather than the medians gives the repeats
their say, and the residual spread is then the run-to-run noise plus the model's misfit.

    serial      what no worker count removes: start-up, collection, the longest test
    parallel    the work spread over the workers: seconds at one worker
    per_worker  what each worker adds: starting it, collecting in it, stopping it
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

PARAMETERS = ("serial_s", "parallel_s", "per_worker_s")
# The order-statistic interval of a median is chosen at this coverage or the nearest below it.
MEDIAN_COVERAGE = 0.95


@dataclass(frozen=True)
class Residual:
    """How far the curve is from the median of the runs at one worker count."""

    workers: int
    runs: int
    median_s: float
    fitted_s: float

    @property
    def residual_s(self) -> float:
        return self.median_s - self.fitted_s


@dataclass(frozen=True)
class Fit:
    """The fitted curve, its parameters' standard errors and how well it fits."""

    serial_s: float
    parallel_s: float
    per_worker_s: float
    serial_se_s: float | None  # None: as many runs as parameters, no spread left to measure
    parallel_se_s: float | None
    per_worker_se_s: float | None
    r_squared: float
    runs: int
    residuals: tuple[Residual, ...]

    def wall_s(self, workers: float) -> float:
        """Return the curve's wall time at this many workers (n >= 1)."""
        return self.serial_s + self.parallel_s / workers + self.per_worker_s * workers

    @property
    def best_workers(self) -> float | None:
        """Return where the curve is lowest: sqrt(parallel / per_worker), when that exists."""
        if self.per_worker_s <= 0 or self.parallel_s <= 0:
            return None
        return math.sqrt(self.parallel_s / self.per_worker_s)


def _row(workers: int) -> tuple[float, float, float]:
    return (1.0, 1.0 / workers, float(workers))


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Solve a x = b by Gaussian elimination with partial pivoting; None when singular."""
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12 * max(1.0, max(abs(v) for v in m[pivot][:n])):
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            m[r] = [v - factor * p for v, p in zip(m[r], m[col], strict=True)]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def _normal_matrix(workers: Sequence[int]) -> list[list[float]]:
    rows = [_row(n) for n in workers]
    return [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]


def no_fit_reason(points: Sequence[tuple[int, float]]) -> str | None:
    """Say why fit() gives no curve for these runs, or None when it gives one."""
    counts = sorted({n for n, _ in points if n >= 1})
    if len(counts) < 3:
        had = ", ".join(map(str, counts)) or "none"
        return (
            f"no curve: its three parameters need runs at three worker counts of 1 or more "
            f"(these runs have {had}); add --workers 1,2,4"
        )
    if fit(points) is None:
        return "no curve: the worker counts make the equations singular"
    return None


def fit(points: Sequence[tuple[int, float]]) -> Fit | None:
    """Fit the curve to (workers, wall_s) runs; None without 3 distinct counts >= 1."""
    points = [(n, w) for n, w in points if n >= 1]
    if len({n for n, _ in points}) < 3:
        return None  # three parameters need three worker counts
    xtx = _normal_matrix([n for n, _ in points])
    xty = [sum(_row(n)[i] * w for n, w in points) for i in range(3)]
    beta = _solve(xtx, xty)
    if beta is None:
        return None
    a, b, c = beta
    predicted = [a + b / n + c * n for n, _ in points]
    walls = [w for _, w in points]
    ss_res = sum((w - p) ** 2 for w, p in zip(walls, predicted, strict=True))
    mean = statistics.fmean(walls)
    ss_tot = sum((w - mean) ** 2 for w in walls)
    errors = _standard_errors(xtx, ss_res, len(points))
    curve = Fit(a, b, c, *errors, r_squared=_r2(ss_res, ss_tot), runs=len(points), residuals=())
    return dataclasses.replace(curve, residuals=_residuals(points, curve))


def _r2(ss_res: float, ss_tot: float) -> float:
    # All runs equal: a flat curve through them explains everything there is.
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0


def _standard_errors(
    xtx: list[list[float]], ss_res: float, runs: int
) -> tuple[float | None, float | None, float | None]:
    dof = runs - 3
    if dof <= 0:
        return None, None, None
    sigma2 = ss_res / dof
    diagonal = []
    for i in range(3):
        unit = [1.0 if j == i else 0.0 for j in range(3)]
        column = _solve(xtx, unit)
        if column is None:
            return None, None, None
        diagonal.append(math.sqrt(max(column[i] * sigma2, 0.0)))
    return diagonal[0], diagonal[1], diagonal[2]


def _residuals(points: Sequence[tuple[int, float]], curve: Fit) -> tuple[Residual, ...]:
    by_workers: dict[int, list[float]] = defaultdict(list)
    for n, w in points:
        by_workers[n].append(w)
    return tuple(
        Residual(n, len(walls), statistics.median(walls), curve.wall_s(n))
        for n, walls in sorted(by_workers.items())
    )


def stops_paying(curve: Fit, noise_floor: float, up_to: int) -> int | None:
    """Return the worker count beyond which one more worker saves less than the noise floor.

    The saving of worker n+1 is wall(n) - wall(n+1), held against noise_floor * wall(n): a
    difference this machine cannot tell from no change at all. None if every step up to up_to
    still pays.
    """
    for n in range(1, up_to):
        if curve.wall_s(n) - curve.wall_s(n + 1) < noise_floor * curve.wall_s(n):
            return n
    return None


@dataclass(frozen=True)
class MedianInterval:
    """An order-statistic interval of a median: distribution-free, its coverage exact."""

    low_s: float
    high_s: float
    coverage: float  # the probability the interval holds the true median


def median_interval(values: Sequence[float]) -> MedianInterval | None:
    """Return the narrowest [x(k), x(m-k+1)] covering MEDIAN_COVERAGE, else min..max.

    Five runs cannot give 95% (min..max covers 1 - 2/32 = 93.75%): the coverage is reported
    as it is, never rounded up. None for fewer than 2 runs.
    """
    m = len(values)
    if m < 2:
        return None
    ordered = sorted(values)
    k, coverage = 1, _coverage(m, 1)
    while k + 1 <= m // 2 and _coverage(m, k + 1) >= MEDIAN_COVERAGE:
        k += 1
        coverage = _coverage(m, k)
    return MedianInterval(ordered[k - 1], ordered[m - k], coverage)


def _coverage(m: int, k: int) -> float:
    """Return P(x(k) <= median <= x(m-k+1)) = 1 - 2 P(Binomial(m, 1/2) <= k - 1)."""
    tail = sum(math.comb(m, i) for i in range(k)) / float(2**m)
    return 1.0 - 2.0 * tail
