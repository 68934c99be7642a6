"""The trace file: Trace Event Format as Perfetto's JSON importer reads it, one track a worker.

`check_trace` holds the rules a viewer applies, taken from Perfetto's importer
(google/perfetto src/trace_processor/importers/json/json_trace_tokenizer.cc and
json_trace_parser_impl.cc) and its FAQ on overlapping JSON events (perfetto.dev/docs/faq):
a document that breaks one loses events or fails to open there.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import factories as f
import pytest
import suitekit

from benchlib import pipeline
from benchlib.analyze import resultset
from benchlib.measure._observer import benchlib_protocol as protocol
from benchlib.model import trace
from benchlib.model.results import InFlight, RunResult, Samples, TestRecord

# The top-level keys Perfetto's tokenizer knows; at any other it stops reading the file.
TOP_LEVEL = ("traceEvents", "displayTimeUnit", "otherData", "metadata", "systemTraceEvents")
NAMES = {"process_name", "thread_name", "process_sort_index", "thread_sort_index"}
UINT32 = 2**32


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _no_arrays(value: object, where: str) -> None:
    # An older tokenizer refuses an event holding an array before its "ts" ("unsupported
    # JSON dictionary with array"), which fails the whole file: none anywhere is safest.
    assert not isinstance(value, list), f"{where}: array in an event"
    if isinstance(value, dict):
        for k, v in value.items():
            _no_arrays(v, f"{where}.{k}")


def _check_event(e: Any, i: int) -> None:
    where = f"event {i} {e!r:.120}"
    assert isinstance(e, dict), where
    _no_arrays(e, where)
    ph = e.get("ph")
    assert isinstance(ph, str) and len(ph) == 1, where  # the parser skips a non-string ph
    for key in ("pid", "tid"):  # ints (a string id is a parser hack, not the spec)
        assert type(e.get(key)) is int and 0 <= e[key] < UINT32, f"{where}: {key}"
    assert isinstance(e.get("name"), str), f"{where}: name"
    if ph != "M":  # the tokenizer drops any other event without a numeric ts
        assert _number(e.get("ts")) and e["ts"] >= 0, f"{where}: ts"
    if ph == "X":  # the parser drops a complete event without a numeric dur
        assert _number(e.get("dur")) and e["dur"] >= 0, f"{where}: dur"
    elif ph == "C":  # each arg is one series; a non-number is a parser failure
        args = e.get("args")
        assert isinstance(args, dict) and args, f"{where}: counter args"
        assert all(_number(v) for v in args.values()), f"{where}: counter values"
    elif ph == "M":
        assert e["name"] in NAMES, f"{where}: metadata name"
        if e["name"].endswith("_name"):
            assert isinstance(e["args"]["name"], str) and e["args"]["name"], where
        else:
            assert type(e["args"]["sort_index"]) is int, where
    else:
        raise AssertionError(f"{where}: phase {ph!r} is not one benchlib writes")


def _check_nesting(events: list[dict[str, Any]]) -> None:
    """Slices on one track nest or follow each other; a partial overlap is dropped or cut."""
    by_track: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            by_track[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for track, spans in by_track.items():
        stack: list[int] = []  # ends of the open slices
        for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            assert not stack or end <= stack[-1], f"track {track}: [{start}, {end}] overlaps"
            stack.append(end)


def check_trace(text: str) -> dict[str, Any]:
    """Assert that a trace's text is one Perfetto's JSON importer reads whole; return it."""
    doc = json.loads(text)
    assert isinstance(doc, dict)
    keys = list(doc)
    assert keys[0] == "traceEvents", keys  # the tokenizer reads keys in order
    assert set(keys) <= set(TOP_LEVEL), keys
    assert doc.get("displayTimeUnit", "ms") in ("ms", "ns")
    assert isinstance(doc["traceEvents"], list)
    for i, e in enumerate(doc["traceEvents"]):
        _check_event(e, i)
    _check_nesting(doc["traceEvents"])
    return doc


def threads(doc: dict[str, Any]) -> dict[int, str]:
    return {
        e["tid"]: e["args"]["name"]
        for e in doc["traceEvents"]
        if e["ph"] == "M" and e["name"] == "thread_name"
    }


def phase_slices(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Return each test's phase slices, in order, by node id."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in doc["traceEvents"]:
        if e["ph"] == "X" and e.get("cat") in trace.PHASES:
            found[e["name"]].append(e)
    return {k: sorted(v, key=lambda e: e["ts"]) for k, v in found.items()}


def assert_slices_match(doc: dict[str, Any], run: RunResult) -> None:
    """Each test's slices: on its worker's track, end to end, its phases' recorded durations."""
    tid = {name: t for t, name in threads(doc).items()}
    slices = phase_slices(doc)
    for test in (t for t in run.tests if t.start_s is not None):
        mine = slices[test.nodeid]
        phases = [p for p in trace.PHASES if getattr(test, f"{p}_s") > 0]
        assert [e["cat"] for e in mine] == phases
        for e in mine:
            assert abs(e["dur"] / 1e6 - getattr(test, f"{e['cat']}_s")) < 1e-3
            assert e["tid"] == tid[test.worker or ("controller" if len(tid) > 1 else "pytest")]
        for a, b in itertools.pairwise(mine):
            assert a["ts"] + a["dur"] == b["ts"]  # consecutive, no gap
        assert abs(mine[0]["ts"] / 1e6 - test.start_s) < 1e-3


