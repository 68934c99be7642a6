"""The reliability lane, reading: result files lost, damaged or out of range, and the commands
that read them (compare, summary, trace, init), on real runs (issue 21)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import suitekit
from faultkit import (  # tree_token: autouse, the /proc scan after every case
    benchlib,
    copy_results,
    env,
    one_line_error,
    run_once,
    tree_token,  # noqa: F401
)

from benchlib.analyze import compare
from benchlib.plan.machine import usable_cpus

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]


@pytest.fixture(scope="module")
def markers_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The markers suite and a folder with one real serial-full and one real unit result."""
    root = tmp_path_factory.mktemp("markers-runs")
    target, out = suitekit.copy_suite("markers", root), root / "results"
    run_once(target, out, "serial-full", "unit")
    return target, out


# --- 6: the gate fails when the current side lost a strategy ---------------------------------


def _truncate(path: Path) -> str:
    path.write_bytes(path.read_bytes()[:200])
    return "not valid JSON"


def _newer(path: Path) -> str:
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 99}))
    return "schema version 99 is not supported"


def _nan(path: Path) -> str:
    path.write_text(json.dumps({**json.loads(path.read_text()), "wall_s": float("nan")}))
    return "wall_s"


def _folder(path: Path) -> str:
    path.unlink()
    path.mkdir()
    return "is a folder"


def _missing(path: Path) -> str:
    path.unlink()
    return compare.NO_FILE


@pytest.mark.parametrize("damage", [_truncate, _newer, _nan, _folder, _missing])
def test_06_a_strategy_lost_on_the_current_side_fails_the_gate(
    tmp_path: Path, markers_runs: tuple[Path, Path], damage: Callable[[Path], str]
) -> None:
    """6. The current unit result truncated, newer, NaN, a folder, or gone: exit 3, a line
    naming the strategy, the file and why; --allow-missing unit lets it pass."""
    _, runs = markers_runs
    base, current = tmp_path / "base", tmp_path / "current"
    copy_results(runs, base)
    [lost] = [p for p in copy_results(runs, current) if p.name.startswith("unit_")]
    why = damage(lost)
    proc = benchlib("compare", base, current)
    assert proc.returncode == compare.LOST_EXIT, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("  - unit: ")]
    assert why in line
    if damage is not _missing:
        assert str(lost) in line
    assert "result: 1 strategy(ies) lost on the current side: unit" in proc.stdout
    allowed = benchlib("compare", base, current, "--allow-missing", "unit")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "unit (allowed missing)" in allowed.stdout


def test_06_a_current_side_with_only_damaged_files_fails_as_lost(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """6. Every current file truncated: the gate names both lost strategies, exit 3."""
    _, runs = markers_runs
    base, current = tmp_path / "base", tmp_path / "current"
    copy_results(runs, base)
    for path in copy_results(runs, current):
        _truncate(path)
    proc = benchlib("compare", base, current)
    assert proc.returncode == compare.LOST_EXIT, proc.stdout + proc.stderr
    assert "lost on the current side: serial-full, unit" in proc.stdout


# --- 8: numbers out of range are skipped with one line ----------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("wall_s", -5), ("workers_observed", -3), ("started_at", "garbage"), ("cpu_user_s", 1e308)],
)
def test_08_a_number_out_of_range_is_skipped_naming_file_field_and_value(
    tmp_path: Path, markers_runs: tuple[Path, Path], key: str, value: object
) -> None:
    """8. summary skips the file with one line naming it, the field and the value."""
    _, runs = markers_runs
    folder = tmp_path / "runs"
    [bad, _] = copy_results(runs, folder)
    bad.write_text(json.dumps({**json.loads(bad.read_text()), key: value}))
    proc = benchlib("summary", folder)
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if str(bad) in x]
    assert line.startswith(f"benchlib: warning: skipped {bad}: ")
    assert f"{key} is {value!r}" in line
    assert "Traceback" not in proc.stderr
    trace = benchlib("trace", bad)
    assert trace.returncode == 2 and f"{key} is {value!r}" in trace.stderr


# --- 5 and 9: a scan whose every variant timed out; the variant as configured -----------------


def test_05_09_a_scan_with_no_finished_run_leaves_a_folder_that_still_summarizes(
    tmp_path: Path,
) -> None:
    """5. Every variant times out: scan, summary and run --summary end without a traceback.
    9. gate is -n auto: the configured variant is gate@nN (N usable CPUs), not gate@n0, and
    the scan says --workers 0 left it out."""
    target = suitekit.copy_suite("scan_tiny", tmp_path)
    out = tmp_path / "results"
    n = usable_cpus()
    scanned = benchlib("scan", "gate", "--target", target, "--results", out,
                       "--workers", "0", "--timeout", "0.3")  # fmt: skip
    assert "Traceback" not in scanned.stderr
    assert f"configured: gate@n{n}-load" in scanned.stdout
    assert f"(gate@n{n}-load), which --workers 0 left out" in scanned.stderr
    summ = benchlib("summary", out)
    assert summ.returncode == 0, summ.stderr
    assert "Traceback" not in summ.stderr
    run = benchlib("run", "serial-full", "--target", target, "--results", out, "--summary")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr


