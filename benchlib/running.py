"""Run one strategy: start pytest in its own session, sample it, stop it, write its result.

This is the only module that starts the target's processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from benchlib import results
from benchlib.errors import UsageError
from benchlib.machine import Interpreter, describe, target_info
from benchlib.results import Counts, RunResult, Status, StrategyRecord, TestRecord
from benchlib.sampling import Sampler, TreeStats
from benchlib.strategy import Strategy, pytest_args

OBSERVER_DIR = Path(__file__).parent / "_observer"
OBSERVER_ENV = "BENCHLIB_OBSERVER_OUT"
# Recorded when set; never the whole environment, which holds CI secrets.
ENV_ALLOW = (
    "CI",
    "GITHUB_ACTIONS",
    "PYTEST_ADDOPTS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTEST_PLUGINS",
    "PYTEST_XDIST_AUTO_NUM_WORKERS",
    "PYTHONDEVMODE",
    "PYTHONHASHSEED",
    "PYTHONOPTIMIZE",
    "PYTHONWARNINGS",
)
# Removed from pytest's environment: each would change the run behind the strategy's back.
# The last four are set by pytest and xdist for their own processes: inherited (benchlib run
# from a test, or from an xdist worker), they make the target believe it is a worker.
ENV_NEUTRALISED = (
    "PYTEST_ADDOPTS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
)
# How a run is stopped: SIGINT first, so pytest writes its summary and xdist shuts its
# workers down; then SIGTERM; then SIGKILL, which nothing can ignore. Seconds to wait after each.
STOP_SEQUENCE = ((signal.SIGINT, 3.0), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0))
# Sampled CPU above the exact figure by this much means descendants were orphaned (killed
# runs): their CPU never reached our rusage, so the sampled figure is the better one.
_ORPHAN_MARGIN = 1.05


@dataclass(frozen=True)
class RunPlan:
    """Everything needed to start one run, resolved and validated by the caller."""

    strategy: Strategy
    target: Path
    interpreter: Interpreter
    paths: tuple[str, ...]
    shared_args: tuple[str, ...]
    workers: int
    timeout_s: float | None
    results_dir: Path
    interval_s: float = 0.1
    show_output: bool = False
    round: int = 0
    warmup: bool = False
    bench_id: str | None = None

    def pytest_argv(self) -> list[str]:
        args = pytest_args(
            self.strategy,
            paths=self.paths,
            shared_args=self.shared_args,
            workers=self.workers,
            xdist_installed=self.interpreter.xdist is not None,
        )
        return [self.interpreter.path, "-m", "pytest", *args, "-p", "benchlib_observer"]


@dataclass(frozen=True)
class Progress:
    elapsed_s: float
    done: int
    collected: int | None


class Interrupted(Exception):
    """benchlib was interrupted during a run; the run's result was written all the same."""

    def __init__(self, result: RunResult, path: Path) -> None:
        super().__init__(f"interrupted; the run's result is in {path}")
        self.result = result
        self.path = path


def check_results_dir(path: Path) -> None:
    """Make the results folder, or raise UsageError naming it."""
    try:
        (path / "logs").mkdir(parents=True, exist_ok=True)
        with open(path / ".benchlib-write-test", "w"):
            pass
        (path / ".benchlib-write-test").unlink()
    except OSError as exc:
        raise UsageError(
            f"results folder {str(path)!r} is not writable ({exc.strerror}); "
            "pass --results DIR with a folder you can write"
        ) from None


@contextlib.contextmanager
def exclusive(results_dir: Path) -> Iterator[None]:
    """Hold the results folder's lock: two benches at once would disturb each other's times."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, run unguarded
        yield
        return
    with open(results_dir / ".benchlib.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise UsageError(
                f"another benchlib run (pid {holder}) is using {str(results_dir)!r}; "
                "bench runs must not overlap (their timings would disturb each other): "
                "wait for it, or pass another --results folder"
            ) from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        yield


def _now() -> datetime:
    return datetime.now(UTC)


def _run_id(name: str, started: datetime) -> str:
    host = socket.gethostname().split(".")[0] or "host"
    stamp = started.strftime("%Y%m%dT%H%M%S_%fZ")
    return "_".join(_safe(x) for x in (name, stamp, host, str(os.getpid())))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text)


def _child_env(strategy: Strategy, events: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return pytest's environment, and the variables taken out of it."""
    env = dict(os.environ)
    ignored = {k: env.pop(k) for k in ENV_NEUTRALISED if k in env}
    env.update(strategy.env)
    env[OBSERVER_ENV] = str(events)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(OBSERVER_DIR), env.get("PYTHONPATH")]))
    return env, ignored


