"""Strategies: named, declarative ways of running a suite, and the four built-in ones."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["full", "subset"]
Workers = int | Literal["auto"]


@dataclass(frozen=True)
class Strategy:
    """One way of running the target's tests: what to select and how parallel."""

    name: str
    description: str = ""
    paths: tuple[str, ...] = ()  # empty: the configured test paths
    markers: str | None = None  # pytest -m expression
    keyword: str | None = None  # pytest -k expression
    ignore: tuple[str, ...] = ()
    deselect: tuple[str, ...] = ()
    workers: Workers = 0  # 0 is serial; "auto" is resolved by benchlib, not xdist
    dist: str | None = None  # xdist --dist mode
    args: tuple[str, ...] = ()  # extra pytest arguments, after the shared ones
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None  # None: the configured default
    compare_to: str | None = None  # the strategy that is this one's "before"
    scope: Scope = "full"  # "subset" if it runs part of the baseline on purpose
    budgets: dict[str, float] = field(default_factory=dict)  # key of budgets.KINDS -> limit


BUILTIN: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            name="serial-full",
            description="Every test, one process: the baseline.",
        ),
        Strategy(
            name="unit",
            description="Marker-focused lane (-m unit), serial: fast feedback, less coverage.",
            markers="unit",
            compare_to="serial-full",
            scope="subset",
        ),
        Strategy(
            name="xdist-unit",
            description="The unit lane in parallel with pytest-xdist.",
            markers="unit",
            workers="auto",
            compare_to="unit",
            scope="subset",
        ),
        Strategy(
            name="gate",
            description="Every test in parallel with pytest-xdist: the full quality gate.",
            workers="auto",
            compare_to="serial-full",
        ),
    )
}


def usable_cpus() -> int:
    """Return the CPUs this process may run on (affinity-aware where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_workers(workers: Workers) -> int:
    return usable_cpus() if workers == "auto" else workers


def pytest_args(
    strategy: Strategy,
    *,
    paths: Sequence[str],
    shared_args: Sequence[str],
    workers: int,
    xdist_installed: bool,
) -> list[str]:
    """Return pytest's arguments for this strategy (without the interpreter and -m pytest)."""
    args = [*(strategy.paths or paths), *shared_args]
    args += [f"--ignore={p}" for p in strategy.ignore]
    args += [f"--deselect={n}" for n in strategy.deselect]
    if strategy.markers is not None:
        args += ["-m", strategy.markers]
    if strategy.keyword is not None:
        args += ["-k", strategy.keyword]
    if workers > 0:
        args += ["-n", str(workers)]
        if strategy.dist:
            args += ["--dist", strategy.dist]
    elif xdist_installed:
        # Command-line -n wins over the target's addopts, so a serial run stays serial
        # even where the project defaults to `-n auto`.
        args += ["-n", "0"]
    return [*args, *strategy.args]