# --- 11: trace --out an existing folder -------------------------------------------------------


def test_11_trace_out_an_existing_folder_is_one_line(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    _, runs = markers_runs
    [result, _] = copy_results(runs, tmp_path / "runs")
    proc = benchlib("trace", result, "--out", tmp_path)
    one_line_error(proc, "--out", "is a folder")
    assert not list(tmp_path.glob(".*.tmp"))


# --- 10: init on a read-only project ----------------------------------------------------------


def _without_write_permission() -> None:
    """In the child: lose root's power to write where the mode forbids it (CAP_DAC_OVERRIDE)."""
    if os.geteuid() == 0:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: dropped at exec
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP


def _init(target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchlib", "init", "--target", str(target)],
        capture_output=True, text=True, env=env(), preexec_fn=_without_write_permission,
    )  # fmt: skip


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("writable", ["nothing", "pyproject", "folder"])
def test_10_init_on_a_read_only_project_is_one_line_and_changes_nothing(
    tmp_path: Path, writable: str
) -> None:
    """10. A read-only folder (its pyproject writable or not), or a read-only pyproject in a
    writable folder: one line, exit 2, and every file as it was."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (project / "pyproject.toml").chmod(0o644 if writable == "pyproject" else 0o444)
    project.chmod(0o755 if writable == "folder" else 0o555)
    before = _contents(project)
    try:
        proc = _init(project)
        if writable == "folder":
            # init writes benchlib.toml and never pyproject.toml: a read-only one is no matter.
            assert proc.returncode == 0, proc.stderr
            assert (project / "pyproject.toml").read_text() == "[project]\nname = 'p'\n"
            return
        one_line_error(proc, "cannot be written", "nothing was changed")
        assert _contents(project) == before
    finally:
        project.chmod(0o755)


# --- 7: two copies of one project -------------------------------------------------------------


def test_07_two_copies_of_one_project_compare_when_it_declares_its_name(tmp_path: Path) -> None:
    """7. Two copies without a git remote are two projects, said with both identities; with
    project = "markers" in [tool.benchlib] they are one, and compare judges them."""
    sides = {}
    for side in ("base", "current"):
        target = suitekit.copy_suite("markers", tmp_path / side)
        run_once(target, tmp_path / f"{side}-plain", "serial-full")
        (target / "pyproject.toml").write_text('[tool.benchlib]\nproject = "markers"\n')
        run_once(target, tmp_path / f"{side}-named", "serial-full")
        sides[side] = target
    plain = benchlib("compare", tmp_path / "base-plain", tmp_path / "current-plain")
    line = one_line_error(plain, "different projects", 'project = "NAME"')
    assert f"base: {sides['base']}; current: {sides['current']}" in line
    named = benchlib("compare", tmp_path / "base-named", tmp_path / "current-named")
    assert named.returncode in (0, 1), named.stdout + named.stderr
    assert "serial-full" in named.stdout and "result: " in named.stdout


# --- 4: a scan of a strategy of steps or shards -----------------------------------------------


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('steps = [{ markers = "not serial", workers = 2 }, { markers = "serial" }]', "2 steps"),
        ("shards = 2", "2 shards"),
    ],
)
def test_04_a_scan_of_a_composite_strategy_is_refused_in_one_line(
    tmp_path: Path, table: str, said: str
) -> None:
    """4. It ran the whole selection with -n 2, the serial step's tests under xdist."""
    target = suitekit.copy_suite("shards", tmp_path)
    (target / "pyproject.toml").write_text(f"[tool.benchlib.strategies.ci]\n{table}\n")
    out = tmp_path / "results"
    proc = benchlib("scan", "ci", "--target", target, "--results", out, "--workers", "0,2")
    one_line_error(proc, "strategy 'ci'", said)
    assert not out.exists() or not list(out.glob("*.json"))


# --- 14: list, junk files, suites whose every test is skipped ---------------------------------


def test_14_list_requires_an_expression_given_twice_once(tmp_path: Path) -> None:
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(
        '[tool.benchlib]\nmarkers = "not network"\nargs = ["-m", "not network"]\n'
        '[tool.benchlib.strategies.lane]\nmarkers = "not network"\n'
    )
    proc = benchlib("list", "--target", target)
    assert proc.returncode == 0, proc.stderr
    [lane] = [line for line in proc.stdout.splitlines() if line.startswith("lane ")]
    assert "-m 'not network'" in lane
    assert "and" not in lane
