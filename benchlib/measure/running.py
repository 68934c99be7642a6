"""Start, sample, stop and reap one pytest process tree, and say what was measured.

The only module that starts the target's processes. It writes no file and prints nothing:
pytest's own output goes to the log file it is handed, and the caller records the result.

Every process of the tree carries a token in its environment, so that whatever ended the run,
nothing of the tree outlives it: benchlib finds the processes by that token and kills them
(including daemons that left the session), adopts orphans as a child subreaper on Linux, and
a watchdog process kills the tree if benchlib itself dies (even by SIGKILL).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from benchlib.measure import cpuload
from benchlib.measure._watchdog import TOKEN_ENV, token_processes
from benchlib.measure.events import Tail
from benchlib.measure.sampling import Sampler, TreeStats
from benchlib.model.results import MachineLoad

# How a run is stopped: SIGINT first, so pytest writes its summary and xdist shuts its
# workers down; then SIGTERM; then SIGKILL, which nothing can ignore. Seconds to wait after each.
STOP_SEQUENCE = ((signal.SIGINT, 3.0), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0))
# Sampled CPU above the exact figure by this much means descendants were orphaned (killed
# runs): their CPU never reached our rusage, so the sampled figure is the better one.
_ORPHAN_MARGIN = 1.05
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

Ending = Literal["exited", "timeout", "interrupted"]


@dataclass(frozen=True)
class Launch:
    """One pytest process to run: its command, where, with what, and for how long."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path  # absolute: pytest writes its output there
    events_path: Path  # absolute: the observer writes its events there
    timeout_s: float | None
    interval_s: float
    token: str = ""  # marks every process of the tree (TOKEN_ENV); made here when empty
    show_output: bool = False
    pending_path: Path | None = None  # the result the watchdog saves if benchlib dies
    final_path: Path | None = None  # where it saves it


@dataclass(frozen=True)
class Progress:
    elapsed_s: float
    done: int
    collected: int | None


@dataclass(frozen=True)
class Measured:
    """What was measured of one run, from starting pytest to reaping it."""

    started: datetime
    ended: datetime
    t0_epoch: float  # time.time() at the start: the observer's clock
    wall_s: float
    exit_code: int | None  # None when nothing could reap pytest
    cpu_user_s: float
    cpu_system_s: float
    cpu_source: Literal["rusage", "sampled"]
    tree: TreeStats
    ending: Ending
    leftovers: int  # processes of the tree still alive after pytest ended, then killed
    stop_s: float | None = None  # from the start to the first stop signal; None: not stopped
    load: MachineLoad | None = None  # what every process took of the CPUs meanwhile

    @property
    def end_epoch(self) -> float:
        return self.t0_epoch + self.wall_s

    @property
    def stop_epoch(self) -> float | None:
        return None if self.stop_s is None else self.t0_epoch + self.stop_s


class _Child:
    """The pytest process, reaped with wait4 for the exact CPU time of its whole tree."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.done = threading.Event()
        self.exit_code: int | None = None
        self.rusage: os.struct_rusage | None = None  # type: ignore[name-defined]

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


_adopting = False  # set by become_subreaper: orphans of the tree are then our children


def become_subreaper() -> bool:
    """Adopt the orphans of our descendants (Linux), so that a daemon cannot slip away.

    For a process that runs benches and nothing else (the command line): it then reaps every
    child it did not start itself, which a host process with children of its own must not do.
    """
    global _adopting
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    _adopting = bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    return _adopting


def _reap_adopted() -> None:
    """Reap adopted orphans that have exited, so that they do not stay zombies."""
    while _adopting:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _stop(pgid: int, wait: Callable[[float], bool]) -> None:
    for sig, grace_s in STOP_SEQUENCE:
        _signal_group(pgid, sig)
        if wait(grace_s):
            return


def kill_pids(pids: set[int]) -> int:
    """SIGKILL every given pid; reap those that are our children. Return how many were hit."""
    killed = 0
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    for pid in pids:  # orphans we adopted as subreaper would stay zombies otherwise
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    return killed


def _leftovers(pgid: int, sampler: Sampler, token: str) -> int:
    """Kill what is left of the tree, including processes that left its session."""
    found = set(sampler.survivors()) | set(token_processes(token))
    found.discard(os.getpid())
    _signal_group(pgid, signal.SIGKILL)
    return kill_pids(found) if found else 0


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
def signals_ignored() -> Iterator[None]:
    """Let a stop and the result file finish even if Ctrl-C is pressed again."""
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
    tail: Tail, t0: float, done: threading.Event, report: Callable[[Progress], None]
) -> None:
    """Report progress from the observer's events until done is set."""
    while not done.wait(0.5):
        tail.poll()
        report(Progress(time.perf_counter() - t0, tail.done, tail.collected))


