"""Pure tests of the scaling curve: the fit, its errors, where it stops paying, median intervals."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from benchlib.analyze.scan import fitting

pytestmark = pytest.mark.unit

TRUE = (0.5, 3.0, 0.25)  # serial, parallel, per worker


def curve(n: int) -> float:
    a, b, c = TRUE
    return a + b / n + c * n


def test_exact_points_give_back_the_parameters() -> None:
    fit = fitting.fit([(n, curve(n)) for n in (1, 2, 4, 8)])
    assert fit is not None
    assert (fit.serial_s, fit.parallel_s, fit.per_worker_s) == pytest.approx(TRUE)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.best_workers == pytest.approx(math.sqrt(3.0 / 0.25))
    assert [r.residual_s for r in fit.residuals] == pytest.approx([0.0] * 4, abs=1e-9)


def test_noisy_runs_give_standard_errors_that_cover_the_truth() -> None:
    rng = random.Random(7)
    runs = [
        (n, curve(n) * rng.lognormvariate(0, 0.03)) for n in (1, 2, 3, 4, 6, 8) for _ in range(5)
    ]
    fit = fitting.fit(runs)
    assert fit is not None
    assert fit.runs == 30
    estimates = (fit.serial_s, fit.parallel_s, fit.per_worker_s)
    errors = (fit.serial_se_s, fit.parallel_se_s, fit.per_worker_se_s)
    for estimate, error, truth in zip(estimates, errors, TRUE, strict=True):
        assert error is not None
        assert error > 0
        assert abs(estimate - truth) < 4 * error
    assert 0.9 < fit.r_squared <= 1.0


def test_as_many_runs_as_parameters_have_no_standard_error() -> None:
    fit = fitting.fit([(1, 4.0), (2, 2.6), (4, 2.0)])
    assert fit is not None
    assert fit.serial_se_s is None
    assert fit.per_worker_se_s is None


@pytest.mark.parametrize(
    "points",
    [
        [(1, 3.0), (2, 2.0)],  # two counts cannot fix three parameters
        [(0, 5.0), (1, 3.0), (2, 2.0)],  # serial is not on the xdist curve
        [(2, 2.0), (2, 2.1), (2, 1.9), (2, 2.0)],
    ],
)
def test_too_few_worker_counts_give_no_fit(points: list[tuple[int, float]]) -> None:
    assert fitting.fit(points) is None


def test_the_curve_stops_paying_where_a_worker_saves_less_than_the_floor() -> None:
    fit = fitting.fit([(n, curve(n)) for n in (1, 2, 4, 8)])
    assert fit is not None
    stop = fitting.stops_paying(fit, 0.05, 32)
    assert stop is not None
    # The step to stop + 1 saves less than 5% of the wall there; every earlier step saves more.
    assert fit.wall_s(stop) - fit.wall_s(stop + 1) < 0.05 * fit.wall_s(stop)
    for n in range(1, stop):
        assert fit.wall_s(n) - fit.wall_s(n + 1) >= 0.05 * fit.wall_s(n)
    assert fitting.stops_paying(fit, 0.0, 2) is None  # each step to 2 saves something


@pytest.mark.parametrize(("runs", "coverage"), [(5, 0.9375), (6, 0.96875), (10, 0.978515625)])
def test_median_interval_reports_its_exact_coverage(runs: int, coverage: float) -> None:
    values = [float(v) for v in range(runs, 0, -1)]
    found = fitting.median_interval(values)
    assert found is not None
    assert found.coverage == pytest.approx(coverage)
    assert found.low_s <= sorted(values)[runs // 2] <= found.high_s
    assert found.coverage >= 0.95 or (found.low_s, found.high_s) == (1.0, float(runs))


def test_median_interval_covers_as_promised() -> None:
    # The median of a lognormal(0, s) is 1: count how often 8-run intervals hold it.
    rng = random.Random(3)
    held = 0
    trials = 2000
    for _ in range(trials):
        found = fitting.median_interval([rng.lognormvariate(0, 0.2) for _ in range(8)])
        assert found is not None
        held += found.low_s <= 1.0 <= found.high_s
    assert held / trials == pytest.approx(0.9921875, abs=0.01)


def test_one_run_has_no_median_interval() -> None:
    assert fitting.median_interval([3.0]) is None


def test_standard_errors_match_an_exact_computation() -> None:
    # s^2 (X'X)^-1 with s^2 = residual sum of squares / (runs - 3), in exact fractions.
    points = [(1, 3.9), (2, 2.3), (3, 1.9), (4, 1.9), (6, 2.2), (8, 2.5)]
    fit = fitting.fit(points)
    assert fit is not None
    rows = [[Fraction(1), Fraction(1, n), Fraction(n)] for n, _ in points]
    xtx = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    inverse = _invert(xtx)
    ss = sum((w - fit.wall_s(n)) ** 2 for n, w in points)
    s2 = ss / (len(points) - 3)
    expected = [math.sqrt(s2 * float(inverse[i][i])) for i in range(3)]
    found = [fit.serial_se_s, fit.parallel_se_s, fit.per_worker_se_s]
    assert found == pytest.approx(expected, rel=1e-9)


def _invert(m: list[list[Fraction]]) -> list[list[Fraction]]:
    n = len(m)
    a = [[*row, *(Fraction(int(i == j)) for j in range(n))] for i, row in enumerate(m)]
    for c in range(n):
        p = next(r for r in range(c, n) if a[r][c] != 0)
        a[c], a[p] = a[p], a[c]
        a[c] = [v / a[c][c] for v in a[c]]
        for r in range(n):
            if r != c:
                a[r] = [v - a[r][c] * w for v, w in zip(a[r], a[c], strict=True)]
    return [row[n:] for row in a]
