"""Kill a run's tree if benchlib dies, and save the result benchlib left pending.

Started by ``running`` for each run, in a session of its own, as ``python -m
benchlib.measure._watchdog BENCHLIB_PID PGID TOKEN [PENDING FINAL T0_EPOCH [EVENTS]]``. It waits
for benchlib's process to end; benchlib kills it when the run ends normally. If benchlib ends
first (SIGKILL, a crash), it kills pytest's process group and every process carrying the run's
token, then moves the pending result (status "interrupted", saying why) to its final name, with
the wall time it measured and what the observer's events file saw (tests done, in flight, not
run), so that every run that started leaves a result file; the events file goes. Standard
library only until benchlib has died.
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


_WHY = (
    "benchlib ended during this run (killed, or crashed) before it could measure it; its "
    "watchdog stopped the tree ({killed} process(es) killed by token) and wrote this file"
)


def _save(pending: Path, final: Path, t0_epoch: float, killed: int, events: Path | None) -> None:
    """Save the pending result with what the events file saw; the wall time at least."""
    now = time.time()
    why = (
        "benchlib ended during this run (killed, or crashed) before it could measure it; its "
        f"watchdog stopped the tree ({killed} process(es) killed by token) and wrote this file"
    )
    try:
        text = _observed(pending, events, t0_epoch, now, why)
    except Exception:  # whatever failed, the pending result is still saved
        data = json.loads(pending.read_text(encoding="utf-8"))
        data["wall_s"] = round(max(now - t0_epoch, 0.0), 6)
        data["ended_at"] = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        data["message"] = why
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    tmp = final.with_name(f".{final.name}.watchdog.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, final)
    pending.unlink()
    if events is not None:
        events.unlink(missing_ok=True)


def _observed(pending: Path, events: Path | None, t0_epoch: float, now: float, why: str) -> str:
    """Return the pending result with the tests, counts and tests in flight the events hold.

    Imported here, once benchlib has died: until then the watchdog needs the standard library
    only, and starts fast.
    """
    import dataclasses

    from benchlib.measure.events import read
    from benchlib.model import results

    result = dataclasses.replace(
        results.load(pending),
        ended_at=datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        wall_s=round(max(now - t0_epoch, 0.0), 6),
        message=why,
    )
    if events is not None:
        seen = read(events, t0=t0_epoch, end=now, stop=now)
        result = dataclasses.replace(
            result,
            outcome=seen.counts,
            collected=seen.collected,
            tests=seen.tests,
            warning_categories=seen.warning_categories,
            timeline=seen.timeline,
            in_flight=seen.in_flight,
            not_run=len(seen.not_run),
            selection_sha256=None
            if seen.collected is None
            else results.selection_digest(seen.collected_ids),
            message="; ".join([why, *seen.words(stopped=True)]),
        )
    return results.dumps(result)


def main(argv: list[str]) -> int:
    parent, pgid, token = int(argv[0]), int(argv[1]), argv[2]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the terminal is benchlib's
    _wait_for_death(parent)
    killed = _kill(pgid, token)
    if len(argv) >= 6 and Path(argv[3]).is_file():
        events = Path(argv[6]) if len(argv) >= 7 else None
        _save(Path(argv[3]), Path(argv[4]), float(argv[5]), killed, events)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