def xdist_run(**kw: Any) -> RunResult:
    lanes: dict[str | None, list[tuple[str, float]]] = {
        "gw0": [("tests/test_a.py::test_long", 3.0)],
        "gw1": [(f"tests/test_b.py::test_short[{i}]", 0.05) for i in range(60)],
    }
    samples = Samples((0.1, 1.0, 2.0), (50 * 2**20, 150 * 2**20, 140 * 2**20), (1, 3, 3))
    samples = dataclasses.replace(samples, cpu_s=(0.05, 1.2, 3.1))
    return f.timed(lanes=lanes, samples=samples, **kw)


@pytest.mark.unit
def test_a_two_worker_run_has_a_track_per_worker_and_its_phases() -> None:
    run = xdist_run()
    doc = check_trace(trace.dumps(run))
    assert sorted(threads(doc).values()) == ["controller", "gw0", "gw1"]
    assert_slices_match(doc, run)
    names = {e["name"] for e in doc["traceEvents"] if e["ph"] == "X" and e["cat"] == "run"}
    assert {"start-up", "boot", "collection", "shutdown"} <= names
    counters = {e["name"] for e in doc["traceEvents"] if e["ph"] == "C"}
    assert counters == {"tree RSS (summed)", "tree processes", "tree CPU"}


@pytest.mark.unit
def test_a_serial_run_is_one_track() -> None:
    run = f.timed("serial-full", lanes={None: [("t.py::a", 0.5), ("t.py::b", 0.25)]})
    doc = check_trace(trace.dumps(run))
    assert threads(doc) == {0: "pytest"}
    assert_slices_match(doc, run)


@pytest.mark.unit
def test_overlap_from_rounded_start_times_is_moved_not_dropped() -> None:
    # Start times are kept to 0.1 ms: the second test appears to start 50 µs early.
    tests = (
        TestRecord("t.py::a", "passed", 0.01, 0.001, 0.008, 0.001, start_s=1.0),
        TestRecord("t.py::b", "passed", 0.01, 0.001, 0.008, 0.001, start_s=1.00995),
    )
    run = f.replace(f.timed(lanes={None: [("t.py::x", 0.1)]}), tests=tests)
    doc = check_trace(trace.dumps(run))
    b = phase_slices(doc)["t.py::b"]
    assert b[0]["ts"] == 1_010_000  # moved 50 µs to follow a
    assert [e["dur"] for e in b] == [1000, 8000, 1000]


