"""Build results with a timeline (tests placed on workers, milestones, sampler series).

For the charts' pure tests and benchmarks/html_report.py: a 5,000-test, 4-strategy result set
without running 5,000 tests.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from typing import Any

import factories as f

from benchlib.model.results import RunResult, Samples, TestRecord, Timeline, WorkerTimes

STARTUP_S = 0.4
BOOT_S = 0.8  # an xdist worker's interpreter and plugins
COLLECT_S = 0.3
GAP_S = 0.0002  # pytest's own time between two tests
SHUTDOWN_S = 0.3


def suite(n: int, seed: int = 1) -> list[tuple[str, float, str]]:
    """Return n tests as (nodeid, duration_s, outcome): mostly tiny, a few long, some failing."""
    rng = random.Random(seed)
    tests = []
    for i in range(n):
        folder = ("unit", "unit", "unit", "integration", "db")[i % 5]
        duration = rng.lognormvariate(-6.0, 1.2) if i % 97 else rng.uniform(0.05, 0.4)
        outcome = "failed" if i % 1009 == 7 else "error" if i % 1499 == 11 else "passed"
        outcome = "skipped" if i % 211 == 5 else outcome
        tests.append((f"tests/{folder}/test_m{i // 50}.py::test_{i}", duration, outcome))
    return tests


def _record(nodeid: str, duration: float, outcome: str, start: float, worker: str | None) -> Any:
    failing = outcome in ("failed", "error", "skipped")
    return TestRecord(
        nodeid=nodeid,
        outcome=outcome,  # type: ignore[arg-type]
        duration_s=duration,
        call_s=duration,
        phase=("setup" if outcome == "error" else "call") if failing else None,
        message=f"AssertionError: {nodeid} went wrong" if failing else None,
        worker=worker,
        start_s=start,
    )


def place(
    specs: list[tuple[str, float, str]], workers: int, first_s: float
) -> tuple[TestRecord, ...]:
    """Give each test to the worker free first, as xdist's load scheduling roughly does."""
    ids = [f"gw{i}" for i in range(workers)] if workers else [None]
    free = [(first_s, i) for i in range(len(ids))]
    placed = []
    for nodeid, duration, outcome in specs:
        at, i = heapq.heappop(free)
        placed.append(_record(nodeid, duration, outcome, at, ids[i]))
        heapq.heappush(free, (at + duration + GAP_S, i))
    return tuple(placed)


def samples(wall_s: float, processes: int, points: int = 200) -> Samples:
    t = [wall_s * (i + 1) / points for i in range(points)]
    rss = [int((60 + 40 * processes) * 2**20 * min(1.0, x / wall_s * 3)) for x in t]
    cpu = [x * 0.9 * max(processes - 1, 1) for x in t]
    return Samples(tuple(t), tuple(rss), tuple([processes] * points), tuple(cpu))


def timed(
    name: str,
    specs: list[tuple[str, float, str]],
    *,
    workers: int = 0,
    jitter: float = 0.0,
    **kw: Any,
) -> RunResult:
    """Return a run of specs on workers (0: serial), its wall time from its timeline."""
    first = STARTUP_S + (BOOT_S if workers else 0.0) + COLLECT_S
    specs = [(n, d * (1 + jitter), o) for n, d, o in specs]
    tests = place(specs, workers, first)
    wall = max(t.end_s or 0.0 for t in tests) + SHUTDOWN_S
    ids = [f"gw{i}" for i in range(workers)]
    line = Timeline(
        session_s=STARTUP_S,
        collected_s=first,
        end_s=wall - 0.05,
        workers=tuple(WorkerTimes(w, STARTUP_S, STARTUP_S + BOOT_S, first, first) for w in ids),
    )
    r = f.result(name, wall_s=wall, tests=tests, timeline=line, **kw)
    return dataclasses.replace(
        r,
        samples=samples(wall, workers + 1),
        workers_observed=workers,
        outcome=_counts(tests),
        cpu_user_s=wall * 0.9 * max(workers, 1),
    )


def _counts(tests: tuple[TestRecord, ...]) -> Any:
    n = {o: sum(1 for t in tests if t.outcome == o) for o in ("passed", "failed", "skipped")}
    return f.Counts(**n, errors=sum(1 for t in tests if t.outcome == "error"))


def four_strategies(tests: int = 5000, repeats: int = 5, seed: int = 1) -> list[RunResult]:
    """Return repeats runs of each built-in strategy over a suite of tests tests."""
    full = suite(tests, seed)
    unit = [t for t in full if "/unit/" in t[0]]
    plans: list[tuple[str, list[tuple[str, float, str]], int, dict[str, Any]]] = [
        ("serial-full", full, 0, {}),
        ("unit", unit, 0, {"compare_to": "serial-full", "scope": "subset"}),
        ("xdist-unit", unit, 2, {"compare_to": "unit", "scope": "subset", "dist": "load"}),
        ("gate", full, 2, {"compare_to": "serial-full", "dist": "load"}),
    ]
    rng = random.Random(seed)
    runs = []
    for round_ in range(repeats):
        for name, specs, workers, kw in plans:
            runs.append(
                timed(
                    name,
                    specs,
                    workers=workers,
                    jitter=rng.uniform(-0.03, 0.03),
                    round=round_,
                    started_at=f"2026-11-26T12:{round_:02d}:00+00:00",
                    strategy_kw={"workers": workers, **kw},
                )
            )
    return runs
