"""A run plan: one strategy resolved against the target, everything needed to start its runs."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from benchlib.model.results import Part, StrategyRecord
from benchlib.plan.machine import Interpreter
from benchlib.plan.strategy import Strategy, pytest_args, xdist_loads

# The plugin benchlib adds to every run (measure puts its folder on PYTHONPATH); a user copying
# the command has no such plugin, so the reports leave it out.
OBSERVER_PLUGIN = ("-p", "benchlib_observer")


@dataclass(frozen=True)
class RunPlan:
    """One strategy, resolved against the target: everything needed to start its runs."""

    strategy: Strategy
    target: Path  # absolute
    interpreter: Interpreter
    paths: tuple[str, ...]
    shared_args: tuple[str, ...]
    workers: int
    timeout_s: float | None
    results_dir: Path  # absolute
    interval_s: float = 0.1
    show_output: bool = False
    # A shard or a step of a logical run; its logical_run_id is a prefix ("" for the bench's
    # id) to which each round adds its number.
    part: Part | None = None
    selection: tuple[str, ...] = ()  # exact node ids (a shard), given to pytest in an @file
    command: tuple[str, ...] = ()  # a command step's argv, run instead of pytest
    project: str | None = None  # the identity [tool.benchlib] declares (config.project)

    def pytest_args(self) -> list[str]:
        """Return pytest's arguments as a user would type them (without benchlib's plugin)."""
        strategy, paths = self.strategy, self.paths
        if self.selection:
            # The node ids are the whole selection: no path, filter or -m may add to it.
            strategy = dataclasses.replace(
                strategy, paths=(), markers=None, keyword=None, ignore=(), deselect=()
            )
            paths = (f"@{self.argfile()}",)
        return pytest_args(
            strategy,
            paths=paths,
            shared_args=self.shared_args,
            workers=self.workers,
            xdist_installed=xdist_loads(
                self.strategy, self.interpreter.xdist is not None, os.environ
            ),
        )

    def argv(self) -> tuple[str, ...]:
        if self.command:
            return self.command
        return (self.interpreter.path, "-m", "pytest", *self.pytest_args(), *OBSERVER_PLUGIN)

    def argfile(self) -> Path:
        """Return the file of node ids pytest reads (one argument a line, pytest >= 8.2)."""
        assert self.part is not None
        p = self.part
        return self.results_dir / "logs" / f"{p.logical_run_id}-{p.index}of{p.of}.args"

    def label(self) -> str:
        """Name the plan for progress: the strategy, and which part of it."""
        p = self.part
        return self.strategy.name + (f" {p.kind} {p.index}/{p.of}" if p else "")

    def record(self) -> StrategyRecord:
        s = self.strategy
        return StrategyRecord(
            name=s.name,
            description=s.description,
            pytest_args=self.command or tuple(self.pytest_args()),
            workers=self.workers,
            dist=s.dist if self.workers else None,
            env=dict(s.env),
            compare_to=s.compare_to,
            scope=s.scope,
            timeout_s=self.timeout_s,
            budgets=dict(s.budgets),
        )
