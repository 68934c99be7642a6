"""Sample a process tree on a background thread: summed RSS, process count, CPU, xdist workers.

Following the tree is the expensive part. psutil's ``children(recursive=True)`` reads the stat
file of every process on the system on every tick (about 2.8 ms a sample for a 6-process tree
on the development machine, whose kernel has no /proc/PID/task/TID/children). On Linux we list
/proc once a tick instead, read the stat file of a pid only when it first appears, and after
that read only the tree's own stat files: about 0.2 ms a sample for the same tree
(benchmarks/overhead.py measures it). Elsewhere psutil does the walk.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass

import psutil

from benchlib.model.results import Samples

MAX_POINTS = 500  # the timeline kept in a result file; enough for a chart
# execnet starts every xdist worker with this command line: how a worker is told from
# any other child process the tests themselves start.
_XDIST_BOOTSTRAP = b"exec(eval(sys.stdin.readline()))"


@dataclass(frozen=True)
class Proc:
    """One process of the tree as read on one tick."""

    pid: int
    ppid: int
    session: int
    start: int  # start time in clock ticks since boot: tells a reused pid apart
    rss_bytes: int
    cpu_s: float


@dataclass(frozen=True)
class TreeStats:
    """What the sampler kept: peaks, the downsampled timeline, and its own cost."""

    peak_rss_bytes: int
    max_single_rss_bytes: int
    peak_processes: int
    workers_observed: int  # most xdist workers alive at one time
    cpu_s: float  # sampled CPU of every process seen, alive or gone
    samples: Samples
    count: int
    mean_cost_s: float


class LinuxTree:
    """Follow a process tree through /proc, reading each foreign pid only once."""

    _PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    _TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, root: int) -> None:
        self.root = root
        self.known: dict[int, bool] = {}  # pid -> member of the tree
        self.fds: dict[int, int] = {}  # open stat files of members
        self.session: int | None = None
        self.workers: set[int] = set()
        self.unclassified: set[int] = set()  # children of the root not yet classified

    def _stat(self, pid: int) -> Proc | None:
        # A member's stat file stays open: re-reading an open file costs a third of opening
        # it again, and once its process is gone the read fails, even if the pid is reused.
        fd = self.fds.get(pid)
        try:
            if fd is None:
                fd = self.fds[pid] = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
            data = os.pread(fd, 1024, 0)
        except OSError:  # gone between listing and reading
            self._close(pid)
            return None
        # The command name may hold spaces and parentheses: split after the last ")".
        fields = data[data.rfind(b")") + 2 :].split()
        return Proc(
            pid=pid,
            ppid=int(fields[1]),
            session=int(fields[3]),
            start=int(fields[19]),
            rss_bytes=int(fields[21]) * self._PAGE,
            cpu_s=(int(fields[11]) + int(fields[12])) / self._TICK,
        )

    def _close(self, pid: int) -> None:
        fd = self.fds.pop(pid, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for pid in list(self.fds):
            self._close(pid)

    def alive(self, pid: int, start: int) -> bool:
        """Tell whether that process still runs (a zombie does not)."""
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            return False
        return fields[0] != b"Z" and int(fields[19]) == start

    def _is_member(self, proc: Proc) -> bool:
        if proc.pid == self.root:
            self.session = proc.session
            return True
        # A process whose parent exited is adopted by init; its session still tells.
        return self.known.get(proc.ppid, False) or proc.session == self.session

    def _cmdline(self, pid: int) -> bytes | None:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read()
        except OSError:
            return None

    def _classify(self, pid: int) -> None:
        """Decide once whether a child of the root is an xdist worker."""
        cmdline = self._cmdline(pid)
        if cmdline is None or cmdline == self._cmdline(self.root):
            return  # gone, or forked and not yet exec'd: look again next tick
        self.unclassified.discard(pid)
        if _XDIST_BOOTSTRAP in cmdline:
            self.workers.add(pid)

    def read(self) -> list[Proc]:
        """Return the tree's live processes."""
        live = set(map(int, filter(str.isdigit, os.listdir("/proc"))))
        for pid in self.known.keys() - live:
            del self.known[pid]
            self._close(pid)
            self.workers.discard(pid)
            self.unclassified.discard(pid)
        fresh = [p for p in map(self._stat, sorted(live - self.known.keys())) if p]
        # Parents before children, so that a whole new branch joins in one tick.
        fresh.sort(key=lambda p: (p.start, p.pid))
        procs = []
        for proc in fresh:
            self.known[proc.pid] = member = self._is_member(proc)
            if not member:
                self._close(proc.pid)
            else:
                procs.append(proc)
                if proc.ppid == self.root:
                    self.unclassified.add(proc.pid)
        new = {p.pid for p in procs}
        members = (pid for pid, m in self.known.items() if m and pid not in new)
        procs += [p for p in map(self._stat, members) if p]
        for pid in list(self.unclassified):
            self._classify(pid)
        return procs


