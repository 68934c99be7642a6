"""CPU-bound tests: each burns SCAN_CPU_S seconds of its own CPU time (default 0.15)."""

import os
import time

import pytest

BURN_S = float(os.environ.get("SCAN_CPU_S", "0.15"))


def burn(seconds):
    start = time.process_time()
    n = 0
    while time.process_time() - start < seconds:
        n += sum(range(500))
    return n


@pytest.mark.parametrize("i", range(5))
def test_burn(i):
    assert burn(BURN_S) > 0
