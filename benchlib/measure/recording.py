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
from benchlib.plan.probe import pytest_reason

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
    last_line: str | None = None  # a failed command step's last line of output: its verdict


LAST_LINE_CHARS = 300  # of a failed command's last line: "Coverage failure: total of 99 is ..."


def last_line(log: str) -> str | None:
    """Return a log's last non-empty line, cut short: where a command says why it failed."""
    for line in reversed(log.splitlines()):
        if line.strip():
            return line.strip()[:LAST_LINE_CHARS]
    return None


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
    if m.exit_code == 1 and o.collection_errors:
        # xdist runs what its workers collected and exits 1; serial pytest stops and exits 2:
        # either way a module of the selection never ran, so the run timed part of it.
        return "collection-error"
    if m.exit_code in (0, 1) and not o.bodies_ran:
        # Nothing selected, every test skipped, or a plugin's verdict on no test (coverage
        # under --cov-fail-under): pytest's exit code is not a timing of any test.
        return "collection-error" if o.collection_errors else "no-tests"
    return status_for_exit(m.exit_code, collection_errors=o.collection_errors)


def _no_body(m: Measured, o: Observed, ctx: Context) -> str:
    """Say why a session that ended ran no test body, and that it is no timing."""
    if not o.collected:
        why = "it selected no test"
    elif o.counts.skipped + o.counts.xfailed >= (o.collected or 0):
        why = f"all {o.collected} selected tests were skipped"
    else:
        why = f"none of its {o.collected} selected tests got past setup"
    text = f"no test body ran: {why}, so this run timed nothing"
    if m.exit_code == 1 and not o.collection_errors:
        text += (
            "; its exit 1 was no test's failure but a plugin's verdict (such as coverage under "
            f"--cov-fail-under): see {ctx.log_path}"
        )
    return text


def message(m: Measured, o: Observed, ctx: Context) -> str | None:
    """Say why a run ended when that was not pytest's own verdict on every test."""
    parts = []
    if m.ending == "interrupted":
        parts.append("benchlib was interrupted (Ctrl-C or SIGTERM); the tree was stopped")
    elif m.ending == "timeout":
        parts.append(f"stopped at the {ctx.strategy.timeout_s:g}s time limit; the tree was stopped")
    elif not o.seen_anything and ctx.command:
        said = f": {ctx.last_line!r}" if ctx.last_line and m.exit_code else ""
        parts.append(
            f"a command step (no pytest observed) that exited with code {m.exit_code}{said}; "
            f"see {ctx.log_path}"
        )
    elif not o.seen_anything:
        parts.append(
            "the observer recorded nothing (pytest did not load benchlib_observer); "
            f"see the log {ctx.log_path}"
        )
    elif m.exit_code in (0, 1) and not o.session_ended:
        parts.append(f"pytest exited with code {m.exit_code} before its session ended")
    elif m.exit_code in (0, 1) and not o.bodies_ran:
        parts.append(_no_body(m, o, ctx))
    parts += o.words(stopped=m.ending != "exited")
    if m.leftovers:
        parts.append(f"{m.leftovers} process(es) of the tree outlived pytest and were killed")
    if m.cpu_source == "sampled" and m.ending == "exited":
        parts.append(
            "CPU time is the sampler's, not the exact figure: processes of the tree (a server "
            "a test started, say) ran outside pytest's own accounting, orphaned or outliving it"
        )
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
        load=m.load,
    )


def pending(ctx: Context, started: datetime) -> RunResult:
    """Return the result to save if benchlib dies during the run: nothing measured yet."""
    empty = TreeStats(0, 0, 0, 0, 0.0, samples=Samples(), count=0, mean_cost_s=0.0)
    m = Measured(started, started, 0.0, 0.0, None, 0.0, 0.0, "rusage", empty, "interrupted", 0)
    return build(ctx, m, Observed())
