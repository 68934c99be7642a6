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
import re
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
    assert re.match(r"benchlib( \w+)?: error: ", line), line  # argparse names the command
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


def test_15_17_results_go_where_the_target_says_from_any_folder(tmp_path: Path) -> None:
    """15-17. From another folder: config `results` and `python` are relative to the target,
    --results to the current folder; `init` ignores the configured results folder."""
    project = _project_with_venv(tmp_path)
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


# --- real result files, shared by the cases that read them -------------------------------------


def _run_once(target: Path, out: Path, *names: str) -> None:
    """Run strategies in a module fixture: its own token, scanned like a case's."""
    token = uuid.uuid4().hex
    proc = suitekit.benchlib(
        "run", *names, "--target", str(target), "--results", str(out),
        env=env(**{TOKEN_VAR: token}),
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    assert token_holders(token) == {}


@pytest.fixture(scope="module")
def markers_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The markers suite and a folder with one real serial-full and one real unit result."""
    root = tmp_path_factory.mktemp("markers-runs")
    target, out = suitekit.copy_suite("markers", root), root / "results"
    _run_once(target, out, "serial-full", "unit")
    return target, out


def copy_results(source: Path, dest: Path, *strategies: str) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in result_files(source):
        if not strategies or suitekit.validate(path)["strategy"]["name"] in strategies:
            copied.append(dest / path.name)
            copied[-1].write_bytes(path.read_bytes())
    return copied


# --- 4, 9, 10, 13: reading and writing summaries ----------------------------------------------


def test_04_compare_with_no_strategy_in_common_exits_2(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """4. compare of two real result sets that share no strategy: one line, exit 2."""
    _, runs = markers_runs
    copy_results(runs, tmp_path / "base", "serial-full")
    copy_results(runs, tmp_path / "current", "unit")
    proc = benchlib("compare", tmp_path / "base", tmp_path / "current")
    one_line_error(proc, "on both sides")


@pytest.mark.parametrize(("key", "value"), [("wall_s", "fast"), ("tests", "nope")])
def test_09_a_file_with_wrong_types_is_skipped_by_name(
    tmp_path: Path, markers_runs: tuple[Path, Path], key: str, value: str
) -> None:
    """9. "wall_s": "fast" or "tests": "nope": summary and compare skip it, naming it."""
    _, runs = markers_runs
    base, current = tmp_path / "base", tmp_path / "current"
    copy_results(runs, current)
    [good, _] = copy_results(runs, base)
    bad = base / f"bad-{good.name}"
    data = json.loads(good.read_text())
    bad.write_text(json.dumps({**data, key: value}))
    summ = benchlib("summary", base, "--out", tmp_path / "report")
    assert summ.returncode == 0, summ.stderr
    assert f"benchlib: warning: skipped {bad}" in summ.stderr and key in summ.stderr
    assert "Traceback" not in summ.stderr
    assert bad.name in (tmp_path / "report" / "summary.md").read_text()  # Skipped Files
    cmp = benchlib("compare", base, current)
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr  # the same runs on both sides
    assert f"benchlib: warning: skipped {bad}" in cmp.stderr
    assert "Traceback" not in cmp.stderr


def _without_write_permission() -> None:
    """In the child: lose root's power to write where the mode forbids it (CAP_DAC_OVERRIDE)."""
    if os.geteuid() == 0:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: dropped at exec
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP


def test_10_summary_out_errors_are_one_line_and_step_summary_only_warns(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """10. --out an existing file or a read-only folder: one line, exit 2. GITHUB_STEP_SUMMARY
    a folder, or in a missing folder: a warning, and the summary written all the same."""
    _, runs = markers_runs
    afile = tmp_path / "afile"
    afile.write_text("")
    one_line_error(benchlib("summary", runs, "--out", afile), "--out", "cannot hold the summary")
    readonly = tmp_path / "readonly"
    readonly.mkdir(mode=0o555)
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "summary", str(runs), "--out", str(readonly)],
        capture_output=True, text=True, env=env(), preexec_fn=_without_write_permission,
    )  # fmt: skip
    one_line_error(proc, "--out", "Permission denied")
    assert list(readonly.iterdir()) == []
    for step in (tmp_path / "a-folder", tmp_path / "missing" / "step.md"):
        if step.name == "a-folder":
            step.mkdir()
        out = tmp_path / f"out-{step.name}"
        proc = benchlib("summary", runs, "--out", out, GITHUB_STEP_SUMMARY=str(step))
        assert proc.returncode == 0, proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"benchlib: warning: GITHUB_STEP_SUMMARY '{step}' cannot be")
        assert "Traceback" not in proc.stderr
        assert "serial-full" in (out / "summary.md").read_text()


