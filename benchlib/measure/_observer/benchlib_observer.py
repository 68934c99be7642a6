"""An observe-only pytest plugin that streams what pytest saw to a JSON-lines file.

benchlib loads it into the target's pytest with ``-p benchlib_observer``, putting this folder on
PYTHONPATH, so it imports nothing but pytest, the standard library and its protocol module, and
runs on any Python the target uses. It only listens: no hook returns a value that changes
collection or outcomes. Each line is flushed as it happens, so a run that is stopped still leaves
what it did; ``benchlib_protocol`` names the events.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from benchlib.measure._observer import benchlib_protocol as protocol
else:
    # The sibling file first: benchlib puts this folder on the target's PYTHONPATH, and the
    # target's interpreter may have another version of benchlib installed, whose protocol
    # would not match this plugin.
    try:
        import benchlib_protocol as protocol
    except ImportError:  # imported as part of benchlib, outside a run
        from benchlib.measure._observer import benchlib_protocol as protocol

_WORKER_KEY = "benchlib_deselected"
_PHASES = ("setup", "call", "teardown")
# pytest's report categories, and the count each adds to (pytest says "errors").
_COUNT = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
    "subtests passed": "subtests_passed",  # pytest 9's subtests; a failed one counts as failed
}


# A first line can be a whole command line (CalledProcessError names its argv): keep that much,
# and past it the start and the end, where such a line says what ran and how it ended.
_MESSAGE_CHARS = 2000


def _first_line(text: object) -> str | None:
    lines = str(text).strip().splitlines()
    if not lines:
        return None
    line = lines[0]
    if len(line) <= _MESSAGE_CHARS:
        return line
    half = _MESSAGE_CHARS // 2
    return line[:half] + "\N{HORIZONTAL ELLIPSIS}" + line[1 - half :]


def _message(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    """Return the first line of why a report did not pass, in pytest's own words."""
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        return _first_line(wasxfail) or "xfail"
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, reason)
        return _first_line(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return _first_line(crash.message)
    return _first_line(longrepr)


def _worker_id(report: pytest.TestReport) -> str | None:
    worker = getattr(report, "worker_id", None)
    if worker is None:
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        worker = getattr(gateway, "id", None)
    return worker


class _Stream:
    """The events file, shared by every process of the run (see benchlib_protocol).

    Written with os.write on a descriptor opened for appending: each event is one system call
    that lands whole at the end of the file, with no buffer to flush (a buffered file object
    and its flush cost twice as much per event).
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, kind: str, **fields: Any) -> None:
        self.write(protocol.encode(kind, **fields))

    def write(self, line: bytes) -> None:
        data = memoryview(line)
        while data:  # a regular file takes the whole line; a signal could cut a long one
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        os.close(self.fd)


class Observer:
    """In the process that runs the session: outcomes, counts, phases, collection, workers."""

    def __init__(self, config: pytest.Config, stream: _Stream) -> None:
        self.config = config
        self.stream = stream
        self.pending: dict[str, dict[str, Any]] = {}
        self.deselected = 0
        self.collected_sent = False
        self.serial = True  # until xdist sets up nodes

    def emit(self, kind: str, **fields: Any) -> None:
        self.stream.emit(kind, **fields)

    def category(self, report: pytest.TestReport) -> str:
        """Return the report's category in pytest's summary ("passed", "error", "xfailed" ...)."""
        status = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
        return str(status[0]) if status else ""

    # --- session and collection ------------------------------------------------------------

    def pytest_sessionstart(self) -> None:
        self.emit(protocol.SESSION, t=time.time())

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.serial and not self.collected_sent:
            self.collected_sent = True
            ids = [item.nodeid for item in session.items]
            self.emit(protocol.COLLECTED, n=len(ids), ids=ids, t=time.time())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit(
                protocol.TEST,
                nodeid=report.nodeid,
                outcome="error",
                phase="collect",
                message=_message(report),
                counts={"errors": 1},
                durations={},
                worker=None,
            )
        elif report.skipped:
            self.emit(protocol.SKIPPED_COLLECTOR, nodeid=report.nodeid, counts={"skipped": 1})

    # --- xdist, on the controller ----------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self) -> None:
        self.serial = False

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_newgateway(self, gateway: Any) -> None:
        self.emit(protocol.GATEWAY, worker=str(gateway.id), t=time.time())

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        self.emit(protocol.NODE_READY, worker=str(node.gateway.id), t=time.time())

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        now = time.time()
        self.emit(protocol.NODE_COLLECTED, worker=str(node.gateway.id), n=len(ids), t=now)
        if not self.collected_sent:
            self.collected_sent = True
            self.emit(protocol.COLLECTED, n=len(ids), ids=list(ids), t=now)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if _WORKER_KEY in output:
            self.emit(protocol.DESELECTED, n=output[_WORKER_KEY], worker=str(node.gateway.id))

    # --- tests -----------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if self.serial:  # under xdist the worker says when a test starts, and where
            self.stream.write(protocol.encode_started(nodeid, None, time.time()))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.passed and type(report) is pytest.TestReport and not hasattr(report, "wasxfail"):
            self.passed(report)
            return
        if not getattr(report, "count_towards_summary", True):
            return
        record = self.pending.get(report.nodeid) or self.record(report)
        category = self.category(report)
        key = _COUNT.get(category)
        if key:
            record["counts"][key] = record["counts"].get(key, 0) + 1
        if type(report).__name__ == "SubtestReport":
            # A subtest adds to the counts and can fail its test; its time is the call's.
            if category == "failed" and record["phase"] is None:
                record.update(outcome="failed", phase="call", message=_message(report))
            return
        if report.when in _PHASES:
            record["durations"][report.when] = report.duration
        if key in ("failed", "errors", "skipped", "xfailed", "xpassed") and record["phase"] is None:
            # xdist reports a crashed worker's test with when "???": it crashed while running.
            phase = report.when if report.when in _PHASES else "call"
            record.update(outcome=category, phase=phase, message=_message(report))
        # A crashed xdist worker's report has no teardown after it: send it at once.
        if report.when == "teardown" or report.when not in _PHASES:
            self.send(report.nodeid, _worker_id(report))

    def record(self, report: pytest.TestReport) -> dict[str, Any]:
        record = self.pending[report.nodeid] = {
            "outcome": "passed",
            "phase": None,
            "message": None,
            "counts": {},
            "durations": {},
            "start": report.start,
        }
        return record

    def passed(self, report: pytest.TestReport) -> None:
        """Take a phase of a plain test that passed: two of a test's three reports, or all.

        Answered without asking pytest_report_teststatus: pytest's own answer for these is ""
        for setup and teardown and "passed" for the call. The hook call and the general path
        were half of the plugin's cost per test on a suite of tiny tests.
        """
        nodeid, when = report.nodeid, report.when
        record = self.pending.get(nodeid) or self.record(report)
        record["durations"][when] = report.duration
        if when == "call":
            counts = record["counts"]
            counts["passed"] = counts.get("passed", 0) + 1
        elif when == "teardown":
            self.send(nodeid, _worker_id(report))

    def send(self, nodeid: str, worker: str | None) -> None:
        record = self.pending.pop(nodeid)
        self.stream.write(protocol.encode_test(nodeid, worker, **record))

    def pytest_warning_recorded(self, warning_message: Any, nodeid: str) -> None:
        self.emit(protocol.WARNING, category=warning_message.category.__name__, nodeid=nodeid)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, exitstatus: int) -> None:
        for nodeid in list(self.pending):
            self.send(nodeid, None)
        self.emit(protocol.DESELECTED, n=self.deselected, worker=None)
        self.emit(protocol.END, exitstatus=int(exitstatus), t=time.time())

    def pytest_unconfigure(self) -> None:
        self.stream.close()


class WorkerObserver:
    """On an xdist worker: when it was up and done collecting, which test it runs, deselected."""

    def __init__(self, config: pytest.Config, stream: _Stream) -> None:
        self.config = config
        self.stream = stream
        self.worker = str(config.workerinput["workerid"])  # type: ignore[attr-defined]
        stream.emit(protocol.WORKER_CONFIGURED, worker=self.worker, pid=os.getpid(), t=time.time())

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        output = self.config.workeroutput  # type: ignore[attr-defined]
        output[_WORKER_KEY] = output.get(_WORKER_KEY, 0) + len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        n = len(session.items)
        self.stream.emit(protocol.WORKER_COLLECTED, worker=self.worker, n=n, t=time.time())

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.stream.write(protocol.encode_started(nodeid, self.worker, time.time()))

    def pytest_unconfigure(self) -> None:
        self.stream.close()


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(protocol.OUT_ENV)
    if hasattr(config, "workerinput"):
        config.workeroutput.setdefault(_WORKER_KEY, 0)  # type: ignore[attr-defined]
        if path:
            worker = WorkerObserver(config, _Stream(path))
            config.pluginmanager.register(worker, "benchlib-worker-observer")
    elif path:
        config.pluginmanager.register(Observer(config, _Stream(path)), "benchlib-observer")
