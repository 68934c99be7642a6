"""Two tests that say they started (a file in BENCH_STARTED_DIR) and then sleep for an hour."""
import os
import time
from pathlib import Path


def _sleep(name):
    Path(os.environ["BENCH_STARTED_DIR"], f"{name}.{os.getpid()}").touch()
    time.sleep(3600)


def test_sleep_a():
    _sleep("a")


def test_sleep_b():
    _sleep("b")
