"""The results folder's lock: two benches at once would disturb each other's timings.

The lock is an advisory ``flock`` on ``.benchlib.lock``, which the kernel releases when its holder
dies however it dies. The file also says who holds it and the token of the run in progress, so
that the next bench can tell when the last one died mid-run and left processes behind (its
watchdog should have killed them; if it could not, this finds and kills them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from benchlib.errors import InputError
from benchlib.measure._watchdog import token_processes
from benchlib.measure.running import kill_pids
from benchlib.model import results

LOCK_NAME = ".benchlib.lock"


@dataclass
class Held:
    """The lock while it is held: record each run's token in it as the run starts."""

    file: IO[str]
    stale: list[str] = field(default_factory=list)  # what was found of a dead holder's run

    def running(self, token: str) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps({"pid": os.getpid(), "token": token}))
        self.file.flush()


def _holder(f: IO[str]) -> dict[str, object]:
    f.seek(0)
    try:
        data = json.loads(f.read() or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _clean_up(previous: dict[str, object]) -> list[str]:
    """Kill what a dead holder's run left alive, and say what was found."""
    token = previous.get("token")
    if not isinstance(token, str) or not token:
        return []
    left = set(token_processes(token))
    if not left:
        return []
    kill_pids(left)
    return [
        f"an earlier bench (pid {previous.get('pid')}) died during a run and left "
        f"{len(left)} process(es) running (pids {', '.join(map(str, sorted(left)))}); "
        "they were killed"
    ]


def _save_pending(results_dir: Path) -> list[str]:
    """Save the results a dead bench left pending (its watchdog died too), and say so.

    A run's pending result exists only while the run is in progress, under the lock: one found
    by the lock's next holder belongs to a bench that died with its watchdog.
    """
    notes = []
    for pending in sorted((results_dir / "logs").glob(".*.pending.json")):
        final = results_dir / (pending.name[1 : -len(".pending.json")] + ".json")
        try:
            found = results.loads(pending.read_bytes(), pending)
        except (OSError, results.ResultError):
            continue  # not ours to judge: leave it
        message = (
            "benchlib and its watchdog ended during this run (killed, or crashed); the next "
            "bench found the run and stopped what was left of it; nothing was measured"
        )
        results.write_atomic(final, results.dumps(dataclasses.replace(found, message=message)))
        pending.unlink()
        notes.append(f"the run it left unfinished was saved as {final} (status {found.status})")
    return notes


@contextlib.contextmanager
def exclusive(results_dir: Path) -> Iterator[Held]:
    """Hold the results folder's lock; refuse at once if another bench holds it."""
    import fcntl  # POSIX only, like the process handling that needs the lock

    with open(results_dir / LOCK_NAME, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                "results",
                str(results_dir),
                f"is in use by another benchlib run (pid {_holder(f).get('pid', '?')}); "
                "bench runs must not overlap (their timings would disturb each other)",
                "wait for it, or use another results folder",
            ) from None
        held = Held(f, _clean_up(_holder(f)) + _save_pending(results_dir))
        held.running("")
        try:
            yield held
        finally:
            held.running("")  # ended cleanly: nothing of ours is left to look for
