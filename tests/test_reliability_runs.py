"""The reliability lane, how runs are measured and recorded (issue "Faults and bad input, second
battery"): a run that ran no test body is no timing, the watchdog's result after kill -9 holds
what the events file saw, bad bounds are refused, and the smaller run-side cases.

One test per case (the issue's item number leads the docstring); faultkit's scan of
``/proc/*/environ`` after each finds nothing alive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import suitekit
from faultkit import (  # tree_token: autouse, the /proc scan after every case
    benchlib,
    env,
    one_line_error,
    one_result,
    result_files,
    start,
    tree_token,  # noqa: F401
    wait_for,
)

from benchlib import pipeline

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

# What pytest-cov does when the total is under --cov-fail-under: the session fails, whatever
# ran (here nothing), and pytest exits 1 instead of 5.
COV_FAIL_UNDER = """
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session):
    yield
    session.testsfailed += 1
"""
SUITE = """
import pytest


def test_one():
    pass


@pytest.mark.skip(reason="not here")
def test_two():
    pass
"""


def _by_strategy(out: Path) -> dict[str, dict[str, object]]:
    return {d["strategy"]["name"]: d for d in map(suitekit.validate, result_files(out))}


def test_15_a_run_that_ran_no_test_body_is_no_timing(tmp_path: Path) -> None:
    """15. Under a --cov-fail-under-like plugin, a lane that selected nothing exits 1, and one
    whose every test is skipped exits 0: neither ran a test body, so neither is a timing, and
    `run` does not exit 0."""
    target = tmp_path / "proj"
    target.mkdir()
    (target / "conftest.py").write_text(COV_FAIL_UNDER)
    (target / "test_c.py").write_text(SUITE)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.nothing]\nkeyword = 'nomatch'\ncompare_to = 'serial-full'\n"
        "scope = 'subset'\n"
        "[tool.benchlib.strategies.skips]\nkeyword = 'two'\ncompare_to = 'serial-full'\n"
        "scope = 'subset'\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "nothing", "--target", target, "--results", out)
    assert proc.returncode == 1, proc.stderr  # no run timed anything: not a success
    (target / "conftest.py").unlink()
    proc = benchlib("run", "skips", "--target", target, "--results", out)
    assert proc.returncode == 1, proc.stderr
    runs = _by_strategy(out)
    nothing, skips = runs["nothing"], runs["skips"]
    assert (nothing["status"], nothing["exit_code"]) == ("no-tests", 1)
    assert "no test body ran: it selected no test" in str(nothing["message"])
    assert "--cov-fail-under" in str(nothing["message"]) and "logs/" in str(nothing["message"])
    assert (skips["status"], skips["exit_code"]) == ("no-tests", 0)
    assert "all 1 selected tests were skipped" in str(skips["message"])
    summ = benchlib("summary", out)
    assert summ.returncode == 0, summ.stderr
    facts = json.loads((out / "summary.json").read_text())
    assert all(s["wall"] is None for s in facts["strategies"])  # never timed


def test_12_the_watchdogs_result_after_kill_9_holds_what_the_events_saw(tmp_path: Path) -> None:
    """12. kill -9 of `benchlib run` mid-test: the watchdog's result has the test that passed,
    the one in flight and the one never started, and no events file stays in logs/."""
    target = suitekit.copy_suite("stopped", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = start(
        "run", "serial-full", "--workers", "0", "--timeout", "120", "--target", target,
        "--results", out, BENCH_STARTED_DIR=str(started),
    )  # fmt: skip
    wait_for(lambda: list(started.iterdir()))
    proc.kill()
    proc.communicate(timeout=60)
    wait_for(lambda: result_files(out), timeout_s=30)
    data = one_result(out)
    assert data["status"] == "interrupted"
    assert [row[:2] for row in data["tests"]] == [["test_stopped.py::test_a_passes", "passed"]]
    assert data["outcome"]["passed"] == 1 and data["collected"] == 3
    assert [x["nodeid"] for x in data["in_flight"]] == ["test_stopped.py::test_b_hangs"]
    assert data["not_run"] == 1
    message = data["message"]
    assert "benchlib ended during this run" in message and "test_b_hangs (on main" in message
    assert "1 of 3 collected tests never ran: test_stopped.py::test_c_after" in message
    wait_for(lambda: not list((out / "logs").glob(".*")), timeout_s=10)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "--interval", "1e-9"), "--interval: '1e-9' is not valid; give a number >= 0.01"),
        (("run", "--interval", "1e9"), "--interval: '1e9' is not valid; give a number >= 0.01"),
        (("run", "--workers", "1000"), "--workers: '1000' is not valid"),
        (("run", "--workers", ""), "--workers: '' is not valid"),
        (("scan", "serial-full", "--workers", ""), "--workers '' has ''"),
        (("scan", "serial-full", "--workers", "0,600"), "not a count (0 to 512)"),
        (("scan", "serial-full", "--axis", "env:=a"), "names the variable '', which is not"),
        (("run", "unit", "--pair", "unit"), "--pair 'unit' is a strategy this run already runs"),
    ],
)
def test_13_distorting_bounds_are_one_line_errors(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    """13. A sampling interval that busy-loops or samples once, 1,000 workers, an empty worker
    list and an empty variable name are refused before anything runs; --help states bounds."""
    target = suitekit.copy_suite("markers", tmp_path)
    proc = benchlib(*args, "--target", target, "--results", tmp_path / "results")
    one_line_error(proc, needle)
    assert not list(tmp_path.glob("results/*.json"))  # nothing ran
    if "--pair" in args:
        return  # 14. `--pair unit` on `run unit`, refused too
    helps = benchlib("run", "--help").stdout + benchlib("scan", "--help").stdout
    assert "0.01 to 5" in helps and "0 (serial) to 512" in helps and "each 0 to 512" in helps


def test_13_workers_far_above_the_cpus_warn(tmp_path: Path) -> None:
    """13. More than 4 workers a usable CPU: a warning says the runs measure contention."""
    target = suitekit.copy_suite("markers", tmp_path)
    cpu = min(os.sched_getaffinity(0))
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "run", "serial-full", "--workers", "5", "--target",
         str(target), "--results", str(tmp_path / "results")],
        env=env(), capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),  # one usable CPU
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "benchlib: warning: 5 xdist workers on 1 usable CPUs (more than 4 a CPU)" in proc.stderr


def test_14_a_collection_error_under_xdist_is_a_collection_error(tmp_path: Path) -> None:
    """14. A module that cannot be imported, under -n 2: `collection-error` as serially, never
    `tests-failed` timing part of the selection."""
    target = suitekit.copy_suite("broken_collection", tmp_path)
    out = tmp_path / "results"
    proc = benchlib(
        "run", "serial-full", "--workers", "2", "--target", target, "--results", out,
        BENCH_BREAK="1",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = one_result(out)
    assert (data["status"], data["exit_code"]) == ("collection-error", 1)


def test_14_sampled_cpu_says_why(tmp_path: Path) -> None:
    """14. A test starts a busy server in its own session and returns; pytest ends cleanly: the
    CPU recorded is the sampler's (the server's time never reached pytest's rusage), and the
    message says so."""
    target = tmp_path / "proj"
    target.mkdir()
    (target / "pytest.ini").write_text("[pytest]\n")
    (target / "test_server.py").write_text(
        "import subprocess, sys, time\n\n\ndef test_starts_a_server():\n"
        "    subprocess.Popen([sys.executable, '-c', 'while True: pass'], "
        "start_new_session=True)\n    time.sleep(2)\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "--workers", "0", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    data = one_result(out)
    assert (data["status"], data["cpu_source"]) == ("passed", "sampled")
    assert "CPU time is the sampler's, not the exact figure" in data["message"]


def test_14_a_failing_command_step_quotes_its_line_and_links_its_log(tmp_path: Path) -> None:
    """14. A command step that fails (`coverage report --fail-under=100` says why on its last
    line): its result quotes that line and names its own log, and so does the merged run."""
    target = tmp_path / "proj"
    target.mkdir()
    (target / "test_a.py").write_text("def test_a():\n    pass\n")
    line = "Coverage failure: total of 99 is less than fail-under=100"
    command = [
        sys.executable,
        "-c",
        f"import sys; print('Name Stmts'); print({line!r}); sys.exit(2)",
    ]
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.gate]\ncompare_to = 'serial-full'\nsteps = [{ workers = 0 }, "
        f"{{ command = {json.dumps(command)} }}]\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "gate", "--target", target, "--results", out)
    assert proc.returncode in (0, 1), proc.stderr
    runs = sorted(map(suitekit.validate, result_files(out)), key=lambda d: d["part"]["index"])
    step = runs[1]
    assert repr(line) in step["message"] and step["log_path"] in step["message"]
    summ = benchlib("summary", out)
    assert summ.returncode == 0, summ.stderr
    assert step["log_path"] in (out / "summary.json").read_text()


def test_14_a_merged_step_run_keeps_what_its_strategy_deselected(tmp_path: Path) -> None:
    """14. Steps `unit` and `not unit` of a strategy that leaves out `network` (2 of 6 tests):
    the merged run says 4 passed, 2 deselected, as one pytest run of the strategy would."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.steps]\ncompare_to = 'serial-full'\nmarkers = 'not network'\n"
        "steps = [{ markers = 'unit' }, { markers = 'not unit' }]\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "steps", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    outcome = pipeline.summarize([out]).strategy("steps").outcome
    assert outcome is not None and (outcome.passed, outcome.deselected) == (4, 2)


def test_14_a_paired_strategy_that_cannot_start_is_not_rerun_every_round(tmp_path: Path) -> None:
    """14. `--pair broken --repeat 3` where broken ends in a usage error: it runs once, with a
    note, and the strategy it is paired with gets its three rounds."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.broken]\ncompare_to = 'serial-full'\n"
        "args = ['--no-such-option']\n"
    )
    out = tmp_path / "results"
    proc = benchlib(
        "run", "unit", "--pair", "broken", "--repeat", "3", "--target", target, "--results", out
    )
    assert proc.returncode == 1, proc.stderr
    statuses = sorted((d["strategy"]["name"], d["status"]) for d in _by_strategy_all(out))
    assert statuses == [("broken", "usage-error")] + [("unit", "passed")] * 3
    assert "broken ended usage-error" in proc.stderr and "not run again" in proc.stderr


def _by_strategy_all(out: Path) -> list[dict[str, Any]]:
    return [suitekit.validate(p) for p in result_files(out)]
