"""Turn what was measured and observed of one run into its result: the one place that says
how a run ended (its status) and why, in words.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass
from datetime import datetime

from benchlib.measure.events import Observed
from benchlib.measure.running import Measured
from benchlib.measure.sampling import TreeStats
from benchlib.model.results import (
    Machine,
    Part,
    RunResult,
    SamplerInfo,
    Samples,
    Status,
    StrategyRecord,
    Target,
    selection_digest,
    status_for_exit,
)
from benchlib.probe import pytest_reason

# Recorded when set; never the whole environment, which holds CI secrets.
ENV_ALLOW = (
    "CI",
    "GITHUB_ACTIONS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTEST_PLUGINS",
    "PYTEST_XDIST_AUTO_NUM_WORKERS",
    "PYTHONDEVMODE",
    "PYTHONHASHSEED",
    "PYTHONOPTIMIZE",
    "PYTHONWARNINGS",
)
NAMED_IN_MESSAGE = 5  # tests named when a run ends early; the rest are counted


@dataclass(frozen=True)
class Context:
    """What a run was: everything about it that is known before it starts."""

    run_id: str
    strategy: StrategyRecord
    argv: tuple[str, ...]
    target: Target
    machine: Machine
    log_path: str  # relative to the results folder
    env: dict[str, str]  # the environment pytest got
    ignored_env: dict[str, str]  # variables removed from it
    interval_s: float
    round: int = 0
    warmup: bool = False
    bench_id: str | None = None
    part: Part | None = None  # a shard or a step of a logical run
    command: bool = False  # a command step: not pytest, unless it starts pytest itself


def run_id(name: str, started: datetime) -> str:
    """Return a file name no other run can have: strategy, UTC time, host, pid."""
    host = socket.gethostname().split(".")[0] or "host"
    stamp = started.strftime("%Y%m%dT%H%M%S_%fZ")
    return "_".join(_safe(x) for x in (name, stamp, host, str(os.getpid())))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text) or "-"


def file_prefix(name: str) -> str:
    """Return how the result file names of a strategy's runs begin (see run_id)."""
    return f"{_safe(name)}_"


def status(m: Measured, o: Observed, *, command: bool = False) -> Status:
    """Say how the run ended. A run whose session never ended did not give pytest's verdict."""
    if m.ending != "exited":
        return m.ending
    if m.exit_code is None:
        return "killed"
    if command and not o.seen_anything:
        # A command that started no pytest: its exit code is its whole verdict.
        return "passed" if m.exit_code == 0 else ("killed" if m.exit_code < 0 else "tests-failed")
    if m.exit_code in (0, 1) and not o.session_ended:
        return "crashed"  # exited as if it had a verdict, but never finished its session
    return status_for_exit(m.exit_code, collection_errors=o.collection_errors)


def _names(nodeids: tuple[str, ...]) -> str:
    shown = ", ".join(nodeids[:NAMED_IN_MESSAGE])
    more = len(nodeids) - NAMED_IN_MESSAGE
    return shown + (f" and {more} more" if more > 0 else "")


def message(m: Measured, o: Observed, ctx: Context) -> str | None:
    """Say why a run ended when that was not pytest's own verdict on every test."""
    parts = []
    if m.ending == "interrupted":
        parts.append("benchlib was interrupted (Ctrl-C or SIGTERM); the tree was stopped")
    elif m.ending == "timeout":
        parts.append(f"stopped at the {ctx.strategy.timeout_s:g}s time limit; the tree was stopped")
    elif not o.seen_anything and ctx.command:
        parts.append(f"a command step (no pytest observed) that exited with code {m.exit_code}")
    elif not o.seen_anything:
        parts.append(
            "the observer recorded nothing (pytest did not load benchlib_observer); "
            f"see the log {ctx.log_path}"
        )
    elif m.exit_code in (0, 1) and not o.session_ended:
        parts.append(f"pytest exited with code {m.exit_code} before its session ended")
    if o.in_flight:
        flights = [
            f"{f.nodeid} on {f.worker or 'main'} for {f.running_s:.1f}s" for f in o.in_flight
        ]
        parts.append("in flight: " + _names(tuple(flights)))
    not_run = o.not_run
    if not_run and m.ending == "exited" and (o.seen_anything and not o.session_ended):
        parts.append(
            f"{len(not_run)} of {o.collected} collected tests never ran: {_names(not_run)}"
        )
    if m.leftovers:
        parts.append(f"{m.leftovers} process(es) of the tree outlived pytest and were killed")
    return "; ".join(parts) or None


# pytest's exit codes for an internal error and a usage error: its own reason is in the log.
PYTEST_ERRORS = (3, 4)


def with_pytest_reason(result: RunResult, log: str) -> RunResult:
    """Put pytest's own line for a usage or internal error first in the run's message.

    "ERROR: Unknown marker(s) in '-m' expression: unit" says why the run failed; without it,
    the result says only that it did.
    """
    if result.exit_code not in PYTEST_ERRORS:
        return result
    reason = pytest_reason(log)
    if reason is None:
        return result
    return dataclasses.replace(result, message="; ".join(filter(None, [reason, result.message])))


def build(ctx: Context, m: Measured, o: Observed) -> RunResult:
    """Return the run's result."""
    return RunResult(
        run_id=ctx.run_id,
        strategy=ctx.strategy,
        argv=ctx.argv,
        target=ctx.target,
        started_at=m.started.isoformat(timespec="milliseconds"),
        ended_at=m.ended.isoformat(timespec="milliseconds"),
        status=status(m, o, command=ctx.command),
        exit_code=m.exit_code,
        wall_s=round(m.wall_s, 6),
        cpu_user_s=round(m.cpu_user_s, 6),
        cpu_system_s=round(m.cpu_system_s, 6),
        cpu_source=m.cpu_source,
        peak_rss_bytes=m.tree.peak_rss_bytes,
        max_single_rss_bytes=m.tree.max_single_rss_bytes,
        peak_processes=m.tree.peak_processes,
        workers_observed=m.tree.workers_observed,
        outcome=o.counts,
        collected=o.collected,
        tests=o.tests,
        warning_categories=o.warning_categories,
        samples=m.tree.samples,
        log_path=ctx.log_path,
        machine=ctx.machine,
        sampler=SamplerInfo(ctx.interval_s, m.tree.count, round(m.tree.mean_cost_s, 9)),
        env={k: ctx.env[k] for k in ENV_ALLOW if k in ctx.env},
        ignored_env=ctx.ignored_env,
        message=message(m, o, ctx),
        round=ctx.round,
        warmup=ctx.warmup,
        bench_id=ctx.bench_id,
        timeline=o.timeline,
        in_flight=o.in_flight,
        not_run=len(o.not_run),
        part=ctx.part,
        selection_sha256=None if o.collected is None else selection_digest(o.collected_ids),
    )


def pending(ctx: Context, started: datetime) -> RunResult:
    """Return the result to save if benchlib dies during the run: nothing measured yet."""
    empty = TreeStats(0, 0, 0, 0, 0.0, samples=Samples(), count=0, mean_cost_s=0.0)
    m = Measured(started, started, 0.0, 0.0, None, 0.0, 0.0, "rusage", empty, "interrupted", 0)
    return build(ctx, m, Observed())
