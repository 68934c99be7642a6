"""A suite that never ends; with BENCH_GRANDCHILD set it first starts a process that ignores
SIGTERM and SIGINT (in a session of its own with BENCH_SETSID=1) and writes its pid."""

import os
import subprocess
import sys
import time

STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
time.sleep(3600)
"""


def test_hangs():
    pidfile = os.environ.get("BENCH_GRANDCHILD")
    if pidfile:
        child = subprocess.Popen(
            [sys.executable, "-c", STUBBORN], start_new_session=bool(os.environ.get("BENCH_SETSID"))
        )
        with open(pidfile, "w") as f:
            f.write(str(child.pid))
    # Ignore SIGINT too, so that only a stronger signal ends the test.
    while True:
        try:
            time.sleep(3600)
        except KeyboardInterrupt:
            pass
