"""The run engine on real pytest and xdist processes: counts, accuracy, stopping."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import suitekit

from benchlib.model import results

# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

MIB = 2**20


@pytest.mark.parametrize("workers", [0, 2])
def test_counts_equal_what_pytest_reports(tmp_path: Path, workers: int) -> None:
    target = suitekit.copy_suite("outcomes", tmp_path)
    r = suitekit.run(target, tmp_path / "results", workers=workers, markers="not slow")
    reported = suitekit.pytest_summary(tmp_path / "results" / r.log_path)
    counts = dataclasses.asdict(r.outcome)
    # Under xdist pytest's own line leaves deselected out; benchlib counts it anyway.
    expected_deselected = reported.pop("deselected", 2)
    assert reported == {k: v for k, v in counts.items() if v and k != "deselected"}
    assert counts["deselected"] == expected_deselected == 2
    assert r.outcome == results.Counts(
        passed=6, failed=2, errors=3, skipped=2, deselected=2, xfailed=1, xpassed=1, warnings=2
    )
    assert r.status == "tests-failed" and r.exit_code == 1
    assert r.warning_categories == {"DeprecationWarning": 1, "UserWarning": 1}
    assert r.collected == 12  # selected to run: 14 collected less 2 deselected
    assert r.workers_observed == workers


def test_per_test_records_say_phase_and_message(tmp_path: Path) -> None:
    target = suitekit.copy_suite("outcomes", tmp_path)
    r = suitekit.run(target, tmp_path / "results", markers="not slow")
    by_id = {t.nodeid.split("::")[-1]: t for t in r.tests}
    teardown = by_id["test_error_in_teardown"]
    assert (teardown.outcome, teardown.phase) == ("error", "teardown")
    assert teardown.message == "RuntimeError: teardown exploded"
    assert by_id["test_error_in_setup"].phase == "setup"
    assert by_id["test_fail"].message == "AssertionError: one is not two"
    assert by_id["test_skip"].message == "Skipped: skipped on purpose"
    assert by_id["test_xfail"].outcome == "xfailed"
    assert by_id["test_pass"].outcome == "passed" and by_id["test_pass"].phase is None
    assert all(t.duration_s >= t.call_s >= 0 for t in r.tests)
    assert len(r.tests) == 12  # the module-level skip is counted, not a test


def test_peak_rss_sums_the_xdist_workers(tmp_path: Path) -> None:
    target = suitekit.copy_suite("memory", tmp_path)
    barrier, reports = tmp_path / "barrier", tmp_path / "rss"
    barrier.mkdir()
    reports.mkdir()
    env = {
        "BENCH_ALLOC_MIB": "200",
        "BENCH_BARRIER_DIR": str(barrier),
        "BENCH_RSS_DIR": str(reports),
    }
    r = suitekit.run(target, tmp_path / "results", workers=2, env=env)
    assert r.status == "passed" and r.workers_observed == 2
    # Each worker's own RSS and the controller's, read by the workers while both held a block.
    # Compared with a run that allocates nothing, the peak was flaky: that run's peak falls
    # elsewhere (workers grow after the tests; a worker forked but not yet exec'd counts a copy
    # of the controller), so its "base" was 25-70 MiB above the plateau's and random with load.
    own = [tuple(map(int, p.read_text().split())) for p in reports.iterdir()]
    assert len(own) == 2
    workers = sum(mine for mine, _ in own)
    held = workers + max(parent for _, parent in own)
    assert workers >= 2 * 200 * MIB  # both blocks resident at one time
    # The peak is that plateau (a second long, sampled every 0.05 s), each process once: a
    # largest-process figure would be half of it, a worker counted twice far above it.
    assert 0.97 * held <= r.peak_rss_bytes <= 1.1 * held
    assert r.max_single_rss_bytes >= 200 * MIB
    assert r.peak_processes >= 3  # plugins of the environment may add short-lived ones


def test_cpu_time_is_the_whole_tree(tmp_path: Path) -> None:
    target = suitekit.copy_suite("cpu", tmp_path)
    out = tmp_path / "cpu-report"
    out.mkdir()
    # Only xdist: a plugin of the environment that starts helper processes (pytest-benchmark
    # runs py-cpuinfo in one) would add CPU that no pytest process reports as its own.
    env = {"BENCH_BURN_S": "4", "BENCH_CPU_DIR": str(out), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    r = suitekit.run(target, tmp_path / "results", workers=2, env=env, args=("-p", "xdist.plugin"))
    assert r.status == "passed"
    assert r.cpu_source == "rusage"
    burned = sum(float(p.read_text()) for p in out.glob("burn-*"))
    # What each of the three pytest processes says it used at exit, summed (it leaves out only
    # the interpreter's last teardown; the burn is large beside that).
    expected = sum(float(p.read_text()) for p in out.glob("rusage-*"))
    assert len(list(out.glob("rusage-*"))) == 3
    assert burned >= 8.0
    assert abs(r.cpu_user_s + r.cpu_system_s - expected) <= 0.10 * expected


def test_serial_stays_serial_when_addopts_say_n(tmp_path: Path) -> None:
    target = suitekit.copy_suite("xdist_only", tmp_path)
    (target / "pytest.ini").write_text("[pytest]\naddopts = -n 2\n")
    serial = suitekit.run(target, tmp_path / "results")
    assert serial.workers_observed == 0 and serial.status == "passed"
    parallel = suitekit.run(target, tmp_path / "results", workers=2)
    assert parallel.workers_observed == 2 and parallel.outcome.errors == 1


def test_pytest_addopts_is_neutralised_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    target = suitekit.copy_suite("outcomes", tmp_path)
    r = suitekit.run(target, tmp_path / "results", markers="not slow")
    assert r.outcome.failed == 2  # -x would have stopped at the first failure
    assert r.ignored_env["PYTEST_ADDOPTS"] == "-x"
    assert "PYTEST_CURRENT_TEST" in r.ignored_env  # set by the pytest running this test
    assert "PYTEST_ADDOPTS" not in r.env


@pytest.mark.parametrize("setsid", [False, True], ids=["same-group", "own-session"])
def test_timeout_stops_the_whole_tree(tmp_path: Path, setsid: bool) -> None:
    target = suitekit.copy_suite("hang", tmp_path)
    pidfile = tmp_path / "grandchild.pid"
    env = {"BENCH_GRANDCHILD": str(pidfile)} | ({"BENCH_SETSID": "1"} if setsid else {})
    r = suitekit.run(target, tmp_path / "results", timeout_s=3, env=env)
    assert r.status == "timeout"
    assert "time limit" in (r.message or "")
    assert not suitekit.alive(int(pidfile.read_text()))
    assert suitekit.processes_in(target) == []
    assert r.wall_s >= 3


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_writes_the_result_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    target = suitekit.copy_suite("hang", tmp_path)
    pidfile = tmp_path / "grandchild.pid"
    out = tmp_path / "results"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchlib",
            "run",
            "serial-full",
            "--target",
            str(target),
            "--results",
            str(out),
        ],
        env=suitekit.env_without_pytest_vars() | {"BENCH_GRANDCHILD": str(pidfile)},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    [path] = results.find_result_files([out])  # not its trace
    data = suitekit.validate(path)
    assert data["status"] == "interrupted"
    assert not suitekit.alive(int(pidfile.read_text()))
    assert suitekit.processes_in(target) == []
    assert "result is in" in stderr


def test_log_keeps_pytest_output(tmp_path: Path) -> None:
    target = suitekit.copy_suite("outcomes", tmp_path)
    r = suitekit.run(target, tmp_path / "results", markers="not slow")
    log = (tmp_path / "results" / r.log_path).read_text()
    assert "one is not two" in log
    assert r.argv[1:3] == ("-m", "pytest")
    # The recorded arguments are what a user can copy: benchlib's own plugin is only in argv.
    assert r.argv[-2:] == ("-p", "benchlib_observer")
    assert "benchlib_observer" not in r.strategy.pytest_args
    assert r.argv[3:-2] == r.strategy.pytest_args
