"""A test that leaves a daemon behind, the classic way (fork, setsid, fork, exit), then hangs.

The daemon ignores SIGTERM, SIGINT and SIGHUP and has left the run's session and process group:
only SIGKILL to its pid ends it. Its pid is written to BENCH_DAEMON_PIDFILE.
"""
import os
import signal
import time


def _daemon(pidfile):
    os.setsid()
    if os.fork() != 0:
        os._exit(0)  # the middle process exits at once: the daemon is orphaned
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(pidfile + ".tmp", pidfile)
    while True:  # never return into pytest's code
        time.sleep(1)


def test_leaves_a_daemon_and_hangs():
    pidfile = os.environ["BENCH_DAEMON_PIDFILE"]
    pid = os.fork()
    if pid == 0:
        try:
            _daemon(pidfile)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(3600)
