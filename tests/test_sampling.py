"""The tree sampler on a real process tree, through /proc and through psutil."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from benchlib.measure.sampling import LinuxTree, PsutilTree, Sampler

pytestmark = pytest.mark.integration

# Each child says so once it runs Python code: right at exec a process can show 0 RSS.
# One write() a line: writes to a pipe this short are atomic, so the lines cannot interleave.
KID = "import os, time; os.write(1, b'kid\\n'); time.sleep(60)"
TREE = (
    "import subprocess, sys, time\n"
    f"kids = [subprocess.Popen([sys.executable, '-c', {KID!r}]) for _ in range(3)]\n"
    "import os; os.write(1, b'ready\\n')\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def tree() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", TREE], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        lines = sorted(proc.stdout.readline() for _ in range(4))
        assert lines == ["kid\n"] * 3 + ["ready\n"]
        yield proc
    finally:  # a failed set-up must not leave the tree running into later tests
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kind", [LinuxTree, PsutilTree])
def test_both_walks_see_the_whole_tree(tree: subprocess.Popen[str], kind: type) -> None:
    walker = kind(tree.pid)
    procs = walker.read()
    assert sorted(p.pid for p in procs)[0] == tree.pid
    assert len(procs) == 4
    assert all(p.rss_bytes > 0 for p in procs)
    assert walker.workers == set()  # plain children are not xdist workers
    assert all(walker.alive(p.pid, p.start) for p in procs)


def test_sampler_keeps_peaks_and_finds_survivors(tree: subprocess.Popen[str]) -> None:
    sampler = Sampler(tree.pid, 0.02)
    sampler.start()
    time.sleep(0.3)
    os.killpg(tree.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while sampler.survivors() and time.monotonic() < deadline:
        time.sleep(0.05)  # the orphaned children are reaped by init
    stats = sampler.stop()
    assert stats.peak_processes == 4
    assert stats.workers_observed == 0
    assert stats.peak_rss_bytes >= stats.max_single_rss_bytes > 0
    assert stats.count >= 5
    assert len(stats.samples.t_s) == len(stats.samples.rss_bytes) <= 500
    assert sampler.survivors() == []
