"""A run as a trace in the Trace Event Format, to open in Perfetto or chrome://tracing.

Pure: a result in, a JSON document out (``trace``), or its text (``dumps``). One process, one
track (tid) for the process that ran the session (the serial pytest, or the xdist controller)
and one per xdist worker; on them, complete events (``"ph": "X"``) for start-up, booting and
collecting, each test phase (setup, call, teardown, named by node id, laid end to end from the
test's recorded start), tests still in flight when the run ended, and shutdown; and counter
events (``"ph": "C"``) for the sampler's summed RSS, process count and CPU.

What a viewer needs, read from Perfetto's JSON importer (google/perfetto,
src/trace_processor/importers/json/: json_trace_tokenizer.cc and json_trace_parser_impl.cc):
every event but metadata has a numeric ``ts``; an X event without a numeric ``dur`` is dropped;
pid and tid are integers; a counter's ``args`` is an object of numbers, each a series named
"<name> <key>"; thread and process names are ``M`` events with ``args.name``; slices on one
track must nest, never overlap in part (perfetto.dev/docs/faq); older importers stop at a
top-level key they do not know and refuse an array inside an event before its ``ts``, so
``traceEvents`` comes first and no event holds an array. Times are whole microseconds from the
run's start, so a phase's slice keeps its recorded duration to the microsecond.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from benchlib import __version__
from benchlib.model.results import TRACE_SUFFIX, RunResult, TestRecord

PID = 1
MAIN_TID = 0
PHASES = ("setup", "call", "teardown")
# Seconds to the trace's whole microseconds.
_US = 1_000_000

Event = dict[str, Any]


def path_for(result_path: Path) -> Path:
    """Return where a result file's trace goes: beside it, RUNID.trace.json."""
    return result_path.with_name(result_path.name.removesuffix(".json") + TRACE_SUFFIX)


def _us(seconds: float) -> int:
    return round(seconds * _US)


