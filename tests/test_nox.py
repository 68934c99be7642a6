"""Nox as the interface: generated sessions, the CI matrix, no overlap, another project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import factories
import pytest
import suitekit

from benchlib import pipeline
from benchlib.model import results

# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
NOXFILE = ROOT / "noxfile.py"


def nox(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", "--noxfile", str(NOXFILE), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=suitekit.env_without_pytest_vars(),
    )


def test_ci_matrix_has_one_job_per_strategy() -> None:
    # The same command .github/workflows/bench.yml builds its matrix from.
    listed = nox("-l", "--json", "-t", "benchlib-strategy")
    assert listed.returncode == 0, listed.stderr
    sessions = [s["session"] for s in json.loads(listed.stdout)]
    strategies = json.loads(suitekit.benchlib("list", "--json", cwd=ROOT).stdout)
    assert sessions == [f"bench-{s['name']}" for s in strategies]
    assert all("benchlib-strategy" in s["tags"] for s in json.loads(listed.stdout))


def test_summary_merges_artifacts_from_separate_folders(tmp_path: Path) -> None:
    # What the merge job sees: one folder per downloaded artifact.
    for name, wall in (("serial-full", 20.0), ("unit", 10.0)):
        kw = {"compare_to": "serial-full", "scope": "subset"} if name == "unit" else {}
        factories.write(factories.result(name, wall_s=wall, strategy_kw=kw), tmp_path / name)
    s = pipeline.summarize([tmp_path])
    assert {st.name for st in s.strategies} == {"serial-full", "unit"}


def test_bench_runs_refuse_to_overlap(tmp_path: Path) -> None:
    target = suitekit.copy_suite("hang", tmp_path)
    out = tmp_path / "out"
    first = subprocess.Popen(
        [sys.executable, "-m", "benchlib", "run", "serial-full", "--target", str(target),
         "--results", str(out), "--timeout", "60"],
        stderr=subprocess.PIPE,
        env=suitekit.env_without_pytest_vars(),
    )  # fmt: skip
    try:
        lock = out / ".benchlib.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = suitekit.benchlib(
            "run", "serial-full", "--target", str(target), "--results", str(out)
        )
        assert second.returncode == 2
        assert f"another benchlib run (pid {first.pid})" in second.stderr
    finally:
        first.send_signal(2)
        first.communicate(timeout=60)


def test_another_project_through_nox_and_cli(tmp_path: Path) -> None:
    project = suitekit.copy_suite("xdist_only", tmp_path)
    (project / "pyproject.toml").write_text(
        "[tool.benchlib]\nargs = ['-q']\n"
        "[tool.benchlib.strategies.plain-only]\n"
        "description = 'Only the plain test'\nkeyword = 'plain'\n"
        "compare_to = 'serial-full'\nscope = 'subset'\n"
        "[tool.benchlib.strategies.unit]\nenabled = false\n"
        "[tool.benchlib.strategies.xdist-unit]\nenabled = false\n"
    )
    out = tmp_path / "results"
    bench = nox(
        "-s", "bench", "--envdir", str(tmp_path / "envs"), "--",
        "--target", str(project), "--results", str(out),
    )  # fmt: skip
    assert bench.returncode == 0, bench.stdout + bench.stderr
    runs = [results.load(p) for p in results.find_result_files([out])]
    assert sorted(r.strategy.name for r in runs) == ["gate", "plain-only", "serial-full"]
    assert {r.target.path for r in runs} == {str(project)}
    md = (out / "summary.md").read_text()
    assert "plain-only" in md
    assert "test_reads_marker" in md  # errors in teardown under xdist only: instability
    cli = suitekit.benchlib("run", "plain-only", "--target", str(project), "--results", str(out))
    assert cli.returncode == 0, cli.stderr
    assert len(list(out.glob("plain-only_*[0-9].json"))) == 2  # and their traces
    shutil.rmtree(tmp_path / "envs")
