"""The first session ever in this folder is cold: it pays BENCH_COLD_S once, as a first run
pays for compiling bytecode and filling caches (a file beside this one says it was paid)."""

import os
import time
from pathlib import Path

PAID = Path(__file__).with_name(".warm")


def pytest_sessionstart(session):
    if not PAID.exists():
        PAID.touch()
        time.sleep(float(os.environ.get("BENCH_COLD_S", "3")))
