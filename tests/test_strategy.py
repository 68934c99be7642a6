"""How a strategy becomes pytest's arguments."""

from __future__ import annotations

import pytest

from benchlib.strategy import Strategy, pytest_args, resolve_workers, usable_cpus

pytestmark = pytest.mark.unit


def args(s: Strategy, workers: int = 0, xdist: bool = True) -> list[str]:
    return pytest_args(
        s, paths=["tests"], shared_args=["-q"], workers=workers, xdist_installed=xdist
    )


def test_serial_pins_n_0_when_xdist_is_there() -> None:
    assert args(Strategy("s")) == ["tests", "-q", "-n", "0"]
    assert args(Strategy("s"), xdist=False) == ["tests", "-q"]


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


def test_strategy_paths_replace_the_configured_ones() -> None:
    assert args(Strategy("x", paths=("tests/unit",)))[0] == "tests/unit"


def test_auto_resolves_to_usable_cpus() -> None:
    assert resolve_workers("auto") == usable_cpus() >= 1
    assert resolve_workers(3) == 3