class _Child:
    """The pytest process, reaped with wait4 for the exact CPU time of its whole tree."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.done = threading.Event()
        self.exit_code: int | None = None
        self.rusage: object | None = None

    def reap(self, *, block: bool) -> bool:
        pid, status, rusage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.exit_code  # tell Popen it was reaped
        self.rusage = rusage
        self.done.set()
        return True

    def wait(self, timeout: float) -> bool:
        """Wait up to timeout seconds for the process to end (main thread only)."""
        deadline = time.monotonic() + timeout
        while not self.reap(block=False):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _stop(pgid: int, wait: Callable[[float], bool]) -> None:
    for sig, grace_s in STOP_SEQUENCE:
        _signal_group(pgid, sig)
        if wait(grace_s):
            return


def _kill_leftovers(pgid: int, sampler: Sampler) -> int:
    """Kill what is left of the tree, including processes that left its process group."""
    _signal_group(pgid, signal.SIGKILL)
    survivors = sampler.survivors()
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(survivors)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while a run is in progress (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Let the stop sequence and the result file finish even if Ctrl-C is pressed again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def _tee(source: IO[bytes], log: IO[bytes]) -> None:
    for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
        log.write(chunk)
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()


def _watch(
    events: Path, t0: float, done: threading.Event, report: Callable[[Progress], None]
) -> None:
    """Report progress from the observer's events until done is set."""
    collected: int | None = None
    count = 0
    offset = 0
    while not done.wait(0.5):
        with contextlib.suppress(OSError), open(events, "rb") as f:
            f.seek(offset)
            chunk = f.read()
            offset += chunk.rfind(b"\n") + 1
            for line in chunk[: chunk.rfind(b"\n") + 1].splitlines():
                if line.startswith(b'{"e": "test"'):
                    count += 1
                elif line.startswith(b'{"e": "collected"'):
                    collected = json.loads(line)["n"]
        report(Progress(time.perf_counter() - t0, count, collected))


@dataclass(frozen=True)
class Observed:
    """What the observer plugin saw of the run."""

    counts: Counts
    tests: tuple[TestRecord, ...]
    warning_categories: dict[str, int]
    collected: int | None


def read_events(path: Path) -> Observed:
    """Read the observer's events; a run stopped midway leaves a partial, still valid, file."""
    counts: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    tests: list[TestRecord] = []
    deselected = 0
    collected = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # the last line of a killed run may be cut short
            continue
        kind = event["e"]
        counts.update(event.get("counts", {}))
        if kind == "test":
            tests.append(_test_record(event))
        elif kind == "warning":
            warnings[event["category"]] += 1
        elif kind == "deselected":
            # Every xdist worker deselects the same items: the largest count is the count.
            deselected = max(deselected, event["n"])
        elif kind == "collected":
            collected = event["n"]
    fields = {k: counts.get(k, 0) for k in ("passed", "failed", "errors", "skipped")}
    return Observed(
        counts=Counts(
            **fields,
            deselected=deselected,
            xfailed=counts.get("xfailed", 0),
            xpassed=counts.get("xpassed", 0),
            warnings=sum(warnings.values()),
        ),
        tests=tuple(tests),
        warning_categories=dict(warnings),
        collected=collected,
    )


def _test_record(event: dict[str, object]) -> TestRecord:
    durations: dict[str, float] = event["durations"]  # type: ignore[assignment]
    return TestRecord(
        nodeid=str(event["nodeid"]),
        outcome=event["outcome"],  # type: ignore[arg-type]
        duration_s=round(sum(durations.values()), 6),
        setup_s=round(durations.get("setup", 0.0), 6),
        call_s=round(durations.get("call", 0.0), 6),
        teardown_s=round(durations.get("teardown", 0.0), 6),
        phase=event["phase"],  # type: ignore[arg-type]
        message=event["message"],  # type: ignore[arg-type]
        worker=event["worker"],  # type: ignore[arg-type]
    )


def _status(child: _Child, timed_out: bool, interrupted: bool) -> Status:
    if interrupted:
        return "interrupted"
    if timed_out:
        return "timeout"
    if child.exit_code is None:
        return "killed"
    return results.status_for_exit(child.exit_code)


def run(
    plan: RunPlan, *, progress: Callable[[Progress], None] | None = None
) -> tuple[RunResult, Path]:
    """Run one strategy and write its result file; raise Interrupted after writing it on Ctrl-C."""
    argv = plan.pytest_argv()
    logs = plan.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = _now()
    run_id = _run_id(plan.strategy.name, started)
    log_path = logs / f"{run_id}.log"
    events = logs / f".{run_id}.events.jsonl"
    env, ignored = _child_env(plan.strategy, events)
    timed_out = threading.Event()
    interrupted = False
    with open(log_path, "wb") as log, _sigterm_as_interrupt():
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=plan.target,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if plan.show_output else log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session and process group: we stop it whole
        )
        child = _Child(proc)
        sampler = Sampler(proc.pid, plan.interval_s)
        sampler.start()
        helpers = _start_helpers(plan, proc, log, events, t0, child, progress)
        timer = _start_timer(plan.timeout_s, proc.pid, child, timed_out)
        try:
            child.reap(block=True)
        except KeyboardInterrupt:
            interrupted = True
            with _signals_ignored():
                _stop(proc.pid, child.wait)
        wall_s = time.perf_counter() - t0
        ended = _now()
        with _signals_ignored():
            if timer:
                timer.cancel()
            tree = sampler.stop()
            left = _kill_leftovers(proc.pid, sampler)
            if child.exit_code is None:  # nothing reaped it: SIGKILL did not take
                child.wait(5.0)
            for helper in helpers:
                helper.join(timeout=2.0)
            result = _result(
                plan, argv, run_id, started, ended, wall_s, child, tree, events, log_path,
                env, ignored, _status(child, timed_out.is_set(), interrupted),
                _message(plan, timed_out.is_set(), interrupted, left),
            )  # fmt: skip
            path = results.save(result, plan.results_dir)
            events.unlink(missing_ok=True)
    if interrupted:
        raise Interrupted(result, path)
    return result, path


