"""Build RunResult values for pure tests of merging, reporting and statistics."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from benchlib import results
from benchlib.results import (
    Counts,
    Machine,
    RunResult,
    SamplerInfo,
    Samples,
    StrategyRecord,
    Target,
    TestRecord,
)

MACHINE = Machine(
    hostname="bench-host",
    os="Linux-6.1-x86_64",
    python="3.11.7",
    cpu_model="Example CPU @ 2.00GHz",
    cpus_logical=2,
    cpus_physical=1,
    cpus_usable=2,
    memory_bytes=24 * 2**30,
    versions={"pytest": "9.0.3", "pytest-xdist": "3.8.0", "psutil": "7.2.2", "benchlib": "0.1.0"},
)

_ids = itertools.count()


def strategy(name: str = "serial-full", **kw: Any) -> StrategyRecord:
    fields: dict[str, Any] = {
        "name": name,
        "description": "",
        "pytest_args": ("tests", "-q"),
        "workers": 0,
        "dist": None,
        "env": {},
        "compare_to": None,
        "scope": "full",
        "timeout_s": None,
    }
    fields.update(kw)
    return StrategyRecord(**fields)


def tests_(*specs: tuple[str, str, float]) -> tuple[TestRecord, ...]:
    """Per-test records from (nodeid, outcome, duration_s) triples."""
    return tuple(TestRecord(nodeid=n, outcome=o, duration_s=d, call_s=d) for n, o, d in specs)  # type: ignore[arg-type]


def result(
    name: str = "serial-full",
    *,
    wall_s: float = 10.0,
    outcome: Counts | None = None,
    tests: tuple[TestRecord, ...] = (),
    strategy_kw: dict[str, Any] | None = None,
    **kw: Any,
) -> RunResult:
    """A plausible result; override any RunResult field by keyword."""
    n = next(_ids)
    fields: dict[str, Any] = {
        "run_id": f"{name}_20261126T120000Z_bench-host_{n}",
        "strategy": strategy(name, **(strategy_kw or {})),
        "argv": ("python", "-m", "pytest", "tests", "-q"),
        "target": Target(path="/src/project", git_commit=None, git_dirty=None),
        "started_at": "2026-11-26T12:00:00+00:00",
        "ended_at": "2026-11-26T12:00:10+00:00",
        "status": "passed",
        "exit_code": 0,
        "wall_s": wall_s,
        "cpu_user_s": wall_s * 0.9,
        "cpu_system_s": wall_s * 0.05,
        "cpu_source": "rusage",
        "peak_rss_bytes": 100 * 2**20,
        "max_single_rss_bytes": 100 * 2**20,
        "peak_processes": 1,
        "workers_observed": 0,
        "outcome": outcome or Counts(passed=len(tests) or 10),
        "collected": None,
        "tests": tests,
        "warning_categories": {},
        "samples": Samples(),
        "log_path": f"logs/{name}-{n}.log",
        "machine": MACHINE,
        "sampler": SamplerInfo(interval_s=0.1, count=100, mean_cost_s=0.0001),
        "env": {},
        "ignored_env": {},
    }
    fields.update(kw)
    if fields["outcome"].warnings and not fields["warning_categories"]:
        # Files store the categories; the total is their sum.
        fields["warning_categories"] = {"UserWarning": fields["outcome"].warnings}
    return RunResult(**fields)


def replace(r: RunResult, **kw: Any) -> RunResult:
    return dataclasses.replace(r, **kw)


def write(r: RunResult, folder: Any) -> Any:
    """Save a result into folder (a pathlib.Path) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    return results.save(r, folder)
