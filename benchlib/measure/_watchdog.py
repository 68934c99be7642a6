"""Kill a run's tree if benchlib dies, and save the result benchlib left pending.

Started by ``running`` for each run, in a session of its own, as ``python -m
benchlib.measure._watchdog BENCHLIB_PID PGID TOKEN [PENDING FINAL T0_EPOCH]``. It waits for
benchlib's process to end; benchlib kills it when the run ends normally. If benchlib ends first
(SIGKILL, a crash), it kills pytest's process group and every process carrying the run's token,
then moves the pending result (status "interrupted", saying why) to its final name, with the wall
time it measured, so that every run that started leaves a result file. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

TOKEN_ENV = "BENCHLIB_RUN_TOKEN"  # on every process of a run's tree (see running)


def _wait_for_death(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (old kernel, macOS): poll
        while _alive(pid):
            time.sleep(0.2)
        return
    select.select([fd], [], [])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def token_processes(token: str) -> list[int]:
    """Return the live processes whose environment carries the token (Linux /proc)."""
    needle = f"{TOKEN_ENV}={token}\0".encode()
    found = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{name}/environ", "rb") as f:
            if needle in f.read():
                found.append(int(name))
    return found


def _kill(pgid: int, token: str) -> int:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)
    killed = 0
    for pid in token_processes(token):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def _save(pending: Path, final: Path, t0_epoch: float, killed: int) -> None:
    data = json.loads(pending.read_text(encoding="utf-8"))
    now = time.time()
    data["wall_s"] = round(max(now - t0_epoch, 0.0), 6)
    data["ended_at"] = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    data["message"] = (
        "benchlib ended during this run (killed, or crashed) before it could measure it; its "
        f"watchdog stopped the tree ({killed} process(es) killed by token) and wrote this file"
    )
    tmp = final.with_name(f".{final.name}.watchdog.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, final)
    pending.unlink()


def main(argv: list[str]) -> int:
    parent, pgid, token = int(argv[0]), int(argv[1]), argv[2]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the terminal is benchlib's
    _wait_for_death(parent)
    killed = _kill(pgid, token)
    if len(argv) >= 6 and Path(argv[3]).is_file():
        _save(Path(argv[3]), Path(argv[4]), float(argv[5]), killed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
