"""The reliability lane: each fault a hostile tester found, on real processes and real signals.

One test per case of the issue "Hostile input and faults" (the case number leads each test's
docstring). Every test runs under a token of its own (``BENCHLIB_TEST_TOKEN``) that every
process it starts inherits, and ends by scanning ``/proc/*/environ`` for it: nothing a case
started may outlive it, whatever killed what.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import suitekit

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

TOKEN_VAR = "BENCHLIB_TEST_TOKEN"


# --- the token scan ------------------------------------------------------------------------


def token_holders(token: str) -> dict[int, str]:
    """Return the live processes whose environment carries the token, with their commands."""
    needle = f"{TOKEN_VAR}={token}\0".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        with contextlib.suppress(OSError):  # gone, or a zombie (its environ reads empty)
            if needle in Path(f"/proc/{name}/environ").read_bytes():
                cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
                found[int(name)] = cmd.decode(errors="replace").strip()
    return found


@pytest.fixture(autouse=True)
def tree_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Mark every process the test starts; afterwards, fail if any of them is alive."""
    token = uuid.uuid4().hex
    monkeypatch.setenv(TOKEN_VAR, token)
    yield token
    left = token_holders(token)
    deadline = time.monotonic() + 5  # a process SIGKILLed a moment ago may still be exiting
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = token_holders(token)
    for pid in left:  # do not leak them into the rest of the session
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == {}, f"processes outlived the case: {left}"


# --- helpers -------------------------------------------------------------------------------


def env(**extra: str) -> dict[str, str]:
    return suitekit.env_without_pytest_vars() | extra


def benchlib(*args: str | Path, cwd: Path | None = None, **extra: str) -> Any:
    return suitekit.benchlib(*map(str, args), cwd=cwd, env=env(**extra))


def start(*args: str | Path, preexec_fn: Callable[[], None] | None = None, **extra: str) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "benchlib", *map(str, args)],
        env=env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def wait_for(what: Callable[[], object], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def result_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("summary"))


def one_result(folder: Path) -> dict[str, Any]:
    [path] = result_files(folder)
    return suitekit.validate(path)


def one_line_error(proc: Any, *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("benchlib: error: ")
    for needle in needles:
        assert needle in line
    return str(line)


def pids_in(folder: Path) -> set[int]:
    return {int(p.name.rsplit(".", 1)[1]) for p in folder.iterdir()}


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
    proc = benchlib(
        "run", "serial-full", "--workers", workers, "--timeout", "3", "--target", target,
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


def test_07_stale_lock_is_found_named_and_cleaned_up(tmp_path: Path, tree_token: str) -> None:
    """7. benchlib and its watchdog both SIGKILLed: the next run finds the tree and kills it."""
    target = suitekit.copy_suite("sleepy", tmp_path)
    out, started = tmp_path / "results", tmp_path / "started"
    started.mkdir()
    proc = start(
        "run", "serial-full", "--timeout", "120", "--target", target, "--results", out,
        BENCH_STARTED_DIR=str(started),
    )  # fmt: skip
    wait_for(lambda: list(started.iterdir()))
    watchdogs = [p for p, cmd in token_holders(tree_token).items() if "benchlib._watchdog" in cmd]
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


# --- 1: from another folder --------------------------------------------------------------------


def _project_with_venv(root: Path) -> Path:
    """The markers suite as a project with its own .venv (pytest and xdist from ours, by .pth)."""
    project = suitekit.copy_suite("markers", root).rename(root / "proj")
    venv = project / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = (venv / "lib").glob("python*/site-packages")
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (site / "ours.pth").write_text(ours + "\n")
    return project


def test_01_cross_folder_commands_hand_absolute_paths_to_the_child(tmp_path: Path) -> None:
    """1. `run --target ../../proj --python ../../proj/.venv/bin/python` from elsewhere, and nox."""
    project = _project_with_venv(tmp_path)
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


# --- 3: runs of different projects, and of different selections, in one folder ---------------


def test_03_projects_are_never_compared_and_changed_selections_are_warned(tmp_path: Path) -> None:
    """3. Two projects' runs in one folder: a loud warning, no comparison across them; one
    strategy's runs that selected different tests are warned about too."""
    out = tmp_path / "results"
    a = suitekit.copy_suite("markers", tmp_path / "a")
    b = suitekit.copy_suite("markers", tmp_path / "b")
    for target, names in ((a, ["serial-full", "unit"]), (b, ["serial-full", "unit"])):
        proc = benchlib("run", *names, "--target", target, "--results", out)
        assert proc.returncode == 0, proc.stderr
    more = "import pytest\n\n\n@pytest.mark.unit\ndef test_more():\n    pass\n"
    (a / "test_more.py").write_text(more)  # project a's unit lane gains a test
    proc = benchlib("run", "unit", "--target", a, "--results", out)
    assert proc.returncode == 0, proc.stderr
    summ = benchlib("summary", out)
    assert summ.returncode == 0, summ.stderr
    warning = "these runs come from 2 different projects"
    assert f"WARNING: {warning}" in summ.stdout
    assert f"**Warning:** {warning}" in (out / "summary.md").read_text()
    facts = json.loads((out / "summary.json").read_text())
    [unit] = [s for s in facts["strategies"] if s["name"] == "unit"]
    # One project is compared (a: most runs a side); the other's runs are left out, not pooled.
    assert (unit["comparison"]["n_before"], unit["comparison"]["n_after"]) == (1, 2)
    assert "of other projects left out" in unit["comparison"]["note"]
    assert "projects" in {r["rule"] for r in facts["recommendations"]}
    assert unit["selections"] == 2
    assert "WARNING: unit: its runs selected 2 different sets of tests" in summ.stdout
    digests = {suitekit.validate(p)["selection_sha256"] for p in result_files(out)}
    assert len(digests) == 3  # serial-full, unit, unit with test_more
