"""Three tests; the second says it started (a file in BENCH_STARTED_DIR) and then waits for
an hour in the phase BENCH_HANG_IN names (setup, call or teardown, by default call). With
BENCH_STUBBORN set it first starts a grandchild that ignores SIGTERM (not SIGINT)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"


def _hang():
    if os.environ.get("BENCH_STUBBORN"):
        subprocess.Popen([sys.executable, "-c", STUBBORN])
    Path(os.environ["BENCH_STARTED_DIR"], f"b.{os.getpid()}").touch()
    time.sleep(3600)


@pytest.fixture
def hang_point():
    where = os.environ.get("BENCH_HANG_IN", "call")
    if where == "setup":
        _hang()
    yield where
    if where == "teardown":
        _hang()


def test_a_passes():
    pass


def test_b_hangs(hang_point):
    if hang_point == "call":
        _hang()


def test_c_after():
    pass
