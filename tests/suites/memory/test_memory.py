"""Two tests that each hold BENCH_ALLOC_MIB MiB at the same time (run with -n 2).

Once both hold their block, each writes to BENCH_RSS_DIR what it and its parent (the xdist
controller) have resident, read as benchlib's sampler reads it: the tree's RSS on the plateau
that both blocks make, by the processes' own account.
"""
import os
import time
from pathlib import Path

MIB = 2**20
PAGE = os.sysconf("SC_PAGE_SIZE")


def _resident(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _hold(name):
    size = int(os.environ.get("BENCH_ALLOC_MIB", "0")) * MIB
    # Written, not just allocated: untouched pages would not count in RSS.
    block = bytearray(b"\x01") * size
    barrier = Path(os.environ["BENCH_BARRIER_DIR"])
    (barrier / name).touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    report = Path(os.environ["BENCH_RSS_DIR"], name)
    report.write_text(f"{_resident(os.getpid())} {_resident(os.getppid())}")
    time.sleep(1.0)  # both blocks held: many samples see the plateau
    assert len(block) == size


def test_hold_a():
    _hold("a")


def test_hold_b():
    _hold("b")
