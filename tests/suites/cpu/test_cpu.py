"""Tests that burn BENCH_BURN_S seconds of CPU each, measured by the tests themselves."""

import os
import time
from pathlib import Path


def _burn(name):
    target = float(os.environ.get("BENCH_BURN_S", "0"))
    start = time.process_time()
    n = 0
    while time.process_time() - start < target:
        n += sum(range(1000))
    spent = time.process_time() - start
    Path(os.environ["BENCH_CPU_DIR"], f"burn-{name}").write_text(str(spent))


def test_burn_a():
    _burn("a")


def test_burn_b():
    _burn("b")