def _start_helpers(
    plan: RunPlan,
    proc: subprocess.Popen[bytes],
    log: IO[bytes],
    events: Path,
    t0: float,
    child: _Child,
    progress: Callable[[Progress], None] | None,
) -> list[threading.Thread]:
    helpers = []
    if plan.show_output:
        assert proc.stdout is not None
        helpers.append(threading.Thread(target=_tee, args=(proc.stdout, log), daemon=True))
    if progress is not None:
        args = (events, t0, child.done, progress)
        helpers.append(threading.Thread(target=_watch, args=args, daemon=True))
    for helper in helpers:
        helper.start()
    return helpers


def _start_timer(
    timeout_s: float | None, pgid: int, child: _Child, timed_out: threading.Event
) -> threading.Timer | None:
    if timeout_s is None:
        return None

    def expire() -> None:
        if not child.done.is_set():
            timed_out.set()
            _stop(pgid, child.done.wait)

    timer = threading.Timer(timeout_s, expire)
    timer.daemon = True
    timer.start()
    return timer


def _message(plan: RunPlan, timed_out: bool, interrupted: bool, left: int) -> str | None:
    parts = []
    if interrupted:
        parts.append("benchlib was interrupted (Ctrl-C or SIGTERM); the tree was stopped")
    elif timed_out:
        parts.append(f"stopped at the {plan.timeout_s:g}s time limit; the tree was stopped")
    if left:
        parts.append(f"{left} process(es) of the tree outlived pytest and were killed")
    return "; ".join(parts) or None


def _cpu(child: _Child, tree: TreeStats) -> tuple[float, float, str]:
    ru = child.rusage
    user, system = (ru.ru_utime, ru.ru_stime) if ru else (0.0, 0.0)  # type: ignore[attr-defined]
    if tree.cpu_s > (user + system) * _ORPHAN_MARGIN:
        # Split the sampled total in the proportion rusage saw, or all to user.
        share = user / (user + system) if user + system else 1.0
        return tree.cpu_s * share, tree.cpu_s * (1 - share), "sampled"
    return user, system, "rusage"


def _result(
    plan: RunPlan,
    argv: list[str],
    run_id: str,
    started: datetime,
    ended: datetime,
    wall_s: float,
    child: _Child,
    tree: TreeStats,
    events: Path,
    log_path: Path,
    env: dict[str, str],
    ignored: dict[str, str],
    status: Status,
    message: str | None,
) -> RunResult:
    observed = read_events(events)
    machine = describe(plan.interpreter)
    user, system, source = _cpu(child, tree)
    s = plan.strategy
    return RunResult(
        run_id=run_id,
        strategy=StrategyRecord(
            name=s.name,
            description=s.description,
            pytest_args=tuple(argv[3:]),
            workers=plan.workers,
            dist=s.dist if plan.workers else None,
            env=dict(s.env),
            compare_to=s.compare_to,
            scope=s.scope,
            timeout_s=plan.timeout_s,
            budgets=dict(s.budgets),
        ),
        argv=tuple(argv),
        target=target_info(plan.target),
        started_at=started.isoformat(timespec="milliseconds"),
        ended_at=ended.isoformat(timespec="milliseconds"),
        status=status,
        exit_code=child.exit_code,
        wall_s=round(wall_s, 6),
        cpu_user_s=round(user, 6),
        cpu_system_s=round(system, 6),
        cpu_source=source,  # type: ignore[arg-type]
        peak_rss_bytes=tree.peak_rss_bytes,
        max_single_rss_bytes=tree.max_single_rss_bytes,
        peak_processes=tree.peak_processes,
        workers_observed=tree.workers_observed,
        outcome=observed.counts,
        collected=observed.collected,
        tests=observed.tests,
        warning_categories=observed.warning_categories,
        samples=tree.samples,
        log_path=str(log_path.relative_to(plan.results_dir)),
        machine=machine,
        sampler=results.SamplerInfo(plan.interval_s, tree.count, round(tree.mean_cost_s, 9)),
        env={k: env[k] for k in ENV_ALLOW if k in env},
        ignored_env=ignored,
        message=message,
        round=plan.round,
        warmup=plan.warmup,
        bench_id=plan.bench_id,
    )
