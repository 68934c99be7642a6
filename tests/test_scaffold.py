"""`benchlib init`: how it installs benchlib, what it ignores, which Python it picks."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest

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
def test_noxfile_installs_benchlib_as_this_environment_has_it(tmp_path: Path) -> None:
    direct = json.loads(
        importlib.metadata.distribution("benchlib").read_text("direct_url.json") or "{}"
    )
    if not direct.get("dir_info", {}).get("editable"):
        pytest.skip("this check expects benchlib installed editable (pip install -e)")
    source = url2pathname(urlsplit(direct["url"]).path)
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = f'session.install("-e", "{source}")'
    assert f"    {expected}\n" in (tmp_path / "noxfile.py").read_text()
    assert expected in proc.stdout


@integration
def test_the_written_noxfile_lists_a_session_per_strategy(tmp_path: Path) -> None:
    assert init(tmp_path).returncode == 0
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json", "-t", "benchlib-strategy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    sessions = [s["session"] for s in json.loads(listed.stdout)]
    assert sessions == ["bench-serial-full", "bench-unit", "bench-xdist-unit", "bench-gate"]


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
    assert 'python = ".venv/bin/python", the .venv found there' in proc.stdout
    pyproject = (tmp_path / "pyproject.toml").read_text()
    assert '\npython = ".venv/bin/python"' in pyproject

    assert config.load(tmp_path).python == ".venv/bin/python"


@integration
def test_without_a_venv_python_stays_commented(tmp_path: Path) -> None:
    assert init(tmp_path).returncode == 0

    assert config.load(tmp_path).python is None
    assert "# python = " in (tmp_path / "pyproject.toml").read_text()


@integration
def test_nothing_existing_is_overwritten(tmp_path: Path) -> None:
    files = {"pyproject.toml": '[tool.benchlib]\nargs = ["-x"]\n', "noxfile.py": "# mine\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("kept") == 2
    assert {name: (tmp_path / name).read_text() for name in files} == files
