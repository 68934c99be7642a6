"""What the project's pytest loads and selects under one variant: the preflight.

Each candidate, and the lane, is started once with --collect-only and a small plugin before any
timed run: it starts (or the reason it cannot), which plugins loaded under its exact arguments
and environment, which coverage core runs, and the node ids it selects. The lane's facts add
plan/probe.py's answer (the Python version, which plugins come from which distribution, branch
coverage): the one probe of the project's setup; the preflight only says what a variant did.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.measure import bench, recording, running
from benchlib.plan import probe
from benchlib.plan.runplan import RunPlan

PLUGIN_DIR = Path(__file__).parent / "_plugins"
FACTS_PLUGIN = "benchlib_explore_facts"
FACTS_ENV = "BENCHLIB_EXPLORE_FACTS"


@dataclass(frozen=True)
class Coverage:
    """coverage.py as the lane runs it (read from the running Coverage object)."""

    version: str
    branch: bool
    timid: bool
    concurrency: tuple[str, ...]
    dynamic_context: str | None
    tracer: str | None  # the core in use: CTracer, PyTracer, SysMonitor


@dataclass(frozen=True)
class Facts:
    """One collect-only run's answer: the interpreter, the plugins, the selection."""

    python: tuple[int, int, int]
    plugins: tuple[str, ...]  # every registered plugin name
    third_party: Mapping[str, str]  # installed plugins that loaded: registered name -> module
    xdist: bool  # loaded
    autoload_off: bool
    capture: str | None
    coverage: Coverage | None  # None: coverage is not measured
    nodeids: tuple[str, ...]


@dataclass(frozen=True)
class Failed:
    """A variant that could not start or collect: caught before the timed runs."""

    exit_code: int | None
    log: Path
    last_line: str


def ask(plan: RunPlan, stem: str) -> Facts | Failed:
    """Run the plan's pytest with --collect-only and the facts plugin; return what it said."""
    logs = plan.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    events_path = logs / f".{stem}.{tag}.events.jsonl"
    out = logs / f".{stem}.{tag}.facts.json"
    env, _ = bench.child_env(plan.strategy, events_path)
    env[FACTS_ENV] = str(out)
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN_DIR), env["PYTHONPATH"]])
    serial_collect = dataclasses.replace(plan, part=None, selection=(), command=())
    argv = (*serial_collect.argv(), "--collect-only", "-q", "-p", FACTS_PLUGIN)
    log = logs / f"{stem}.log"
    launch = running.Launch(argv, plan.target, env, log, events_path, plan.timeout_s, 0.5)
    measured = running.run(launch)
    events_path.unlink(missing_ok=True)
    if measured.exit_code != 0 or not out.is_file():
        return Failed(measured.exit_code, log, _last_line(log))
    data = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return _facts(data)


def lane(plan: RunPlan) -> Facts | Failed:
    """Return the lane's preflight completed by the project's probe (plan/probe.py)."""
    found = ask(plan, f"explore-{plan.strategy.name}")
    if isinstance(found, Failed):
        return found
    asked = probe.probe(plan.interpreter.path, plan.target, plan.pytest_args())
    version = tuple(int(x) for x in re.findall(r"\d+", asked.python_version)[:3])
    third = {p.name: p.module for p in asked.plugins
             if p.distribution and p.name in found.plugins}  # fmt: skip
    cov = found.coverage
    if cov is not None and asked.coverage is not None and asked.coverage.branch:
        cov = dataclasses.replace(cov, branch=True)
    major, minor, micro = (*version, 0, 0, 0)[:3] if version else found.python
    return dataclasses.replace(found, python=(major, minor, micro), third_party=third, coverage=cov)


def _last_line(log: Path) -> str:
    """Return why a variant could not start: pytest's own line, else the log's last line."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return (probe.pytest_reason(text) or recording.last_line(text) or "")[
        : recording.LAST_LINE_CHARS
    ]


def _facts(data: Mapping[str, Any]) -> Facts:
    cov = data.get("coverage")
    major, minor, micro = (int(x) for x in data["python"][:3])
    return Facts(
        python=(major, minor, micro),
        plugins=tuple(data["plugins"]),
        third_party={},  # the probe's: see lane()
        xdist=bool(data["xdist"]),
        autoload_off=bool(data["autoload_off"]),
        capture=data.get("capture"),
        coverage=None if cov is None else Coverage(
            str(cov["version"]), bool(cov["branch"]), bool(cov["timid"]),
            tuple(cov["concurrency"]), cov["dynamic_context"], cov["core"],
        ),
        nodeids=tuple(data["nodeids"]),
    )  # fmt: skip
