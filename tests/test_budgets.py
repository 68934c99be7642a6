"""Pure tests of the budget table: each kind measured and reduced as it says."""

from __future__ import annotations

import factories as f
import pytest

from benchlib.model import budgets

pytestmark = pytest.mark.unit


def test_max_rss_bytes_holds_the_worst_runs_peak_rss() -> None:
    runs = [f.result(peak_rss_bytes=n * 2**20) for n in (100, 300, 200)]
    (check,) = budgets.check("gate", {"max_rss_bytes": 250 * 2**20}, runs)
    assert (check.kind.unit, check.actual, check.broken) == ("bytes", 300 * 2**20, True)


def test_unknown_kinds_are_not_checked() -> None:
    assert budgets.check("gate", {"max_coffee": 1.0}, [f.result()]) == []
