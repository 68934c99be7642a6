"""How a strategy becomes pytest's arguments."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchlib.plan.machine import usable_cpus
from benchlib.plan.strategy import Strategy, both, pytest_args, resolve_workers

unit = pytest.mark.unit
needs_affinity = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity"), reason="the OS has no CPU affinity (macOS, Windows)"
)


def args(s: Strategy, workers: int = 0, xdist: bool = True) -> list[str]:
    return pytest_args(
        s, paths=["tests"], shared_args=["-q"], workers=workers, xdist_installed=xdist
    )


@unit
def test_serial_pins_n_0_when_xdist_is_there() -> None:
    assert args(Strategy("s")) == ["tests", "-q", "-n", "0"]
    assert args(Strategy("s"), xdist=False) == ["tests", "-q"]


@unit
def test_selection_and_parallelism() -> None:
    s = Strategy(
        "x",
        markers="unit",
        keyword="not db",
        ignore=("tests/test_db.py",),
        deselect=("tests/test_a.py::test_b",),
        dist="loadscope",
        args=("--maxfail=1",),
    )
    assert args(s, workers=4) == [
        "tests", "-q", "--ignore=tests/test_db.py", "--deselect=tests/test_a.py::test_b",
        "-m", "unit", "-k", "not db", "-n", "4", "--dist", "loadscope", "--maxfail=1",
    ]  # fmt: skip


@unit
def test_strategy_paths_replace_the_configured_ones() -> None:
    assert args(Strategy("x", paths=("tests/unit",)))[0] == "tests/unit"


@unit
def test_a_number_of_workers_is_kept() -> None:
    assert resolve_workers(3, usable_cpus=8) == 3
    assert resolve_workers(0, usable_cpus=8) == 0


@unit
@needs_affinity
def test_auto_is_the_cpus_this_process_may_use() -> None:
    assert resolve_workers("auto", usable_cpus()) == len(os.sched_getaffinity(0))


# Pinning this test's own process would leak into the tests xdist runs after it: pin a child.
_PINNED = """
import os, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from benchlib.plan.machine import usable_cpus
from benchlib.plan.strategy import resolve_workers
print(resolve_workers("auto", usable_cpus()), os.cpu_count())
"""


@pytest.mark.integration
@needs_affinity
def test_auto_follows_affinity_not_the_cpu_count() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one usable CPU: pinning to one would not tell affinity from the count")
    out = subprocess.run(
        [sys.executable, "-c", _PINNED], capture_output=True, text=True, check=True, timeout=60
    )
    workers, cpu_count = map(int, out.stdout.split())
    assert workers == 1 < cpu_count


@pytest.mark.unit
@pytest.mark.parametrize(
    ("first", "second", "combined"),
    [
        ("not network", "not network", "not network"),  # issue 21 item 14: it was doubled
        ("not network", " (not  network) ", "not network"),
        ("(not network) and (unit)", "unit", "(not network) and (unit)"),
        ("unit", "(not network) and (unit)", "(not network) and (unit)"),
        ("not network", "unit", "(not network) and (unit)"),
        ("x or a", "a", "(x or a) and (a)"),  # a is not required by x or a
        ("a or b and c", "c", "(a or b and c) and (c)"),  # and binds tighter than or
    ],
)
def test_an_expression_already_required_is_not_added_twice(
    first: str, second: str, combined: str
) -> None:
    assert both(first, second) == combined
