"""The reliability lane, stopped runs (issue "Faults and bad input, second battery"): the test a
run was in when it was stopped stays in flight, in its phase, never passed; every collected test
is accounted for; a hang's time is the hung test's, never shutdown.

One test per case (the issue's item number leads the docstring); faultkit's scan of
``/proc/*/environ`` after each finds nothing alive.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import factories as f
import pytest
import suitekit
from faultkit import (  # tree_token: autouse, the /proc scan after every case
    benchlib,
    one_result,
    start,
    tree_token,  # noqa: F401
    wait_for,
)

from benchlib.analyze import timeline
from benchlib.measure import events
from benchlib.measure._observer import benchlib_protocol as protocol
from benchlib.model.results import InFlight, TestRecord, Timeline

HUNG = "test_stopped.py::test_b_hangs"

linux = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


def _rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row[0]: dict(zip(data["test_fields"], row, strict=False)) for row in data["tests"]}


def _assert_stopped_in(data: dict[str, Any], phase: str) -> None:
    """The hung test is in flight in its phase, never a pass; every collected test counted."""
    assert [(x["nodeid"], x["phase"]) for x in data["in_flight"]] == [(HUNG, phase)]
    rows = _rows(data)
    assert HUNG not in rows
    assert data["outcome"]["passed"] == len(rows)  # the tests that finished, and only they
    assert len(rows) + len(data["in_flight"]) + data["not_run"] == data["collected"] == 3
    assert f"{HUNG} (on " in data["message"] and f"in {phase}," in data["message"]


def _interrupt(tmp_path: Path, *args: str, signals: int = 1, **env: str) -> dict[str, Any]:
    """Run the suite, and once the hung test has started send benchlib SIGINT, quickly."""
    target = suitekit.copy_suite("stopped", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = start(
        "run", "serial-full", *args, "--timeout", "120", "--target", target, "--results", out,
        BENCH_STARTED_DIR=str(started), **env,
    )  # fmt: skip
    wait_for(lambda: list(started.iterdir()))
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    data = one_result(out)
    assert data["status"] == "interrupted"
    return data


@linux
@pytest.mark.integration
@pytest.mark.reliability
@pytest.mark.parametrize("phase", ["setup", "teardown"])
def test_01_ctrl_c_of_a_serial_run_keeps_the_test_in_flight_in_its_phase(
    tmp_path: Path, phase: str
) -> None:
    """1. Ctrl-C of a serial run in a test's setup or teardown: in flight there, never passed."""
    _assert_stopped_in(_interrupt(tmp_path, "--workers", "0", BENCH_HANG_IN=phase), phase)


