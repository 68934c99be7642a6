"""Two tests that each hold BENCH_ALLOC_MIB MiB at the same time (run with -n 2)."""

import os
import time
from pathlib import Path

MIB = 2**20


def _hold(name):
    size = int(os.environ.get("BENCH_ALLOC_MIB", "0")) * MIB
    # Written, not just allocated: untouched pages would not count in RSS.
    block = bytearray(b"\x01") * size
    barrier = Path(os.environ["BENCH_BARRIER_DIR"])
    (barrier / name).touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # both blocks held: many samples see the peak
    assert len(block) == size


def test_hold_a():
    _hold("a")


def test_hold_b():
    _hold("b")