class PsutilTree:
    """Follow a process tree with psutil's recursive walk (any OS psutil supports)."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self.cache: dict[int, psutil.Process] = {}
        self.workers: set[int] = set()

    def _read(self, p: psutil.Process) -> Proc | None:
        try:
            with p.oneshot():
                cpu = p.cpu_times()
                proc = Proc(
                    p.pid, p.ppid(), 0, int(p.create_time() * 1000), p.memory_info().rss,
                    cpu.user + cpu.system,
                )  # fmt: skip
                if proc.ppid == self.root.pid and "exec(eval(" in " ".join(p.cmdline()):
                    self.workers.add(p.pid)
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    def close(self) -> None:
        self.cache.clear()

    def alive(self, pid: int, start: int) -> bool:
        try:
            p = psutil.Process(pid)
            return int(p.create_time() * 1000) == start and p.status() != psutil.STATUS_ZOMBIE
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def read(self) -> list[Proc]:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        # Keep Process objects across ticks: psutil checks they are still the same process.
        procs = [self.cache.setdefault(p.pid, p) for p in tree]
        self.workers &= {p.pid for p in procs}
        return [r for r in map(self._read, procs) if r]


def make_tree(root: int) -> LinuxTree | PsutilTree:
    if sys.platform.startswith("linux") and os.path.exists(f"/proc/{root}/stat"):
        return LinuxTree(root)
    return PsutilTree(root)


def _downsample(points: list[tuple[float, int, int, float]]) -> Samples:
    """Keep at most MAX_POINTS, each the peak of its bucket so that no spike is lost."""
    if not points:
        return Samples()
    size = -(-len(points) // MAX_POINTS)
    kept = []
    for i in range(0, len(points), size):
        bucket = points[i : i + size]
        t, _, _, cpu = bucket[-1]
        kept.append((t, max(b[1] for b in bucket), max(b[2] for b in bucket), cpu))
    t_s, rss, procs, cpu_s = zip(*kept, strict=True)
    return Samples(t_s=t_s, rss_bytes=rss, processes=procs, cpu_s=cpu_s)


class Sampler(threading.Thread):
    """Sample the tree under root every interval_s until stop() is called."""

    def __init__(self, root: int, interval_s: float) -> None:
        super().__init__(name="benchlib-sampler", daemon=True)
        self.tree = make_tree(root)
        self.interval_s = interval_s
        self._stop_event = threading.Event()
        self._t0 = time.perf_counter()
        self._points: list[tuple[float, int, int, float]] = []
        self._cpu: dict[tuple[int, int], float] = {}  # last CPU seen per process
        self._peaks = [0, 0, 0, 0]  # rss sum, single rss, processes, workers
        self._cost_s = 0.0

    def run(self) -> None:
        while True:
            self.tick()
            if self._stop_event.wait(self.interval_s):
                return

    def tick(self) -> None:
        c0 = time.thread_time()
        procs = self.tree.read()
        for p in procs:
            self._cpu[(p.pid, p.start)] = p.cpu_s
        rss = sum(p.rss_bytes for p in procs)
        single = max((p.rss_bytes for p in procs), default=0)
        now = (rss, single, len(procs), len(self.tree.workers))
        self._peaks = [max(a, b) for a, b in zip(self._peaks, now, strict=True)]
        t = time.perf_counter() - self._t0
        self._points.append((t, rss, len(procs), sum(self._cpu.values())))
        self._cost_s += time.thread_time() - c0

    def survivors(self) -> list[int]:
        """Return the pids of processes seen in the tree that still run."""
        return [pid for pid, start in list(self._cpu) if self.tree.alive(pid, start)]

    def stop(self) -> TreeStats:
        self._stop_event.set()
        if self.is_alive():
            self.join()
        self.tree.close()
        n = len(self._points)
        return TreeStats(
            peak_rss_bytes=self._peaks[0],
            max_single_rss_bytes=self._peaks[1],
            peak_processes=self._peaks[2],
            workers_observed=self._peaks[3],
            cpu_s=sum(self._cpu.values()),
            samples=_downsample(self._points),
            count=n,
            mean_cost_s=self._cost_s / n if n else 0.0,
        )