def _watchdog(pgid: int, token: str, launch: Launch, t0_epoch: float) -> subprocess.Popen[bytes]:
    """Start the process that kills the tree (and saves the pending result) if we die."""
    argv = [sys.executable, "-m", "benchlib.measure._watchdog", str(os.getpid()), str(pgid), token]
    if launch.pending_path and launch.final_path:
        argv += [str(launch.pending_path), str(launch.final_path), repr(t0_epoch)]
        argv.append(str(launch.events_path))
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    return subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # outside the group we stop, so it outlives what it guards
    )


def _end_watchdog(watchdog: subprocess.Popen[bytes]) -> None:
    watchdog.kill()
    watchdog.wait()


def _rusage_cpu(child: _Child) -> float:
    ru = child.rusage
    return ru.ru_utime + ru.ru_stime if ru else 0.0


def _cpu(child: _Child, tree: TreeStats) -> tuple[float, float, Literal["rusage", "sampled"]]:
    ru = child.rusage
    user, system = (ru.ru_utime, ru.ru_stime) if ru else (0.0, 0.0)
    if tree.cpu_s > (user + system) * _ORPHAN_MARGIN:
        # Split the sampled total in the proportion rusage saw, or all to user.
        share = user / (user + system) if user + system else 1.0
        return tree.cpu_s * share, tree.cpu_s * (1 - share), "sampled"
    return user, system, "rusage"


class _StopClock:
    """When the first stop signal was sent: tests that start after it were not the hang."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.stop_s: float | None = None
        self.lock = threading.Lock()

    def mark(self) -> None:
        with self.lock:
            if self.stop_s is None:
                self.stop_s = time.perf_counter() - self.t0


def _start_timer(
    timeout_s: float | None, pgid: int, child: _Child, timed_out: threading.Event, clock: _StopClock
) -> threading.Timer | None:
    if timeout_s is None:
        return None

    def expire() -> None:
        if not child.done.is_set():
            timed_out.set()
            clock.mark()
            _stop(pgid, child.done.wait)

    timer = threading.Timer(timeout_s, expire)
    timer.daemon = True
    timer.start()
    return timer


def _helpers(
    launch: Launch,
    proc: subprocess.Popen[bytes],
    log: IO[bytes],
    t0: float,
    child: _Child,
    progress: Callable[[Progress], None] | None,
) -> list[threading.Thread]:
    helpers = []
    if launch.show_output and proc.stdout is not None:
        helpers.append(threading.Thread(target=_tee, args=(proc.stdout, log), daemon=True))
    if progress is not None:
        args = (Tail(launch.events_path), t0, child.done, progress)
        helpers.append(threading.Thread(target=_watch, args=args, daemon=True))
    for helper in helpers:
        helper.start()
    return helpers


def run(launch: Launch, *, progress: Callable[[Progress], None] | None = None) -> Measured:
    """Run pytest to its end, its time limit, or an interruption, and stop its whole tree."""
    token = launch.token or uuid.uuid4().hex
    env = {**launch.env, TOKEN_ENV: token}
    timed_out = threading.Event()
    ending: Ending = "exited"
    with open(launch.log_path, "wb") as log, _sigterm_as_interrupt():
        before = cpuload.read(time.monotonic())
        started, t0_epoch, t0 = datetime.now(UTC), time.time(), time.perf_counter()
        proc = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if launch.show_output else log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session and process group: we stop it whole
        )
        child = _Child(proc)
        sampler = Sampler(proc.pid, launch.interval_s)
        sampler.start()
        watchdog = _watchdog(proc.pid, token, launch, t0_epoch)
        helpers = _helpers(launch, proc, log, t0, child, progress)
        clock = _StopClock(t0)
        timer = _start_timer(launch.timeout_s, proc.pid, child, timed_out, clock)
        try:
            child.reap(block=True)
        except KeyboardInterrupt:
            ending = "interrupted"
            clock.mark()
            with signals_ignored():
                _stop(proc.pid, child.wait)
        wall_s = time.perf_counter() - t0
        ended = datetime.now(UTC)
        with signals_ignored():
            if timer:
                timer.cancel()
            tree = sampler.stop()
            left = _leftovers(proc.pid, sampler, token)
            if child.exit_code is None:  # nothing reaped it: SIGKILL did not take
                child.wait(5.0)
            _end_watchdog(watchdog)
            _reap_adopted()
            for helper in helpers:
                helper.join(timeout=2.0)
            after = cpuload.read(time.monotonic())
    if ending == "exited" and timed_out.is_set():
        ending = "timeout"
    user, system, source = _cpu(child, tree)
    unseen = user + system - _rusage_cpu(child)  # orphans' CPU, which rusage never saw
    return Measured(
        started, ended, t0_epoch, wall_s, child.exit_code, user, system, source, tree, ending, left,
        stop_s=clock.stop_s, load=cpuload.between(before, after, tree_extra_s=unseen),
    )  # fmt: skip
