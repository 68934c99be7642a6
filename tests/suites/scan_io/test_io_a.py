"""I/O-bound tests: each waits SCAN_IO_S seconds (default 0.12) and uses almost no CPU."""

import os
import time

import pytest

WAIT_S = float(os.environ.get("SCAN_IO_S", "0.12"))


@pytest.mark.parametrize("i", range(8))
def test_wait(i):
    time.sleep(WAIT_S)
