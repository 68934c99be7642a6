"""The observer's event protocol: one JSON object a line, its kind under the key "e".

Shared by the plugin (which runs inside the target's pytest, on whatever Python the target uses,
importing this file as the top-level module ``benchlib_protocol``) and by benchlib (which imports
it as ``benchlib.measure._observer.benchlib_protocol``), so the names are defined once.
Standard library only. Times ("t") are seconds since the epoch (time.time()): the controller
and every xdist worker run on one machine, so one clock orders all of them.

Each process appends its own lines to the same file, opened for appending: every event is one
``write`` of one short line, which the kernel never interleaves with another process's.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, Final

OUT_ENV: Final = "BENCHLIB_OBSERVER_OUT"

# Written by the process that runs the session (serial pytest, or the xdist controller).
SESSION: Final = "session"  # {"t"}: plugins and conftest files loaded, collection starts
COLLECTED: Final = "collected"  # {"n", "ids", "t"}: the items selected to run
TEST: Final = "test"  # {"nodeid", "outcome", "phase", "message", "worker", "counts",
#                        "durations": {when: s}, "start": t of the first phase}
WARNING: Final = "warning"  # {"category", "nodeid"}
DESELECTED: Final = "deselected"  # {"n", "worker"}: one per collecting process
SKIPPED_COLLECTOR: Final = "skipped-collector"  # {"nodeid", "counts"}: a module-level skip
GATEWAY: Final = "gateway"  # {"worker", "t"}: an xdist worker process is being started
NODE_READY: Final = "node-ready"  # {"worker", "t"}: the worker said it is ready
NODE_COLLECTED: Final = "node-collected"  # {"worker", "n", "t"}: the worker's collection done
END: Final = "end"  # {"exitstatus", "t"}: the session finished; absent when pytest died
# Written by each xdist worker, and in a serial run by the session's process.
STARTED: Final = "started"  # {"nodeid", "worker", "t"}: a test began (in flight until TEST)
WORKER_CONFIGURED: Final = "worker-configured"  # {"worker", "pid", "t"}: interpreter, plugins up
WORKER_COLLECTED: Final = "worker-collected"  # {"worker", "n", "t"}


# Built once: json.dumps with separators builds a new encoder on every call, a third of the
# plugin's cost per event on a suite of tiny tests (benchmarks/overhead.py).
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode(kind: str, **fields: Any) -> bytes:
    """Return one event as a line, compact, ASCII-only, so that it is one short write."""
    return (_ENCODER.encode({"e": kind, **fields}) + "\n").encode("ascii")


# The two events written once per test, formatted by hand: the same JSON as encode() gives
# (tests/test_trace.py checks it), at a fifth of its cost on a suite of tiny tests.


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


def _numbers(values: dict[str, Any]) -> str:
    return "{" + ",".join(f"{encode_basestring_ascii(k)}:{v!r}" for k, v in values.items()) + "}"


def encode_started(nodeid: str, worker: str | None, t: float) -> bytes:
    """Return a STARTED event's line."""
    line = f'{{"e":"{STARTED}","nodeid":{_text(nodeid)},"worker":{_text(worker)},"t":{t!r}}}\n'
    return line.encode("ascii")


def encode_test(
    nodeid: str,
    worker: str | None,
    outcome: str,
    phase: str | None,
    message: str | None,
    counts: dict[str, int],
    durations: dict[str, float],
    start: float,
) -> bytes:
    """Return a TEST event's line (the fields as TEST lists them)."""
    line = (
        f'{{"e":"{TEST}","nodeid":{_text(nodeid)},"worker":{_text(worker)},'
        f'"outcome":{_text(outcome)},"phase":{_text(phase)},"message":{_text(message)},'
        f'"counts":{_numbers(counts)},"durations":{_numbers(durations)},"start":{start!r}}}\n'
    )
    return line.encode("ascii")
