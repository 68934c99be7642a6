"""Build RunResult values for pure tests of merging, reporting and statistics."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from benchlib.model import results
from benchlib.model.results import (
    Counts,
    Machine,
    RunResult,
    SamplerInfo,
    Samples,
    StrategyRecord,
    Target,
    TestRecord,
    Timeline,
    WorkerTimes,
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


def timed(
    name: str = "gate",
    *,
    lanes: dict[str | None, list[tuple[str, float]]],
    session_s: float = 0.3,
    boot_s: float = 0.2,
    collect_s: float = 0.1,
    gap_s: float = 0.001,
    shutdown_s: float = 0.4,
    strategy_kw: dict[str, Any] | None = None,
    **kw: Any,
) -> RunResult:
    """A run whose tests sit on a timeline (format 3): each lane's tests back to back.

    lanes maps a worker id (None when serial) to its (nodeid, duration_s) in order. Under
    xdist every worker boots for boot_s after the session starts, then collects for collect_s;
    serially the suite is collected for collect_s. Each test is 10% setup, 80% call, 10%
    teardown, and the run ends shutdown_s after its last test.
    """
    parallel = any(w is not None for w in lanes)
    first = session_s + (boot_s if parallel else 0.0) + collect_s
    records, ends = [], []
    for worker, specs in lanes.items():
        t = first
        for nodeid, d in specs:
            records.append(
                TestRecord(
                    nodeid=nodeid, outcome="passed", duration_s=d, setup_s=d * 0.1,
                    call_s=d * 0.8, teardown_s=d * 0.1, worker=worker, start_s=t,
                )
            )  # fmt: skip
            t += d + gap_s
        ends.append(t - gap_s)
    workers = tuple(
        WorkerTimes(w, session_s, session_s + boot_s, session_s + boot_s + collect_s, first)
        for w in lanes
        if w is not None
    )
    last = max(ends)
    line = Timeline(session_s, first if parallel else session_s + collect_s, last + 0.1, workers)
    skw = {"workers": len(workers)} | (strategy_kw or {})
    return result(
        name,
        wall_s=last + shutdown_s,
        tests=tuple(records),
        timeline=line,
        strategy_kw=skw,
        workers_observed=len(workers),
        **kw,
    )
