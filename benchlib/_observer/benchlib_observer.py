"""An observe-only pytest plugin that streams what pytest saw to a JSON-lines file.

benchlib loads it into the target's pytest with ``-p benchlib_observer``, putting this folder on
PYTHONPATH, so it must import nothing but pytest and the standard library and run on any Python
the target uses. It only listens: no hook returns a value that changes collection or outcomes.

One line per event, flushed as it happens, so a run that is stopped still leaves what it did:
    {"e": "collected", "n": 12}
    {"e": "test", "nodeid": ..., "outcome": ..., "counts": {"passed": 1}, ...}
    {"e": "warning", "category": "DeprecationWarning"}
    {"e": "deselected", "n": 3}      one per collecting process; the reader takes the largest
    {"e": "end", "exitstatus": 0}
"""

from __future__ import annotations

import json
import os

import pytest

OUT_ENV = "BENCHLIB_OBSERVER_OUT"
_WORKER_KEY = "benchlib_deselected"
_PHASES = ("setup", "call", "teardown")
# pytest's report categories, mapped to the outcome words benchlib stores.
_OUTCOME = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}
_COUNT = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}


def _first_line(text):
    text = str(text).strip()
    return text.splitlines()[0][:500] if text else None


def _message(report):
    """Return the first line of why a report did not pass, in pytest's own words."""
    if getattr(report, "wasxfail", None):
        return _first_line(report.wasxfail) or "xfail"
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, reason)
        return _first_line(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return _first_line(crash.message)
    return _first_line(longrepr)


def _worker_id(report):
    worker = getattr(report, "worker_id", None)
    if worker is None:
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        worker = getattr(gateway, "id", None)
    return worker


class Observer:
    def __init__(self, config, path):
        self.config = config
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the session
        self.pending = {}
        self.deselected = 0
        self.collected_sent = False

    def emit(self, **event):
        self.file.write(json.dumps(event) + "\n")
        self.file.flush()

    def category(self, report):
        status = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
        return status[0] if status else ""

    # --- collection ------------------------------------------------------------------------

    def pytest_deselected(self, items):
        self.deselected += len(items)

    def pytest_collection_finish(self, session):
        if not self.collected_sent:
            self.collected_sent = True
            self.emit(e="collected", n=len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        if not self.collected_sent:
            self.collected_sent = True
            self.emit(e="collected", n=len(ids))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        output = getattr(node, "workeroutput", None) or {}
        if _WORKER_KEY in output:
            self.emit(e="deselected", n=output[_WORKER_KEY], worker=node.gateway.id)

    def pytest_collectreport(self, report):
        if report.failed:
            self.emit(
                e="test",
                nodeid=report.nodeid,
                outcome="error",
                phase="collect",
                message=_message(report),
                counts={"errors": 1},
                durations={},
                worker=None,
            )
        elif report.skipped:
            self.emit(e="skipped-collector", nodeid=report.nodeid, counts={"skipped": 1})

    # --- tests -----------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report):
        if not getattr(report, "count_towards_summary", True):
            return
        record = self.pending.setdefault(
            report.nodeid,
            {"outcome": "passed", "phase": None, "message": None, "counts": {}, "durations": {}},
        )
        record["durations"][report.when] = report.duration
        category = self.category(report)
        key = _COUNT.get(category)
        if key:
            record["counts"][key] = record["counts"].get(key, 0) + 1
        if category in _OUTCOME and category != "passed" and record["phase"] is None:
            record.update(outcome=_OUTCOME[category], phase=report.when, message=_message(report))
        # A crashed xdist worker's report has no teardown after it: send it at once.
        if report.when == "teardown" or report.when not in _PHASES:
            self.send(report.nodeid, _worker_id(report))

    def send(self, nodeid, worker):
        record = self.pending.pop(nodeid)
        self.emit(e="test", nodeid=nodeid, worker=worker, **record)

    def pytest_warning_recorded(self, warning_message, nodeid):
        self.emit(e="warning", category=warning_message.category.__name__, nodeid=nodeid)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        for nodeid in list(self.pending):
            self.send(nodeid, None)
        self.emit(e="deselected", n=self.deselected, worker=None)
        self.emit(e="end", exitstatus=int(exitstatus))

    def pytest_unconfigure(self):
        self.file.close()


class WorkerObserver:
    """On an xdist worker: count deselected items and hand the count to the controller."""

    def __init__(self, config):
        self.config = config

    def pytest_deselected(self, items):
        output = self.config.workeroutput
        output[_WORKER_KEY] = output.get(_WORKER_KEY, 0) + len(items)


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        config.workeroutput.setdefault(_WORKER_KEY, 0)
        config.pluginmanager.register(WorkerObserver(config), "benchlib-worker-observer")
        return
    path = os.environ.get(OUT_ENV)
    if path:
        config.pluginmanager.register(Observer(config, path), "benchlib-observer")