def test_13_summary_of_no_result_files_exits_2(tmp_path: Path) -> None:
    """13. A summary over zero result files is an error (exit 2, one line), as compare's is."""
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(benchlib("summary", empty), "no result files in")
    assert not (empty / "summary.md").exists()


# --- 14, 21: hostile text in a real run's report ------------------------------------------------

HOSTILE_DESCRIPTION = "<img src=x onerror=alert(1)> <b>bold</b> [link](http://evil)"


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile suite: a baseline that passes, and a full lane that fails every test."""
    root = tmp_path_factory.mktemp("hostile-runs")
    target, out = suitekit.copy_suite("hostile", root), root / "results"
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.evil]\n"
        f"description = {json.dumps(HOSTILE_DESCRIPTION)}\n"
        "env = { BENCH_HOSTILE = '1' }\ncompare_to = 'serial-full'\n"
    )
    _run_once(target, out, "serial-full", "evil")
    proc = suitekit.benchlib("summary", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def _outside_code(line: str) -> str:
    """Return a line of Markdown with its code spans blanked: the part that renders as markup."""
    kept, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            kept.append(line[i : i + 2])  # an escaped character is text
            i += 2
            continue
        if line[i] != "`":
            kept.append(line[i])
            i += 1
            continue
        n = len(line[i:]) - len(line[i:].lstrip("`"))
        j = i + n
        while j < len(line):  # the span closes at the next run of exactly n backticks
            m = len(line[j:]) - len(line[j:].lstrip("`"))
            if m == n:
                break
            j += m or 1
        if j < len(line):
            kept.append(" ")
            i = j + n
        else:
            kept.append("`" * n)  # never closed: literal backticks
            i += n
    return "".join(kept)


def markup(markdown: str) -> str:
    """Return the Markdown without fenced blocks and code spans (CommonMark's literal text)."""
    lines, fence = [], ""
    for line in markdown.splitlines():
        if fence:
            fence = "" if line.strip() == fence else fence
        elif line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        else:
            lines.append(_outside_code(line))
    return "\n".join(lines)


def test_14_hostile_messages_ids_and_descriptions_render_as_text(hostile_runs: Path) -> None:
    """14. <script>, <img onerror>, <b>, [link](...), a backtick in an id: text in summary.md."""
    md = (hostile_runs / "summary.md").read_text()
    rendered = markup(md)
    # No HTML tag and no link of the suite's making outside code spans.
    assert "<" not in rendered
    assert "](http://evil)" not in rendered and "[link]" not in rendered.replace("\\[link\\]", "")
    # Each payload is there, shown as text: in the heading, the new failures, the instability
    # table and the failed run's list.
    assert "## Strategy 1: `evil` (&lt;img src=x onerror=alert\\(1\\)&gt; &lt;b&gt;bold" in md
    for escaped in (
        "&lt;script&gt;alert\\(1\\)&lt;/script&gt;",
        "&lt;img src=x onerror=alert\\(1\\)&gt;",
        "&lt;b&gt;bold&lt;/b&gt;",
        "\\[link\\]\\(http://evil\\)",
        "a \\| pipe in a table cell",
    ):
        assert md.count(escaped) >= 2, escaped  # instability table and the failed run's list
    backtick_id = "``test_hostile.py::test_backtick_id[tick`s]``"
    new_failures = md.split("New failures")[1].split("Tradeoffs")[0]
    assert f"- {backtick_id}" in new_failures
    table = [x for x in md.splitlines() if x.startswith("| `") and "test_hostile.py::" in x]
    assert len(table) == 7 and all(line.count(" | ") == 3 for line in table)  # 4 cells each


def test_21_a_whole_argv_as_first_line_is_cut_in_the_middle(hostile_runs: Path) -> None:
    """21. A CalledProcessError's first line (an argv of hundreds of characters): the report
    cuts it in the middle at 160 characters, the result file keeps all of it."""
    runs = map(suitekit.validate, result_files(hostile_runs))
    [evil] = [d for d in runs if d["strategy"]["name"] == "evil"]
    rows = {r[0]: dict(zip(evil["test_fields"], r, strict=False)) for r in evil["tests"]}
    full = rows["test_hostile.py::test_long_command"]["message"]
    assert len(full) > 300 and full.endswith("returned non-zero exit status 3.")
    md = (hostile_runs / "summary.md").read_text()
    [line] = [x for x in md.splitlines() if x.startswith("| `test_hostile.py::test_long_command")]
    shown = line.rsplit(" | ", 1)[1].rstrip(" |")
    assert "\N{HORIZONTAL ELLIPSIS}" in shown
    assert shown.startswith("CalledProcessError: Command") or "Command" in shown[:40]
    assert shown.replace("\\", "").endswith("returned non-zero exit status 3.")
    assert len(shown.replace("\\", "")) <= 160


def test_21_subtests_are_counted(tmp_path: Path) -> None:
    """21. pytest 9's subtests fixture: passed subtests counted as pytest counts them (only
    when its subtests verbosity is on), a failed one fails its test."""
    target = suitekit.copy_suite("subtests", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.verbose]\nargs = ['-o', 'verbosity_subtests=1']\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "verbose", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    by_name = {d["strategy"]["name"]: d for d in map(suitekit.validate, result_files(out))}
    for name, subtests in (("serial-full", 0), ("verbose", 3)):
        data = by_name[name]
        reported = suitekit.pytest_summary(out / data["log_path"])
        assert data["outcome"]["subtests_passed"] == reported.get("subtests", 0) == subtests
        assert data["outcome"]["failed"] == reported["failed"] == 2  # the subtest and its test
        assert data["outcome"]["passed"] == reported["passed"] == 1
        rows = {r[0]: dict(zip(data["test_fields"], r, strict=False)) for r in data["tests"]}
        failed = rows["test_subtests.py::test_with_subtests"]
        assert (failed["outcome"], failed["phase"]) == ("failed", "call")
        assert "subtest failed on purpose" in failed["message"]


# --- 16, 18: what a real summary says -----------------------------------------------------------


def test_16_run_summary_never_narrows_a_fuller_report(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """16. `run unit --summary` after a serial-full run: summary.md still has serial-full."""
    target, runs = markers_runs
    out = tmp_path / "results"
    copy_results(runs, out, "serial-full")
    proc = benchlib("run", "unit", "--summary", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    md = (out / "summary.md").read_text()
    assert "## Baseline (Before)\n\n- Strategy: `serial-full`" in md
    assert "## Strategy 1: `unit`" in md
    facts = json.loads((out / "summary.json").read_text())
    assert [s["name"] for s in facts["strategies"]] == ["serial-full", "unit"]


def test_18_report_details_and_file_modes(tmp_path: Path) -> None:
    """18. Evidence from round 1, no 0.00s rows, no observer plugin in commands, the same
    verdict in the terminal and summary.md, collection errors as such, files honour the umask."""
    target = suitekit.copy_suite("broken_collection", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.broken]\nenv = { BENCH_BREAK = '1' }\n"
        "compare_to = 'serial-full'\n"
        "[tool.benchlib.strategies.fine]\nkeyword = 'fine'\ncompare_to = 'serial-full'\n"
    )
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "run", "serial-full", "fine", "broken", "--target",
         str(target), "--results", str(out), "--summary"],
        capture_output=True, text=True, env=env(), preexec_fn=lambda: os.umask(0o027),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the collection error is an error of the run
    by_name = {d["strategy"]["name"]: d for d in map(suitekit.validate, result_files(out))}
    broken = by_name["broken"]
    assert (broken["status"], broken["exit_code"]) == ("collection-error", 2)
    for path in [*result_files(out), out / "summary.md", out / "summary.json"]:
        assert path.stat().st_mode & 0o777 == 0o640, path
    for log in (out / "logs").glob("*.log"):
        assert log.stat().st_mode & 0o777 == 0o640, log
    md = (out / "summary.md").read_text()
    assert "benchlib_observer" not in md
    assert "| 0.00s | `" not in md  # no slowest-test row of nothing
    rounds = [line for line in md.split("## Experiment Evidence")[1].splitlines() if line]
    assert len(rounds) == 3 and all("round 1," in line for line in rounds)
    facts = json.loads((out / "summary.json").read_text())
    [fine] = [s for s in facts["strategies"] if s["name"] == "fine"]
    verdict = fine["comparison"]["verdict_text"]
    assert f"- Speedup: {verdict}" in md
    [row] = [line for line in proc.stdout.splitlines() if line.startswith("fine ")]
    assert row.endswith(verdict)


# --- 5, 11, 12, 13, 19, 20: configuration and options -------------------------------------------


def ran(data: dict[str, Any]) -> set[str]:
    return {row[0].split("::")[1] for row in data["tests"]}


def test_05_shared_markers_and_a_strategys_markers_are_both_applied(tmp_path: Path) -> None:
    """5. args = ["-m", "not network"] and unit's markers: pytest gets both, combined."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text("[tool.benchlib]\nargs = ['-m', 'not network']\n")
    out = tmp_path / "results"
    proc = benchlib("run", "unit", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    data = one_result(out)
    args = data["strategy"]["pytest_args"]
    assert args[args.index("-m") + 1] == "(not network) and (unit)"
    assert args.count("-m") == 1  # pytest keeps only the last -m it is given
    assert ran(data) == {"test_unit", "test_unit_slow_keyword"}


@pytest.mark.parametrize(
    "toml",
    [
        "[tool.benchlib]\ntimeout_s = inf\n",
        "[tool.benchlib]\ninterval_s = nan\n",
        "[tool.benchlib]\ntimeout_s = 1e300\n",
        "[tool.benchlib.strategies.unit]\ntimeout_s = -inf\n",
    ],
    ids=["timeout-inf", "interval-nan", "timeout-1e300", "strategy-timeout-minus-inf"],
)
def test_11_infinite_or_huge_seconds_in_config_are_one_line_errors(
    tmp_path: Path, toml: str
) -> None:
    """11. timeout_s = inf (and its kin) in the config: one line naming the key, exit 2."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(toml)
    key = toml.splitlines()[1].split(" =")[0]
    line = one_line_error(benchlib("run", "--target", target), key, "is not valid")
    assert "seconds > 0" in line
    assert not (target / "results").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--timeout", "nan"), ("--interval", "nan"), ("--workers", "-1"), ("--timeout", "-3"),
        ("--interval", "-1"), ("--timeout", "0"), ("--warmup", "-1"), ("--budget", "-5"),
        ("--width", "0"), ("--timeout", "inf"), ("--interval", "1e400"), ("--workers", "2.5"),
    ],
)  # fmt: skip
def test_12_13_bad_numbers_are_refused_before_anything_runs(
    tmp_path: Path, args: tuple[str, str]
) -> None:
    """12, 13. Values that would make a result file fail its schema are refused: one line."""
    target = suitekit.copy_suite("markers", tmp_path)
    proc = benchlib("run", "serial-full", *args, "--target", target)
    one_line_error(proc, f"argument {args[0]}: {args[1]!r} is not valid")
    assert not (target / "results").exists()


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[tool.benchlib.strategies.""]\nworkers = 0\n', "is not a usable strategy name"),
        ("[tool.benchlib.strategies.gate]\ndist = 'bogus'\n", "an xdist --dist mode"),
    ],
    ids=["empty-name", "bogus-dist"],
)
def test_12_13_bad_strategies_are_refused_by_config(tmp_path: Path, toml: str, needle: str) -> None:
    """12, 13. A strategy named "" and dist = "bogus": refused before anything runs."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(toml)
    one_line_error(benchlib("run", "--target", target), needle)
    one_line_error(benchlib("list", "--target", target), needle)
    assert not (target / "results").exists()


def test_19_xdist_unit_follows_units_markers(tmp_path: Path) -> None:
    """19. Overriding unit's markers carries over to xdist-unit (like = "unit")."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text("[tool.benchlib.strategies.unit]\nmarkers = 'fast'\n")
    listed = json.loads(benchlib("list", "--json", "--target", target).stdout)
    by_name = {s["name"]: s for s in listed}
    assert by_name["xdist-unit"]["markers"] == "fast"
    assert not any("-m" in s["description"] for s in listed)  # no stale expression in words
    out = tmp_path / "results"
    proc = benchlib("run", "xdist-unit", "--workers", "2", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    data = one_result(out)
    assert ran(data) == {"test_fast"} and data["workers_observed"] == 2


def test_20_top_level_selection_and_list(tmp_path: Path) -> None:
    """20. Top-level markers, keyword, deselect; list shows paths, -m/-k/--deselect from args,
    per-strategy timeouts, in aligned columns."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib]\npaths = ['test_markers.py']\nargs = ['-k', 'not slow_keyword']\n"
        "markers = 'not network'\ndeselect = ['test_markers.py::test_plain']\ntimeout_s = 30\n"
        "[tool.benchlib.strategies.gate]\ntimeout_s = 10\n"
    )
    listed = benchlib("list", "--target", target)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "test_markers.py -m '(not network) and (unit)' -k 'not slow_keyword'" in rows["unit"]
    assert "--deselect=test_markers.py::test_plain" in rows["unit"]
    assert "-m 'not network'" in rows["serial-full"]
    assert " 10s " in rows["gate"] and " 30s " in rows["serial-full"]
    for header in ("workers", "selects", "compared to", "timeout", "description"):
        column = lines[0].index(header)
        assert all(line[column - 2 : column] == "  " for line in lines), header
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    assert ran(one_result(out)) == {"test_unit", "test_fast"}
