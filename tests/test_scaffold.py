"""`benchlib init`: how it installs benchlib, what it ignores, which Python it picks."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
import suitekit

from benchlib.cli import scaffold
from benchlib.plan import config

unit = pytest.mark.unit
integration = pytest.mark.integration


def dist(
    tmp_path: Path, direct_url: dict[str, object] | str | None
) -> importlib.metadata.Distribution:
    """Write a real dist-info folder, as pip leaves it, with or without direct_url.json."""
    info = tmp_path / "benchlib-9.8.7.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: benchlib\nVersion: 9.8.7\n")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (info / "direct_url.json").write_text(text)
    return importlib.metadata.PathDistribution(info)


def init(target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchlib", "init", "--target", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@unit
@pytest.mark.parametrize(
    ("direct_url", "install_args"),
    [
        ({"url": "file:///src/bl", "dir_info": {"editable": True}}, ("-e", "/src/bl")),
        ({"url": "file:///src/b%20l", "dir_info": {}}, ("/src/b l",)),
        (
            {
                "url": "https://github.com/o/benchlib.git",
                "vcs_info": {"vcs": "git", "commit_id": "a" * 40, "requested_revision": "main"},
            },
            (f"git+https://github.com/o/benchlib.git@{'a' * 40}",),
        ),
        (
            {
                "url": "https://example.org/benchlib-9.8.7.tar.gz",
                "archive_info": {"hashes": {"sha256": "0" * 64}},
            },
            ("https://example.org/benchlib-9.8.7.tar.gz",),
        ),
        (None, ("benchlib==9.8.7",)),  # PEP 610: an index install writes no direct_url.json
    ],
)
def test_origin_follows_direct_url_json(
    tmp_path: Path, direct_url: dict[str, object] | None, install_args: tuple[str, ...]
) -> None:
    origin = scaffold.install_origin(dist(tmp_path, direct_url))
    assert origin.install_args == install_args
    assert origin.note is None


@unit
@pytest.mark.parametrize("text", ["{not json", '{"dir_info": {}}', '{"url": "x", "vcs_info": {}}'])
def test_an_unreadable_origin_says_what_to_edit(tmp_path: Path, text: str) -> None:
    origin = scaffold.install_origin(dist(tmp_path, text))
    assert origin.install_args == ("benchlib",)
    assert origin.note is not None and origin.note.startswith("edit: how to install benchlib")


@integration
def test_noxfile_installs_benchlib_from_one_relative_editable_line(tmp_path: Path) -> None:
    direct = json.loads(
        importlib.metadata.distribution("benchlib").read_text("direct_url.json") or "{}"
    )
    if not direct.get("dir_info", {}).get("editable"):
        pytest.skip("this check expects benchlib installed editable (pip install -e)")
    source = url2pathname(urlsplit(direct["url"]).path)
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    noxfile = (tmp_path / "noxfile.py").read_text()
    relative = Path(os.path.relpath(source, tmp_path)).as_posix()
    assert f'\nBENCHLIB = ["-e", "{relative}"]\n' in noxfile
    assert f'"{source}"' not in noxfile  # never an absolute path of this machine unless asked
    assert "# ///" not in noxfile and "import benchlib" not in noxfile  # nox alone loads it
    asked = tmp_path / "asked"
    asked.mkdir()
    subprocess.run(
        [sys.executable, "-m", "benchlib", "init", "--target", str(asked),
         "--benchlib", "git+https://example.org/benchlib@v1"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (
        '\nBENCHLIB = ["git+https://example.org/benchlib@v1"]\n'
        in (asked / "noxfile.py").read_text()
    )


@integration
def test_the_written_noxfile_lists_its_sessions_where_only_nox_is(tmp_path: Path) -> None:
    assert init(tmp_path).returncode == 0
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    sessions = [ln.split()[1] for ln in listed.stdout.splitlines() if ln[:2] in ("* ", "- ")]
    assert sessions == ["bench", "bench-list", "summary"]


@integration
def test_gitignore_is_created(tmp_path: Path) -> None:
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".gitignore").read_text() == "/results/\n/.nox/\n"


@integration
def test_gitignore_gets_only_the_missing_lines_and_never_twice(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc\nresults/")  # no final newline
    assert init(tmp_path).returncode == 0
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\nresults/\n/.nox/\n"
    again = init(tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\nresults/\n/.nox/\n"
    assert "already ignores" in again.stdout


@integration
def test_gitignore_follows_a_configured_results_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.benchlib]\nresults = "out/bench"\n')
    assert init(tmp_path).returncode == 0
    assert (tmp_path / ".gitignore").read_text() == "/out/bench/\n/.nox/\n"


@integration
def test_git_stays_clean_after_results_and_nox_appear(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True
        ).stdout

    try:
        git("init", "-q")
    except OSError:
        pytest.skip("git is not installed")
    assert init(tmp_path).returncode == 0
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run.json").write_text("{}")
    (tmp_path / ".nox" / "bench").mkdir(parents=True)
    assert git("status", "--porcelain") == ""


@integration
def test_an_existing_venv_becomes_the_python(tmp_path: Path) -> None:
    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '\npython = ".venv/bin/python"' in (tmp_path / "benchlib.toml").read_text()
    assert '\nPYTHON = ".venv/bin/python"\n' in (tmp_path / "noxfile.py").read_text()
    assert config.load(tmp_path).python == ".venv/bin/python"


@integration
def test_no_pyproject_toml_is_created(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    assert init(tmp_path).returncode == 0
    assert not (tmp_path / "pyproject.toml").exists()
    assert config.load(tmp_path).python is None
    assert config.load(tmp_path).source == tmp_path / "benchlib.toml"
    assert "# python = " in (tmp_path / "benchlib.toml").read_text()
    assert (
        '\nTESTS_INSTALL = ["-e", ".", "pytest", "pytest-xdist"]\n'
        in (tmp_path / "noxfile.py").read_text()
    )


@integration
def test_the_test_extra_goes_into_the_tests_venv(tmp_path: Path) -> None:
    target = suitekit.copy_suite("slow_extra", tmp_path)
    before = (target / "pyproject.toml").read_text()
    assert init(target).returncode == 0
    assert (target / "pyproject.toml").read_text() == before
    assert (
        '\nTESTS_INSTALL = ["-e", ".[test]", "pytest-xdist"]\n'
        in (target / "noxfile.py").read_text()
    )


@integration
def test_the_projects_own_test_command_becomes_the_ci_baseline(tmp_path: Path) -> None:
    target = suitekit.copy_suite("covered", tmp_path)
    proc = init(target)
    assert "found the project's own test command in tox.ini: pytest --cov=covpkg" in proc.stdout
    cfg = config.load(target)
    ci = cfg.strategies["ci"]
    assert ci.args == ("--cov=covpkg", "--cov-report=term-missing") and ci.compare_to is None
    assert cfg.strategies["serial-full"].compare_to == "ci"
    # The gate measures the coverage ci measures: compared like for like.
    assert (
        cfg.strategies["gate"].compare_to == "ci" and "--cov=covpkg" in cfg.strategies["gate"].args
    )


@integration
def test_both_configurations_at_once_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.benchlib]\nargs = []\n")
    (tmp_path / "benchlib.toml").write_text("args = []\n")
    with pytest.raises(config.ConfigError, match="keep one of them"):
        config.load(tmp_path)


@integration
def test_nothing_existing_is_overwritten(tmp_path: Path) -> None:
    files = {"pyproject.toml": '[tool.benchlib]\nargs = ["-x"]\n', "noxfile.py": "# mine\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("kept") == 2
    assert {name: (tmp_path / name).read_text() for name in files} == files
