"""The reliability lane, processes: each fault case of the issue "Hostile input and faults"
that kills, crashes or leaves processes, on real pytest and xdist trees and real signals.

One test per case (its number leads the docstring); after each, faultkit's scan of
``/proc/*/environ`` for the case's token finds nothing alive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import suitekit
from faultkit import (  # tree_token: autouse, the /proc scan after every case
    TOKEN_VAR,
    benchlib,
    env,
    one_result,
    pids_in,
    project_with_venv,
    result_files,
    start,
    token_holders,
    tree_token,  # noqa: F401
    wait_for,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]


# --- 2, 12: a test ends its process ----------------------------------------------------------


def test_02_os_exit_in_a_serial_run_is_a_crash(tmp_path: Path) -> None:
    """2. os._exit(1) in a serial run: crashed, never a baseline; the tests not reached named."""
    target = suitekit.copy_suite("crash", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.first]\nkeyword = 'test_1'\ncompare_to = 'serial-full'\n"
        "scope = 'subset'\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "first", "--target", target, "--results", out)
    assert proc.returncode == 1, proc.stderr  # a run that crashed is an error of the bench
    [crashed] = [
        d for d in map(suitekit.validate, result_files(out)) if d["strategy"]["name"] != "first"
    ]
    assert (crashed["status"], crashed["exit_code"]) == ("crashed", 1)
    assert crashed["not_run"] == 2
    assert "2 of 4 collected tests never ran" in crashed["message"]
    assert "test_3_never_reached" in crashed["message"]
    assert "test_4_never_reached" in crashed["message"]
    assert [f["nodeid"] for f in crashed["in_flight"]] == ["test_crash.py::test_2_exits"]
    summ = benchlib("summary", out)
    assert summ.returncode == 0, summ.stderr
    facts = json.loads((out / "summary.json").read_text())
    by_name = {s["name"]: s for s in facts["strategies"]}
    assert by_name["serial-full"]["wall"] is None  # never timed, so never a "before"
    assert by_name["first"]["comparison"]["word"] == "not compared"
    assert "no completed run" in by_name["first"]["comparison"]["note"]
    used = [r for r in facts["recommendations"] if r["rule"] in ("local", "gate")]
    assert all(r["judgement"] is None for r in used)


def test_12_xdist_worker_crash_is_recorded_in_call(tmp_path: Path) -> None:
    """12. os._exit in a test under -n 2: the crashed test is recorded (phase call), valid file."""
    target = suitekit.copy_suite("crash", tmp_path)
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "--workers", "2", "--target", target, "--results", out)
    data = one_result(out)  # validates against the schema
    rows = {row[0]: dict(zip(data["test_fields"], row, strict=False)) for row in data["tests"]}
    crashed = rows["test_crash.py::test_2_exits"]
    assert (crashed["outcome"], crashed["phase"]) == ("failed", "call")
    assert "crashed" in crashed["message"]
    assert data["status"] == "tests-failed" and proc.returncode == 0, proc.stderr
    assert data["outcome"]["passed"] == 3 and data["outcome"]["failed"] == 1


# --- 6: a daemon ---------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["0", "2"])
def test_06_daemonised_grandchild_does_not_survive_a_timeout(tmp_path: Path, workers: str) -> None:
    """6. fork, setsid, fork, exit; the daemon ignores TERM, INT, HUP: nothing survives."""
    target = suitekit.copy_suite("daemon", tmp_path)
    out, pidfile = tmp_path / "results", tmp_path / "daemon.pid"
    # Long enough for the daemon to exist before the time limit, on a loaded machine.
    timeout = "8" if workers == "2" else "5"
    proc = benchlib(
        "run", "serial-full", "--workers", workers, "--timeout", timeout, "--target", target,
        "--results", out, BENCH_DAEMON_PIDFILE=str(pidfile),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = one_result(out)
    assert data["status"] == "timeout"
    assert "outlived pytest and were killed" in data["message"]
    assert not suitekit.alive(int(pidfile.read_text()))


# --- 7: SIGKILL to benchlib --------------------------------------------------------------------


def _kill_benchlib_mid_run(tmp_path: Path, workers: str) -> tuple[Path, Any]:
    target = suitekit.copy_suite("sleepy", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = start(
        "run", "serial-full", "--workers", workers, "--timeout", "120", "--target", target,
        "--results", out, BENCH_STARTED_DIR=str(started),
    )  # fmt: skip
    wait_for(lambda: len(list(started.iterdir())) == (2 if workers == "2" else 1))
    proc.kill()
    proc.communicate(timeout=60)
    return out, started


@pytest.mark.parametrize("workers", ["0", "2"])
def test_07_sigkill_to_benchlib_the_watchdog_stops_the_tree(tmp_path: Path, workers: str) -> None:
    """7. SIGKILL to `benchlib run`: the watchdog kills pytest (and workers), saves the result."""
    out, started = _kill_benchlib_mid_run(tmp_path, workers)
    wait_for(lambda: result_files(out), timeout_s=30)
    data = one_result(out)
    assert data["status"] == "interrupted"
    assert "benchlib ended during this run" in data["message"]
    assert data["wall_s"] > 0
    wait_for(lambda: not any(map(suitekit.alive, pids_in(started))), timeout_s=10)
    assert list((out / "logs").glob(".*.pending.json")) == []


def test_07_stale_lock_is_found_named_and_cleaned_up(tmp_path: Path) -> None:
    """7. benchlib and its watchdog both SIGKILLed: the next run finds the tree and kills it."""
    target = suitekit.copy_suite("sleepy", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = start(
        "run", "serial-full", "--timeout", "120", "--target", target, "--results", out,
        BENCH_STARTED_DIR=str(started),
    )  # fmt: skip
    wait_for(lambda: list(started.iterdir()))
    mine = token_holders(os.environ[TOKEN_VAR])
    watchdogs = [pid for pid, cmd in mine.items() if "benchlib.measure._watchdog" in cmd]
    assert len(watchdogs) == 1
    for pid in (*watchdogs, proc.pid):
        os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    [pytest_pid] = pids_in(started)
    time.sleep(0.5)
    assert suitekit.alive(pytest_pid)  # nothing stopped it: the state the next bench finds
    (started / f"a.{pytest_pid}").unlink()
    second = start(
        "run", "serial-full", "--timeout", "2", "--target", target, "--results", out,
        BENCH_STARTED_DIR=str(started),
    )  # fmt: skip
    _, stderr = second.communicate(timeout=120)
    assert f"an earlier bench (pid {proc.pid}) died during a run" in stderr
    assert "1 process(es) running" in stderr and str(pytest_pid) in stderr
    assert not suitekit.alive(pytest_pid)
    statuses = sorted(suitekit.validate(p)["status"] for p in result_files(out))
    assert statuses == ["interrupted", "timeout"]  # the dead bench's run has its file too


# --- 8: an inherited ignored SIGINT ------------------------------------------------------------


def test_08_sigint_stops_a_run_even_when_inherited_ignored(tmp_path: Path) -> None:
    """8. benchlib started with SIGINT ignored (nohup, `cmd &`): SIGINT still stops it, 130."""
    target = suitekit.copy_suite("sleepy", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = start(
        "run", "serial-full", "--timeout", "120", "--target", target, "--results", out,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        BENCH_STARTED_DIR=str(started),
    )  # fmt: skip
    wait_for(lambda: list(started.iterdir()))
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    data = one_result(out)
    assert data["status"] == "interrupted"
    assert "result is in" in stderr


# --- 1, 15-17: from another folder ----------------------------------------------------------


def test_01_cross_folder_commands_hand_absolute_paths_to_the_child(tmp_path: Path) -> None:
    """1. `run --target ../../proj --python ../../proj/.venv/bin/python` from elsewhere, and nox."""
    project = project_with_venv(tmp_path)
    here = tmp_path / "work" / "sub"  # relative to the target, ../../proj is somewhere else
    here.mkdir(parents=True)
    proc = benchlib(
        "run", "unit", "--target", "../../proj", "--python", "../../proj/.venv/bin/python",
        cwd=here,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (here / "noxfile.py").write_text(
        "from benchlib import noxsessions\n\nnoxsessions.register(install=lambda session: None)\n"
    )
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    nox = subprocess.run(
        [sys.executable, "-m", "nox", "--no-venv", "-s", "bench-unit", "--", "--target",
         "../../proj", "--python", "../../proj/.venv/bin/python"],
        cwd=here, capture_output=True, text=True, timeout=300, env=env(PATH=path),
    )  # fmt: skip
    assert nox.returncode == 0, nox.stdout + nox.stderr
    runs = [suitekit.validate(p) for p in result_files(project / "results")]
    assert len(runs) == 2
    for data in runs:
        assert data["status"] == "passed"
        assert data["argv"][0] == str(project / ".venv" / "bin" / "python")
        assert data["target"]["path"] == str(project)
        assert all(not a.startswith("..") for a in data["argv"])
        assert data["collected"] == 3 and data["outcome"]["passed"] == 3
        assert (project / "results" / data["log_path"]).is_file()


@pytest.mark.parametrize("plugin", ["", "raise ImportError('no')\n"], ids=["empty", "raises"])
def test_01_a_run_the_observer_saw_nothing_of_is_never_a_pass(tmp_path: Path, plugin: str) -> None:
    """1. The target shadows the observer (its own benchlib_observer.py): never a clean pass."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "benchlib_observer.py").write_text(plugin)
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "--target", target, "--results", out)
    assert proc.returncode == 1, proc.stderr
    data = one_result(out)
    # pytest ran every test and exited 0, or could not load the plugin and exited 3.
    assert (data["status"], data["exit_code"]) in {("crashed", 0), ("internal-error", 3)}
    assert "the observer recorded nothing" in data["message"]
    assert data["log_path"] in data["message"]


def test_15_17_results_go_where_the_target_says_from_any_folder(tmp_path: Path) -> None:
    """15-17. From another folder: config `results` and `python` are relative to the target,
    --results to the current folder; `init` ignores the configured results folder."""
    project = project_with_venv(tmp_path)
    (project / "pyproject.toml").write_text(
        "[tool.benchlib]\nresults = 'out/bench'\npython = '.venv/bin/python'\n"
    )
    here = tmp_path / "elsewhere"
    here.mkdir()
    init = benchlib("init", "--target", "../proj", cwd=here)
    assert init.returncode == 0, init.stderr
    assert "/out/bench/" in (project / ".gitignore").read_text().splitlines()
    for extra in ((), ("--results", "mine")):
        proc = benchlib("run", "unit", "--target", "../proj", *extra, cwd=here)
        assert proc.returncode == 0, proc.stderr
    [configured] = result_files(project / "out" / "bench")
    [given] = result_files(here / "mine")
    for path in (configured, given):
        data = suitekit.validate(path)
        assert data["argv"][0] == str(project / ".venv" / "bin" / "python")  # from the config
        assert (path.parent / data["log_path"]).is_file()
    assert not (here / "out").exists() and not (project / "mine").exists()
