"""The project's own pytest asked how it is set up, in its interpreter, before anything runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from suitekit import copy_suite

from benchlib.plan import probe

integration = pytest.mark.integration


def ask(target: Path, *args: str) -> probe.ProjectProbe:
    return probe.probe(sys.executable, target, args)


@integration
def test_strict_markers_and_no_unit_marker(tmp_path: Path) -> None:
    found = ask(copy_suite("strict_nounit", tmp_path))
    assert found.ok and found.error is None
    assert found.strict_markers
    assert "network" in found.markers and not found.has_marker("unit")
    assert found.ini_addopts == ("--strict-markers", "-ra")
    assert found.inifile is not None and found.inifile.endswith("pyproject.toml")
    assert found.python_version == ".".join(map(str, sys.version_info[:3]))


@integration
def test_only_a_pytest_ini(tmp_path: Path) -> None:
    target = copy_suite("ini_only", tmp_path)
    found = ask(target)
    assert found.inifile == str(target / "pytest.ini")
    assert not found.strict_markers and found.testpaths == ("tests",)
    assert found.unregistered(["unit", "slow"]) == ("slow", "unit")
    # Nothing is collected or written: the project stays as it was.
    assert sorted(p.name for p in target.iterdir()) == ["pytest.ini", "tests"]


@integration
def test_plugins_xdist_and_coverage(tmp_path: Path) -> None:
    target = copy_suite("covered", tmp_path)
    found = ask(target, "--cov=covpkg")
    assert found.xdist_loaded and found.has_plugin("pytest-xdist")
    assert found.has_plugin("pytest_cov")
    assert found.coverage == probe.Coverage("pytest-cov", ("covpkg",), branch=True)
    assert not (target / ".coverage").exists()
    assert ask(target).coverage is None  # its tox.ini measures coverage, pytest alone does not


@integration
def test_addopts_from_the_environment_and_autoload_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = copy_suite("ini_only", tmp_path)
    monkeypatch.setenv("PYTEST_ADDOPTS", "--cov --cov-branch")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    found = ask(target, "-p", "pytest_cov")
    assert found.env_addopts == ("--cov", "--cov-branch")
    assert found.addopts[-2:] == found.env_addopts
    assert found.autoload_disabled and not found.xdist_loaded
    assert found.xdist_version is not None  # installed, not loaded
    assert [p.distribution for p in found.plugins] == ["pytest-cov"]
    assert found.coverage == probe.Coverage("pytest-cov", ("",), branch=True)


@integration
def test_a_usage_error_is_pytests_own_reason(tmp_path: Path) -> None:
    found = ask(copy_suite("ini_only", tmp_path), "--no-such-option")
    assert found.exit_code == 4 and not found.ok
    assert found.error == "ERROR: unrecognized arguments: --no-such-option"


@integration
def test_answers_are_cached_per_process(tmp_path: Path) -> None:
    target = copy_suite("ini_only", tmp_path)
    assert ask(target) is ask(target)
    assert ask(target, "-q") is not ask(target)


@integration
def test_an_interpreter_without_pytest_is_an_input_error(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    import venv as venvlib

    venvlib.create(venv, with_pip=False)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    with pytest.raises(probe.InputError, match="has no pytest"):
        probe.probe(str(python), tmp_path)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (
            "ERROR: usage: pytest [options]\npytest: error: unrecognized arguments: --cov\n",
            "ERROR: unrecognized arguments: --cov",
        ),
        (
            "ERROR: Unknown marker(s) in '-m' expression: unit. Use 'pytest --markers' ...\n",
            "ERROR: Unknown marker(s) in '-m' expression: unit. Use 'pytest --markers' ...",
        ),
        (
            "INTERNALERROR> Traceback\nINTERNALERROR>   File x\nINTERNALERROR> KeyError: 'x'\n",
            "INTERNALERROR> KeyError: 'x'",
        ),
        ("3 passed in 0.1s\n", None),
    ],
)
def test_pytest_reason(output: str, reason: str | None) -> None:
    assert probe.pytest_reason(output) == reason
