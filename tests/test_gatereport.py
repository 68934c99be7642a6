"""The gate on a job's summary page: the outcome first, then each lane with its interval."""

from __future__ import annotations

from collections.abc import Sequence

import factories
import pytest

from benchlib.analyze.compare import compare
from benchlib.model.results import RunResult
from benchlib.render import gatereport

pytestmark = pytest.mark.unit

WALLS = (10.0, 10.1, 9.9, 10.2, 10.05)
HOSTILE = "lane`|<b>*"


def runs(name: str, factor: float = 1.0, walls: Sequence[float] = WALLS) -> list[RunResult]:
    return [
        factories.result(
            name, wall_s=w * factor, round=i, started_at=f"2026-11-26T12:0{i}:00+00:00"
        )
        for i, w in enumerate(walls)
    ]


def test_a_regression_fails_and_says_which_lane_by_how_much_with_its_interval() -> None:
    g = compare(runs("serial-full") + runs(HOSTILE), runs("serial-full", 1.3) + runs(HOSTILE))
    page = gatereport.render(g, "results/base", "results/head")
    first = page.splitlines()[2]
    assert first == "**FAILED:** significantly slower by more than 10%: `serial-full`."
    row = next(line for line in page.splitlines() if line.startswith("| `serial-full`"))
    assert "**REGRESSION**" in row and "1.30× slower" in row and "95% CI" in row
    (hostile,) = [line for line in page.splitlines() if "lane`" in line]
    assert hostile.startswith("| ``lane`\\|<b>*`` |")  # a code span; its pipe splits no cell
    assert hostile.count(" | ") == 4  # five cells, as the header has


def test_nothing_significant_passes_and_says_so() -> None:
    g = compare(runs("serial-full"), runs("serial-full"))
    page = gatereport.render(g, "b", "h")
    assert page.splitlines()[2] == "**Passed:** no lane moved significantly."
    assert "no significant difference" in page


def test_a_faster_lane_passes_and_is_named() -> None:
    g = compare(runs("serial-full"), runs("serial-full", 0.7))
    line = gatereport.render(g, "b", "h").splitlines()[2]
    assert line.startswith("**Passed:**") and "`serial-full` faster" in line
