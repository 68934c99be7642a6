"""Projects shaped like the trial's, benched as the README says: exit 0 and the right lines.

Each fixture under tests/suites is one shape: --strict-markers without a `unit` marker
(attrs), only a pytest.ini (more-itertools), a registered `slow` marker and a test extra, and
a project whose own test command measures coverage.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import suitekit

from benchlib.model import results

pytestmark = pytest.mark.integration
NOT_ALONE = "benchlib runs in the tests' own environment"


def bench(target: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return suitekit.benchlib("run", "--target", str(target), *args, **kw)  # type: ignore[arg-type]


def only_serial(target: Path, extra: str = "") -> Path:
    """Leave the gate out (an xdist run costs seconds): the lanes under test stay built-in."""
    with (target / "pyproject.toml").open("a") as f:
        f.write(f"\n[tool.benchlib]\nargs = ['-p', 'no:cacheprovider']\n{extra}")
        f.write("[tool.benchlib.strategies.gate]\nenabled = false\n")
    return target


def other_python(where: Path) -> Path:
    """Return a Python of another environment that sees this one's packages (no install)."""
    venv.create(where, with_pip=False)
    [lib] = (where / "lib").glob("python3*")
    (lib / "site-packages" / "here.pth").write_text(site.getsitepackages()[0] + "\n")
    return where / "bin" / "python"


def result_files(folder: Path) -> list[results.RunResult]:
    return [results.load(p) for p in results.find_result_files([folder])]


def test_strict_markers_without_unit_the_built_in_unit_lanes_are_not_applicable(
    tmp_path: Path,
) -> None:
    target = only_serial(suitekit.copy_suite("strict_nounit", tmp_path))
    proc = bench(target, "--summary")
    assert proc.returncode == 0, proc.stderr
    said = [ln for ln in proc.stderr.splitlines() if "not applicable" in ln]
    assert [ln.split(": ")[1] for ln in said] == ["not run", "not run"]
    assert "unit: not applicable here: -m 'unit'" in said[0] and "xdist-unit" in said[1]
    assert "--strict-markers makes that a usage error" in said[0]
    assert 'markers = ["unit: describe the tests marked unit"]' in said[0]
    out = target / "results"
    assert [r.strategy.name for r in result_files(out)] == ["serial-full"]
    md = (out / "summary.md").read_text().replace("\\", "")  # Markdown's escapes
    data = json.loads((out / "summary.json").read_text())
    page = (out / "report.html").read_text()
    assert md.count("not applicable here") == 2 and page.count("not applicable here") == 2
    left = [n["strategy"] for n in data["project"]["fit"]["not_applicable"]]
    assert left == ["unit", "xdist-unit"]
    # The bottom line for iteration: the property tests, the slow tail, proposed to mark.
    assert "Fast lane (proposal, not measured yet): mark the 3 slowest of 11 tests" in md
    assert "tests/test_props.py: every test is slow" in md


def test_a_declared_lane_that_cannot_work_stops_everything_before_it_runs(tmp_path: Path) -> None:
    target = suitekit.copy_suite("strict_nounit", tmp_path)
    proc = bench(target, "serial-full", "unit")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("benchlib: error: strategy 'unit' cannot work here: -m 'unit'")
    assert not (target / "results").exists() or result_files(target / "results") == []


def test_pytests_own_reason_is_in_the_result_and_the_summary(tmp_path: Path) -> None:
    target = only_serial(
        suitekit.copy_suite("strict_nounit", tmp_path),
        "[tool.benchlib.strategies.odd]\nargs = ['-m', 'nosuch']\ncompare_to = 'serial-full'\n",
    )
    proc = bench(target, "odd", "serial-full", "--summary")
    assert proc.returncode == 1, proc.stderr
    assert "warning: odd round 1: ERROR: Unknown marker(s) in '-m' expression: nosuch" in (
        proc.stderr
    )
    [odd] = [r for r in result_files(target / "results") if r.strategy.name == "odd"]
    assert odd.status == "usage-error"
    assert odd.message is not None
    assert odd.message.startswith("ERROR: Unknown marker(s) in '-m' expression: nosuch.")
    assert "Unknown marker(s) in '-m' expression: nosuch" in (
        target / "results" / "summary.md"
    ).read_text().replace("\\", "")


def test_only_a_pytest_ini_and_the_projects_own_interpreter(tmp_path: Path) -> None:
    target = suitekit.copy_suite("ini_only", tmp_path)
    python = other_python(target / ".venv")  # found by itself: the project's .venv
    listed = suitekit.benchlib("list", "--target", str(target))
    assert listed.returncode == 0, listed.stderr
    assert f"tests run with {python} (the project's .venv)" in listed.stderr
    assert "not run here: unit: not applicable here" in listed.stdout
    proc = bench(target, "--summary")
    assert proc.returncode == 0, proc.stderr
    assert NOT_ALONE not in proc.stderr
    runs = result_files(target / "results")
    assert {r.argv[0] for r in runs} == {str(python)}
    md = (target / "results" / "summary.md").read_text().replace("\\", "")
    assert "so no test carries it and the lane selects nothing" in md
    assert "'tests/test_things.py::test_slow_io'," in md  # the node id to mark slow
    assert not (target / "pyproject.toml").exists()


def test_an_active_virtualenv_is_the_projects_and_a_shared_one_is_said_once(
    tmp_path: Path,
) -> None:
    target = only_serial(suitekit.copy_suite("slow_extra", tmp_path))
    python = other_python(tmp_path / "env")
    env = {**os.environ, "VIRTUAL_ENV": str(tmp_path / "env")}
    proc = bench(target, "serial-full", "--python", sys.executable)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(NOT_ALONE) == 1
    assert "--python with the project's Python" in proc.stderr
    proc = bench(target, "serial-full", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"tests run with {python} (the active virtualenv, $VIRTUAL_ENV)" in proc.stderr
    assert NOT_ALONE not in proc.stderr


@pytest.mark.slow
def test_the_generated_noxfile_runs_with_nox_installed_alone(tmp_path: Path) -> None:
    """The README's set-up: `pip install nox`, `benchlib init`, `nox -s bench`."""
    nox_env = tmp_path / "nox-alone"
    venv.create(nox_env, with_pip=True)
    pip = subprocess.run(
        [nox_env / "bin" / "python", "-m", "pip", "install", "-q", "nox"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    target = suitekit.copy_suite("covered", tmp_path)
    init = suitekit.benchlib("init", "--target", str(target))
    assert init.returncode == 0, init.stderr
    env = {k: v for k, v in suitekit.env_without_pytest_vars().items() if k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(["/usr/bin", "/bin"])  # no benchlib on the way
    proc = subprocess.run(
        [nox_env / "bin" / "nox", "-s", "bench"],
        cwd=target, capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "Session bench was successful" in out
    runs = result_files(target / "results")
    assert sorted({r.strategy.name for r in runs}) == ["ci", "gate", "serial-full"]
    tests_python = str(target / ".nox" / "bench-tests" / "bin" / "python")
    assert {r.argv[0] for r in runs} == {tests_python}  # not benchlib's environment
    assert NOT_ALONE not in out
    md = (target / "results" / "summary.md").read_text().replace("\\", "")
    # Like for like: the gate measures ci's coverage; serial-full is labelled as giving it up.
    assert "serial-full gives up the coverage (pytest-cov) that ci measures" in md
    assert "gate gives up" not in md
