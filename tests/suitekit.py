"""Run benchlib for real on the fixture suites under tests/suites, copied into tmp_path."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import psutil

from benchlib.measure import bench
from benchlib.model import results
from benchlib.model.results import RunResult
from benchlib.plan import machine
from benchlib.plan.runplan import RunPlan
from benchlib.plan.strategy import Strategy

SUITES = Path(__file__).parent / "suites"
# A fixture project's [tool.benchlib] with only the serial baseline: append strategies to it.
ONLY_THE_BASELINE = """\
[tool.benchlib]
args = ["-q", "-p", "no:cacheprovider"]
[tool.benchlib.strategies.unit]
enabled = false
[tool.benchlib.strategies.xdist-unit]
enabled = false
[tool.benchlib.strategies.gate]
enabled = false
"""
SCHEMA = Path(results.__file__).with_name("result.schema.json")


def copy_suite(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(SUITES / name, target)
    return target


@cache
def interpreter() -> machine.Interpreter:
    return machine.probe(sys.executable, Path.cwd())


def validate(path: Path) -> dict[str, Any]:
    """Check a result file against the shipped schema and return its JSON."""
    data = json.loads(path.read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    return data


def run(
    target: Path,
    results_dir: Path,
    *,
    workers: int = 0,
    timeout_s: float | None = 120,
    **strategy: Any,
) -> RunResult:
    """Run one strategy on target through the library API; validate its file."""
    plan = RunPlan(
        strategy=Strategy(name=strategy.pop("name", "fixture"), **strategy),
        target=target.resolve(),
        interpreter=interpreter(),
        paths=(),
        shared_args=("-p", "no:cacheprovider"),
        workers=workers,
        timeout_s=timeout_s,
        results_dir=results_dir.resolve(),
        interval_s=0.05,
    )
    done = bench.bench([plan], bench.Schedule(), bench.Quiet())
    (result,), (path,) = done.results, done.paths
    validate(path)
    assert results.load(path) == result
    return result


def pytest_summary(log: Path) -> dict[str, int]:
    """Parse pytest's own closing line ("2 failed, 6 passed, ... in 1.2s") from a log."""
    line = log.read_text().strip().splitlines()[-1]
    words = {"error": "errors", "warning": "warnings"}
    return {words.get(w, w): int(n) for n, w in re.findall(r"(\d+) (\w+)", line.split(" in ")[0])}


def benchlib(*args: str, cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchlib", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def processes_in(folder: Path) -> list[psutil.Process]:
    """Return the live processes whose working folder is inside folder."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and Path(p.cwd()).is_relative_to(folder):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def env_without_pytest_vars() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


# A competing CPU-bound process that ends by itself: a test that dies cannot leave it behind.
_BURN = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


@contextlib.contextmanager
def burning(processes: int, limit_s: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run CPU-burning processes beside the block: a busier runner. Killed and reaped after."""
    # Each in a session of its own: with Linux's autogroup scheduling, CPU is shared between
    # sessions first, and benchlib runs pytest in a session of its own.
    procs = [
        subprocess.Popen([sys.executable, "-c", _BURN, str(limit_s)], start_new_session=True)
        for _ in range(processes)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=10)
