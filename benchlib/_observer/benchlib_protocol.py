"""The observer's event protocol: one JSON object a line, its kind under the key "e".

Shared by the plugin (which runs inside the target's pytest, on whatever Python the target uses,
importing this file as the top-level module ``benchlib_protocol``) and by benchlib (which imports
it as ``benchlib._observer.benchlib_protocol``), so the names are defined once. Standard library
only. Times ("t") are seconds since the epoch (time.time()): the controller and every xdist worker
run on one machine, so one clock orders all of them.

Each process appends its own lines to the same file, opened for appending: every event is one
``write`` of one short line, which the kernel never interleaves with another process's.
"""

from __future__ import annotations

import json
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


def encode(kind: str, **fields: Any) -> str:
    """Return one event as a line, compact, ASCII-only, so that it is one short write."""
    return json.dumps({"e": kind, **fields}, separators=(",", ":")) + "\n"