def _worker_key(worker: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", worker)
    return (int(digits) if digits else -1, worker)


def tracks(run: RunResult) -> dict[str | None, int]:
    """Return each track's tid: the session's process first, then the workers in order."""
    workers = {t.worker for t in run.tests} | {w.id for w in run.timeline.workers}
    workers |= {f.worker for f in run.in_flight}
    named = sorted((w for w in workers if w is not None), key=_worker_key)
    return {None: MAIN_TID} | {w: i for i, w in enumerate(named, start=1)}


def _metadata(run: RunResult, tids: dict[str | None, int]) -> Iterator[Event]:
    main = "controller" if len(tids) > 1 else "pytest"
    name = f"pytest: {run.strategy.name} ({run.run_id})"
    yield {"ph": "M", "name": "process_name", "pid": PID, "tid": MAIN_TID, "args": {"name": name}}
    for worker, tid in tids.items():
        thread = worker if worker is not None else main
        yield {"ph": "M", "name": "thread_name", "pid": PID, "tid": tid, "args": {"name": thread}}
        yield {
            "ph": "M",
            "name": "thread_sort_index",
            "pid": PID,
            "tid": tid,
            "args": {"sort_index": tid},
        }


def _slice(
    name: str, cat: str, tid: int, start_s: float, end_s: float, **args: Any
) -> Event | None:
    if end_s <= start_s:
        return None
    start = _us(start_s)
    event = {"ph": "X", "ts": start, "dur": _us(end_s) - start, "pid": PID, "tid": tid}
    return {**event, "name": name, "cat": cat, "args": args}


def _milestones(run: RunResult, tids: dict[str | None, int]) -> Iterator[Event | None]:
    """Start-up, collection (serial) or booting and collecting (per worker), and shutdown."""
    line = run.timeline
    timed = [t for t in run.tests if t.start_s is not None]
    if line.session_s is not None:
        yield _slice("start-up", "run", MAIN_TID, 0.0, line.session_s)
        if not line.workers and line.collected_s is not None:
            yield _slice("collection", "run", MAIN_TID, line.session_s, line.collected_s)
    for w in line.workers:
        tid = tids[w.id]
        if w.started_s is not None and w.configured_s is not None:
            yield _slice("boot", "run", tid, w.started_s, w.configured_s, worker=w.id)
        if w.configured_s is not None and w.collected_s is not None:
            yield _slice("collection", "run", tid, w.configured_s, w.collected_s, worker=w.id)
    if timed:
        first = min(t.start_s for t in timed if t.start_s is not None)
        last = max(t.start_s + t.duration_s for t in timed if t.start_s is not None)
        if line.workers and line.session_s is not None:
            # The controller runs no test: say what it waits for.
            yield _slice("workers starting", "run", MAIN_TID, line.session_s, first)
            yield _slice("tests on the workers", "run", MAIN_TID, first, last)
        yield _slice("shutdown", "run", MAIN_TID, last, run.wall_s)


def _phases(test: TestRecord, tid: int) -> Iterator[Event]:
    """Yield a test's phases end to end from its start, each named by the node id."""
    assert test.start_s is not None
    start = _us(test.start_s)
    for phase in PHASES:
        dur = _us(getattr(test, f"{phase}_s"))
        if dur <= 0:
            continue  # the phase did not run (a test skipped in setup has no call)
        args: dict[str, Any] = {"phase": phase, "outcome": test.outcome}
        if test.phase == phase and test.message:
            args["message"] = test.message
        yield {"ph": "X", "ts": start, "dur": dur, "pid": PID, "tid": tid} | {
            "name": test.nodeid,
            "cat": phase,
            "args": args,
        }
        start += dur


def _tests(run: RunResult, tids: dict[str | None, int]) -> Iterator[Event | None]:
    for test in run.tests:
        if test.start_s is not None:
            yield from _phases(test, tids[test.worker])
    for f in run.in_flight:
        yield _slice(
            f.nodeid,
            "in flight",
            tids[f.worker],
            f.started_s,
            f.started_s + f.running_s,
            state="still running when the run ended",
        )


def _counters(run: RunResult) -> Iterator[Event]:
    """The sampler's series; CPU as cores busy between two samples."""
    s = run.samples
    previous: tuple[float, float] | None = None
    for t, rss, procs, cpu in zip(s.t_s, s.rss_bytes, s.processes, s.cpu_s, strict=True):
        ts = _us(t)
        base = {"ph": "C", "ts": ts, "pid": PID, "tid": MAIN_TID}
        yield base | {"name": "tree RSS (summed)", "args": {"MiB": round(rss / 2**20, 3)}}
        yield base | {"name": "tree processes", "args": {"count": procs}}
        if previous is not None and t > previous[0]:
            cores = max(cpu - previous[1], 0.0) / (t - previous[0])
            yield base | {"name": "tree CPU", "args": {"cores busy": round(cores, 3)}}
        previous = (t, cpu)


def _untangle(events: Iterable[Event | None]) -> list[Event]:
    """Drop empty slices, and move a slice that starts before the last one on its track ended.

    Start times are recorded to 0.1 ms and durations to 1 µs, so two consecutive tests can
    appear to overlap by a few microseconds; a viewer would drop or cut one of them. The move
    keeps every duration as recorded.
    """
    slices = sorted(
        (e for e in events if e is not None and e["ph"] == "X"), key=lambda e: (e["tid"], e["ts"])
    )
    end: dict[int, int] = {}
    for e in slices:
        e["ts"] = max(e["ts"], end.get(e["tid"], 0))
        end[e["tid"]] = e["ts"] + e["dur"]
    return slices


def trace(run: RunResult) -> dict[str, Any]:
    """Return the run as a Trace Event Format document."""
    tids = tracks(run)
    slices = _untangle([*_milestones(run, tids), *_tests(run, tids)])
    events = [*_metadata(run, tids), *slices, *_counters(run)]
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "run_id": run.run_id,
            "strategy": run.strategy.name,
            "status": run.status,
            "wall_s": f"{run.wall_s:.6f}",
            "rss": "summed over the process tree; shared pages counted once per process",
            "benchlib": __version__,
        },
    }


def dumps(run: RunResult) -> str:
    """Return the trace's text: one event a line, so that a diff or a grep reads it."""
    doc = trace(run)
    lines = ",\n".join(_compact(e) for e in doc.pop("traceEvents"))
    rest = ",".join(f"{_compact(k)}:{_compact(v)}" for k, v in doc.items())
    return f'{{"traceEvents":[\n{lines}\n],{rest}}}\n'


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
