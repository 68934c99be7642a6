"""The command line on real processes: bad input, list, init, repeats, a custom project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from datetime import datetime
from pathlib import Path

import pytest
import suitekit

from benchlib.model import results

pytestmark = pytest.mark.integration


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("benchlib: error: ")
    for needle in needles:
        assert needle in line


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python with nothing installed: no pytest."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


@pytest.fixture(scope="module")
def pytest_only_python(bare_python: str) -> str:
    """A Python that has pytest (from this environment) but not pytest-xdist."""
    site = Path(bare_python).parent.parent / "lib"
    [site] = list(site.glob("python*/site-packages"))
    ours = Path(sysconfig.get_paths()["purelib"])
    keep = [p for p in ours.iterdir() if not p.name.lower().startswith(("xdist", "pytest_xdist"))]
    shim = site.parent.parent.parent / "shim"
    shim.mkdir()
    for p in keep:
        (shim / p.name).symlink_to(p)
    (site / "shim.pth").write_text(str(shim))
    return bare_python


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return suitekit.copy_suite("xdist_only", tmp_path)


def test_missing_target(tmp_path: Path) -> None:
    proc = suitekit.benchlib("run", "--target", str(tmp_path / "nope"))
    one_line_error(proc, "--target", "does not exist", "root folder")


def test_target_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    one_line_error(suitekit.benchlib("run", "--target", str(tmp_path / "f")), "is not a folder")


def test_interpreter_that_does_not_exist(target: Path, tmp_path: Path) -> None:
    proc = suitekit.benchlib("run", "--target", str(target), "--python", "/no/python3")
    one_line_error(proc, "--python '/no/python3' was not found")
    assert not (tmp_path / "results").exists()


def test_interpreter_without_pytest(target: Path, bare_python: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = suitekit.benchlib(
        "run", "--target", str(target), "--python", bare_python, "--results", str(out)
    )
    one_line_error(proc, "has no pytest", "-m pip install pytest")
    assert not out.exists()


def test_workers_without_xdist(target: Path, pytest_only_python: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = suitekit.benchlib(
        "run",
        "gate",
        "--target",
        str(target),
        "--python",
        pytest_only_python,
        "--results",
        str(out),
    )
    one_line_error(proc, "has no pytest-xdist", "--workers 0")
    assert list(out.glob("*.json")) == []
    serial = suitekit.benchlib(
        "run", "serial-full", "--target", str(target), "--python", pytest_only_python,
        "--results", str(out),
    )  # fmt: skip
    assert serial.returncode == 0, serial.stderr
    [path] = results.find_result_files([out])  # not its trace
    assert results.load(path).machine.versions["pytest-xdist"] is None


def test_unwritable_results_folder(target: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = suitekit.benchlib("run", "--target", str(target), "--results", str(blocker / "r"))
    one_line_error(proc, "--results", "is not writable")


def test_bad_marker_expression_in_config(target: Path) -> None:
    (target / "pyproject.toml").write_text("[tool.benchlib.strategies.unit]\nmarkers = 'a and'\n")
    one_line_error(suitekit.benchlib("run", "--target", str(target)), "-m expression 'a and'")


def test_unknown_strategy(target: Path) -> None:
    one_line_error(
        suitekit.benchlib("run", "nope", "--target", str(target)),
        "strategy 'nope' is not configured",
        "use one of: serial-full",
    )


def test_list_json(target: Path) -> None:
    proc = suitekit.benchlib("list", "--json", "--target", str(target))
    rows = json.loads(proc.stdout)
    assert [r["session"] for r in rows] == [
        "bench-serial-full", "bench-unit", "bench-xdist-unit", "bench-gate",
    ]  # fmt: skip


def test_repeat_runs_round_robin_and_summarizes(target: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.quick]\nkeyword = 'plain'\ncompare_to = 'serial-full'\n"
        "scope = 'subset'\n"
    )
    proc = suitekit.benchlib(
        "run", "serial-full", "quick", "--target", str(target), "--results", str(out),
        "--repeat", "3", "--warmup", "1", "--summary",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    runs = sorted(
        (results.load(p) for p in results.find_result_files([out])),
        key=lambda r: datetime.fromisoformat(r.started_at),
    )
    assert [r.strategy.name for r in runs] == ["serial-full", "quick"] * 4
    assert [r.round for r in runs] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [r.warmup for r in runs] == [True, True] + [False] * 6
    assert len({r.bench_id for r in runs}) == 1
    assert (out / "summary.md").exists()
    assert "quick" in (out / "summary.md").read_text()


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    first = suitekit.benchlib("init", "--target", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "(pyproject.toml is left as it is)" in first.stdout
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\nname = "x"\n'
    noxfile = (tmp_path / "noxfile.py").read_text()
    own = (tmp_path / "benchlib.toml").read_text()
    second = suitekit.benchlib("init", "--target", str(tmp_path))
    assert second.stdout.count("kept") == 2
    assert (tmp_path / "noxfile.py").read_text() == noxfile
    assert (tmp_path / "benchlib.toml").read_text() == own
    listed = suitekit.benchlib("list", "--target", str(tmp_path))
    assert listed.returncode == 0, listed.stderr


def test_summary_over_a_missing_folder(tmp_path: Path) -> None:
    proc = suitekit.benchlib("summary", str(tmp_path / "none"))
    one_line_error(proc, "does not exist")


def test_compare_exit_codes(tmp_path: Path) -> None:
    import factories

    base, cur = tmp_path / "base", tmp_path / "cur"
    for wall in (10.0, 10.1, 9.9, 10.05, 9.95):
        factories.write(factories.result(wall_s=wall), base)
        factories.write(factories.result(wall_s=wall), cur)
    ok = suitekit.benchlib("compare", str(base), str(cur))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    slow = tmp_path / "slow"
    for wall in (13.0, 13.1, 12.9, 13.05, 12.95):
        factories.write(factories.result(wall_s=wall), slow)
    regressed = suitekit.benchlib("compare", str(base), str(slow))
    assert regressed.returncode == 1, regressed.stdout
    bad = suitekit.benchlib("compare", str(base), str(slow), "--threshold", "lots")
    one_line_error(bad, "--threshold")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(suitekit.benchlib("compare", str(base), str(empty)), "no result files")
    # Budgets are the ones recorded in the current runs, not today's configuration.
    limited = tmp_path / "limited"
    for wall in (10.0, 10.1, 9.9, 10.05, 9.95):
        run = factories.result(wall_s=wall, strategy_kw={"budgets": {"max_wall_s": 5.0}})
        factories.write(run, limited)
    budget = suitekit.benchlib("compare", str(base), str(limited))
    assert budget.returncode == 1, budget.stdout
    assert "max_wall_s" in budget.stdout and "BROKEN" in budget.stdout
    other = tmp_path / "other"
    factories.write(factories.result("gate"), other)
    one_line_error(suitekit.benchlib("compare", str(base), str(other)), "on both sides")


def test_env_secrets_are_not_recorded(target: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = os.environ | {"AWS_SECRET_ACCESS_KEY": "hunter2", "CI": "true"}
    proc = suitekit.benchlib(
        "run", "serial-full", "--target", str(target), "--results", str(out), env=env
    )
    assert proc.returncode == 0, proc.stderr
    [path] = results.find_result_files([out])  # not its trace
    text = path.read_text()
    assert "hunter2" not in text
    assert results.load(path).env["CI"] == "true"