@pytest.mark.unit
def test_in_flight_tests_and_failures_are_on_their_track() -> None:
    hang = InFlight("tests/test_x.py::test_hangs", "gw1", 0.9, 87.0)
    run = xdist_run(in_flight=(hang,), status="timeout")
    doc = check_trace(trace.dumps(run))
    [flight] = [e for e in doc["traceEvents"] if e.get("cat") == "in flight"]
    assert flight["name"] == hang.nodeid
    assert threads(doc)[flight["tid"]] == "gw1"
    assert flight["dur"] == 87_000_000


@pytest.mark.unit
def test_suite_text_stays_json_and_the_checker_catches_what_a_viewer_drops() -> None:
    odd = 'tests/t.py::test_x["quote\\\\ \u00e9 \n tab\t"]'
    run = f.timed(lanes={None: [(odd, 0.1)]})
    doc = check_trace(trace.dumps(run))
    assert odd in phase_slices(doc)
    broken = json.loads(trace.dumps(run))
    broken["traceEvents"][-1]["dur"] = "0.1"
    with pytest.raises(AssertionError, match="dur"):
        check_trace(json.dumps(broken))
    overlapping = json.loads(trace.dumps(run))
    x = [e for e in overlapping["traceEvents"] if e["ph"] == "X"]
    x[-1]["ts"] = x[-2]["ts"] + 1
    with pytest.raises(AssertionError, match="overlaps"):
        check_trace(json.dumps(overlapping))
    with pytest.raises(AssertionError):
        check_trace(json.dumps({"otherData": {}, "traceEvents": []}))


@pytest.mark.unit
def test_summary_does_not_take_a_trace_for_a_result(tmp_path: Path) -> None:
    path = f.write(xdist_run(), tmp_path)
    out = trace.path_for(path)
    out.write_text(trace.dumps(xdist_run()))
    assert out.name == path.name.removesuffix(".json") + ".trace.json"
    for paths in ([tmp_path], [path, out]):
        loaded = resultset.load(paths, workers=1)
        assert (len(loaded.runs), loaded.skipped) == (1, ())
    assert pipeline.summarize([tmp_path]).skipped == ()


@pytest.mark.unit
@pytest.mark.parametrize("worker", [None, "gw3"])
def test_the_hand_formatted_events_are_what_encode_gives(worker: str | None) -> None:
    nodeid = 'tests/t.py::test["\u00e9\\\\\n"]'
    fields: dict[str, Any] = {
        "outcome": "failed",
        "phase": "call",
        "message": "AssertionError: 'é' != \"e\"",
        "counts": {"failed": 1},
        "durations": {"setup": 0.000123, "call": 1.5, "teardown": 1e-06},
        "start": 1795833436.2439384,
    }
    fast = protocol.encode_test(nodeid, worker, **fields)
    assert json.loads(fast) == json.loads(
        protocol.encode(protocol.TEST, nodeid=nodeid, worker=worker, **fields)
    )
    assert fast.isascii() and fast.endswith(b"}\n") and fast.count(b"\n") == 1
    started = protocol.encode_started(nodeid, worker, 12.5)
    assert json.loads(started) == {"e": "started", "nodeid": nodeid, "worker": worker, "t": 12.5}


@pytest.mark.integration
@pytest.mark.slow
def test_a_real_two_worker_run_writes_a_trace_beside_its_result(tmp_path: Path) -> None:
    target = suitekit.copy_suite("even", tmp_path)
    out = tmp_path / "results"
    run = suitekit.run(target, out, workers=2, name="even-n2")
    path = out / f"{run.run_id}.trace.json"
    doc = check_trace(path.read_text())
    assert sorted(threads(doc).values()) == ["controller", "gw0", "gw1"]
    assert_slices_match(doc, run)
    assert len(phase_slices(doc)) == 40
    # `benchlib trace` writes the same document for the saved result.
    again = tmp_path / "again.json"
    done = suitekit.benchlib("trace", str(out / f"{run.run_id}.json"), "--out", str(again))
    assert done.returncode == 0, done.stderr
    assert json.loads(again.read_text()) == doc
    bad = suitekit.benchlib("trace", str(path))
    assert bad.returncode == 2 and "not a benchlib result file" in bad.stderr