@linux
@pytest.mark.integration
@pytest.mark.reliability
def test_01_a_timeout_names_a_test_whose_grandchild_ignores_sigterm(tmp_path: Path) -> None:
    """1. Time limit, serial, the test started a grandchild that ignores SIGTERM: still named."""
    target = suitekit.copy_suite("stopped", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = benchlib(
        "run", "serial-full", "--workers", "0", "--timeout", "6", "--target", target,
        "--results", out, BENCH_STARTED_DIR=str(started), BENCH_STUBBORN="1",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = one_result(out)
    assert data["status"] == "timeout"
    assert list(started.iterdir()), "the hung test never started within the time limit"
    _assert_stopped_in(data, "call")


@linux
@pytest.mark.integration
@pytest.mark.reliability
def test_01_three_quick_signals_under_xdist_lose_no_test(tmp_path: Path) -> None:
    """1. Three quick SIGINTs to an xdist run: the hung test is in flight in call, not passed."""
    data = _interrupt(tmp_path, "--workers", "2", signals=3)
    flights = {x["nodeid"]: x for x in data["in_flight"]}
    # In call, or unknown when the stop beat the setup report from the worker: never wrong.
    assert flights[HUNG]["phase"] in ("call", None) and flights[HUNG]["worker"] in ("gw0", "gw1")
    assert data["in_flight"][0]["nodeid"] == HUNG  # the longest-running comes first
    rows = _rows(data)
    assert HUNG not in rows and data["outcome"]["passed"] == len(rows)
    assert len(rows) + len(flights) + data["not_run"] == data["collected"] == 3


# --- 2: which tests were in flight at the stop --------------------------------------------------


def _events(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(lines))
    return path


@pytest.mark.unit
@pytest.mark.reliability
def test_02_tests_xdist_started_after_the_stop_are_not_in_flight(tmp_path: Path) -> None:
    """2. Tests fed to a worker after the stop signal are not in flight: they count as not run;
    the hung one keeps the phase pytest named, the longest-running first."""
    ids = ["t.py::hung", "t.py::quick", "t.py::young", "t.py::fed_late", "t.py::never"]
    path = _events(
        tmp_path / "e.jsonl",
        protocol.encode(protocol.COLLECTED, n=5, ids=ids, t=100.0),
        protocol.encode_started("t.py::hung", "gw1", 101.0),
        protocol.encode_started("t.py::quick", "gw0", 140.0),
        protocol.encode_started("t.py::young", "gw0", 145.5),
        protocol.encode(protocol.INTERRUPTED, t=146.0),
        protocol.encode_started("t.py::fed_late", "gw0", 146.5),
    )
    seen = events.read(path, t0=100.0, end=150.0, stop=145.8)
    assert [(x.nodeid, x.worker, x.phase) for x in seen.in_flight] == [
        ("t.py::hung", "gw1", "setup"),  # pytest caught the stop and named no later phase
        ("t.py::quick", "gw0", "setup"),
        ("t.py::young", "gw0", None),  # its setup report may still have been on its way
    ]
    assert seen.in_flight[0].running_s == 49.0
    assert seen.not_run == ("t.py::fed_late", "t.py::never")
    unknown = events.read(
        _events(tmp_path / "k.jsonl", protocol.encode_started("t.py::x", None, 1.0)),
        t0=0.0, end=9.0, stop=5.0,
    )  # fmt: skip
    assert [x.phase for x in unknown.in_flight] == [None]  # pytest died: no one could say


@linux
@pytest.mark.integration
@pytest.mark.reliability
def test_02_03_a_hung_session_fixture_under_xdist_is_named_in_setup_and_not_shutdown(
    tmp_path: Path,
) -> None:
    """2, 3. A session fixture that never returns, under -n 2 and a time limit: the hung test
    is first in flight, in setup; its time is its own on the timeline, not shutdown."""
    target = tmp_path / "proj"
    target.mkdir()
    (target / "pytest.ini").write_text("[pytest]\n")
    (target / "test_fixture.py").write_text(
        "import time\nimport pytest\n\n\ndef _stubborn(s):\n    end = time.monotonic() + s\n"
        "    while time.monotonic() < end:\n        try:\n            time.sleep(0.05)\n"
        "        except KeyboardInterrupt:\n            pass\n\n\n"
        "@pytest.fixture(scope='session')\ndef stuck():\n    _stubborn(3600)\n\n\n"
        "def test_0_hangs(stuck):\n    pass\n\n\n@pytest.mark.parametrize('i', range(40))\n"
        "def test_quick(i):\n    _stubborn(0.1)\n"
    )
    out = tmp_path / "results"
    proc = benchlib(
        "run", "gate", "--workers", "2", "--timeout", "8", "--target", target, "--results", out
    )
    assert proc.returncode == 1, proc.stderr
    data = one_result(out)
    assert data["status"] == "timeout"
    first = data["in_flight"][0]
    assert (first["nodeid"], first["phase"]) == ("test_fixture.py::test_0_hangs", "setup")
    assert all(x["started_s"] <= 8.5 for x in data["in_flight"])  # none fed after the stop
    rows = _rows(data)
    assert len(rows) + len(data["in_flight"]) + data["not_run"] == data["collected"] == 41
    done = benchlib("summary", out)
    assert done.returncode == 0, done.stderr
    facts = json.loads((out / "summary.json").read_text())
    md = (out / "summary.md").read_text()
    assert "`test_fixture.py::test_0_hangs` on `gw" in md and "in setup for" in md
    assert "mostly shutdown" not in md
    [run] = [s for s in facts["strategies"] if s["name"] == "gate"]
    assert "shutdown" in json.dumps(run)  # the parts are there, and shutdown is small:
    parts = {p["name"]: p["share"] for p in _find_parts(facts)}
    assert parts["shutdown"] < 0.1, parts


def _find_parts(facts: Any) -> list[dict[str, Any]]:
    """Return the first list of time parts ({"name", "seconds", "share"}) in the summary."""
    if isinstance(facts, dict):
        if "parts" in facts and facts["parts"] and "share" in facts["parts"][0]:
            return list(facts["parts"])
        values = facts.values()
    elif isinstance(facts, list):
        values = facts
    else:
        return []
    for value in values:
        found = _find_parts(value)
        if found:
            return found
    return []


# --- 3: a hang is the hung test's time ------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.reliability
def test_03_a_hung_tests_time_is_its_own_never_shutdown() -> None:
    """3. A test in flight for 84 s on gw1, in setup: the breakdown counts it as the tests'
    time, with almost nothing left for shutdown; it is on its worker's lane, in setup."""
    done = tuple(
        TestRecord(f"t.py::q{i}", "passed", 0.5, call_s=0.5, worker=f"gw{i % 2}", start_s=1 + i)
        for i in range(4)
    )
    hang = InFlight("t.py::stuck", "gw1", 2.0, 88.0, "setup")
    run = f.result(
        "gate", status="timeout", wall_s=90.0, tests=done, in_flight=(hang,),
        timeline=Timeline(session_s=0.5, collected_s=0.9), strategy_kw={"workers": 2},
    )  # fmt: skip
    parts = timeline.breakdown(run)
    assert parts is not None
    assert parts.shutdown_s < 1.0, parts
    assert parts.execution_s > 40, parts
    stuck = [t for t in timeline.timed_tests(run) if t.nodeid == "t.py::stuck"]
    assert [(t.worker, t.phase, t.setup_s, t.end_s) for t in stuck] == [
        ("gw1", "setup", 88.0, 90.0)
    ]
