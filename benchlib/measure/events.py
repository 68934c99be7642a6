"""Read the observer's events file into what the observer saw of one run.

The protocol (event names and fields) is ``benchlib_protocol``, shared with the plugin. A run
that was stopped or crashed leaves a partial file, still valid line by line: what it holds is
what happened, and what it lacks (no "end") says the session never finished.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib.measure._observer import benchlib_protocol as protocol
from benchlib.model.results import Counts, InFlight, TestRecord, Timeline, WorkerTimes

# Seconds are kept to 0.1 ms: finer than any phase benchlib reports, and short in the file.
_DIGITS = 4


@dataclass(frozen=True)
class Observed:
    """What the observer plugin saw of the run; times in seconds from the run's start."""

    counts: Counts = field(default_factory=Counts)
    tests: tuple[TestRecord, ...] = ()
    warning_categories: dict[str, int] = field(default_factory=dict)
    collected: int | None = None
    collected_ids: tuple[str, ...] = ()
    timeline: Timeline = field(default_factory=Timeline)
    in_flight: tuple[InFlight, ...] = ()
    session_ended: bool = False  # pytest reached its session's end and said so
    seen_anything: bool = False  # the plugin wrote at least one event

    @property
    def not_run(self) -> tuple[str, ...]:
        """Return the collected tests that never started, in collection order.

        A test in flight when the run ended was reached: it is named as in flight, not here.
        """
        done = {t.nodeid for t in self.tests} | {f.nodeid for f in self.in_flight}
        return tuple(n for n in self.collected_ids if n not in done)

    @property
    def collection_errors(self) -> bool:
        return any(t.phase == "collect" for t in self.tests)


def iter_events(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the file's events; a line cut short by a kill is left out."""
    try:
        data = path.read_bytes()
    except OSError:
        return
    yield from decode(data)


def decode(lines: bytes) -> Iterator[dict[str, Any]]:
    """Yield the events of complete lines; one that is not an event is left out."""
    for line in lines.splitlines():
        try:
            event = json.loads(line)
        except ValueError:  # cut short by a kill, or not UTF-8
            continue
        if isinstance(event, dict) and isinstance(event.get("e"), str):
            yield event


class _Reader:
    """Fold events into an Observed, one event at a time."""

    def __init__(self, t0: float, end: float) -> None:
        self.t0, self.end = t0, end
        self.counts: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.tests: list[TestRecord] = []
        self.started: dict[str, tuple[str | None, float]] = {}
        self.workers: dict[str, dict[str, float]] = {}
        self.milestones: dict[str, float] = {}
        self.deselected = 0
        self.collected: int | None = None
        self.collected_ids: tuple[str, ...] = ()
        self.ended = False
        self.any = False

    def rel(self, t: float) -> float:
        return round(t - self.t0, _DIGITS)

    def worker(self, event: dict[str, Any], key: str) -> None:
        self.workers.setdefault(str(event["worker"]), {})[key] = self.rel(event["t"])

    def feed(self, event: dict[str, Any]) -> None:
        self.any = True
        kind = event["e"]
        self.counts.update(event.get("counts", {}))
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event)

    def test(self, event: dict[str, Any]) -> None:
        record = _test_record(event, self.t0)
        self.tests.append(record)
        self.started.pop(record.nodeid, None)

    def observed(self) -> Observed:
        counts = Counts(
            **{k: self.counts.get(k, 0) for k in ("passed", "failed", "errors", "skipped")},
            deselected=self.deselected,
            xfailed=self.counts.get("xfailed", 0),
            xpassed=self.counts.get("xpassed", 0),
            warnings=sum(self.warnings.values()),
            subtests_passed=self.counts.get("subtests_passed", 0),
        )
        return Observed(
            counts=counts,
            tests=tuple(self.tests),
            warning_categories=dict(self.warnings),
            collected=self.collected,
            collected_ids=self.collected_ids,
            timeline=self.timeline(),
            in_flight=self.in_flight(),
            session_ended=self.ended,
            seen_anything=self.any,
        )

    def timeline(self) -> Timeline:
        workers = tuple(WorkerTimes(id=w, **times) for w, times in sorted(self.workers.items()))
        return Timeline(
            session_s=self.milestones.get("session"),
            collected_s=self.milestones.get("collected"),
            end_s=self.milestones.get("end"),
            workers=workers,
        )

    def in_flight(self) -> tuple[InFlight, ...]:
        flights = (
            InFlight(nodeid, worker, self.rel(t), round(self.end - t, _DIGITS))
            for nodeid, (worker, t) in self.started.items()
        )
        return tuple(sorted(flights, key=lambda f: -f.running_s))


def _on_started(r: _Reader, e: dict[str, Any]) -> None:
    r.started[str(e["nodeid"])] = (e.get("worker"), float(e["t"]))


def _on_collected(r: _Reader, e: dict[str, Any]) -> None:
    r.collected = int(e["n"])
    r.collected_ids = tuple(e.get("ids", ()))
    r.milestones["collected"] = r.rel(e["t"])


def _on_warning(r: _Reader, e: dict[str, Any]) -> None:
    r.warnings[str(e["category"])] += 1


def _on_deselected(r: _Reader, e: dict[str, Any]) -> None:
    # Every xdist worker deselects the same items: the largest count is the count.
    r.deselected = max(r.deselected, int(e["n"]))


def _on_end(r: _Reader, e: dict[str, Any]) -> None:
    r.ended = True
    r.milestones["end"] = r.rel(e["t"])


_HANDLERS: dict[str, Callable[[_Reader, dict[str, Any]], None]] = {
    protocol.TEST: _Reader.test,
    protocol.STARTED: _on_started,
    protocol.COLLECTED: _on_collected,
    protocol.WARNING: _on_warning,
    protocol.DESELECTED: _on_deselected,
    protocol.END: _on_end,
    protocol.SESSION: lambda r, e: r.milestones.__setitem__("session", r.rel(e["t"])),
    protocol.GATEWAY: lambda r, e: r.worker(e, "started_s"),
    protocol.WORKER_CONFIGURED: lambda r, e: r.worker(e, "configured_s"),
    protocol.WORKER_COLLECTED: lambda r, e: r.worker(e, "collected_s"),
    protocol.NODE_READY: lambda r, e: r.worker(e, "ready_s"),
}


def _test_record(event: dict[str, Any], t0: float) -> TestRecord:
    durations: dict[str, float] = event["durations"]
    start = event.get("start")
    return TestRecord(
        nodeid=str(event["nodeid"]),
        outcome=event["outcome"],
        duration_s=round(sum(durations.values()), 6),
        setup_s=round(durations.get("setup", 0.0), 6),
        call_s=round(durations.get("call", 0.0), 6),
        teardown_s=round(durations.get("teardown", 0.0), 6),
        phase=event["phase"],
        message=event["message"],
        worker=event["worker"],
        start_s=round(start - t0, _DIGITS) if start else None,
    )


def read(path: Path, *, t0: float, end: float) -> Observed:
    """Read a run's events; t0 and end are the run's start and end (epoch seconds)."""
    reader = _Reader(t0, end)
    for event in iter_events(path):
        try:
            reader.feed(event)
        except (KeyError, TypeError, ValueError):  # a malformed event: not from our plugin
            continue
    return reader.observed()


@dataclass
class Tail:
    """Follows a growing events file for progress: tests done and the collection's size."""

    path: Path
    offset: int = 0
    done: int = 0
    collected: int | None = None

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for event in decode(complete):
            if event["e"] == protocol.TEST:
                self.done += 1
            elif event["e"] == protocol.COLLECTED:
                self.collected = int(event["n"])
