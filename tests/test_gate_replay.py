"""Replay the pull-request gate `benchlib init --ci` writes, locally, on a fixture project.

The project is a git repository with two commits: the base, and a head that is either slowed
30% on purpose (its tests sleep 30% longer) or unchanged but for a comment. The gate job's
`run:` scripts are executed with bash as a runner would (`bash -e`), their `env:` expressions
filled in from the pull request's event. What a runner would have installed is stood in for:
each side's venv is a shim of this interpreter, and `gh` serves the default branch's latest
results artifact from a folder (or has none). The budget of `--repeat auto` is made smaller.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import suitekit

from benchlib.cli import scaffold

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLEEP = "0.5"  # four of them: the suite's time is mostly sleep, which load does not stretch
# Only the baseline, and no plugin but benchlib's: pytest's start-up is CPU, which a loaded
# machine stretches unevenly; the tests' sleeps it does not.
PYPROJECT = """\
[tool.benchlib]
args = ["-q", "-p", "no:cacheprovider"]
[tool.benchlib.strategies.serial-full]
env = { PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }
args = ["-p", "xdist.plugin"]  # -n 0 needs xdist
[tool.benchlib.strategies.unit]
enabled = false
[tool.benchlib.strategies.xdist-unit]
enabled = false
[tool.benchlib.strategies.gate]
enabled = false
"""
TESTS = f"""\
import time

import pytest


@pytest.mark.parametrize("n", range(4))
def test_work(n):
    time.sleep({SLEEP})
"""
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
GIT = ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]


def git(repo: Path, *argv: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *GIT, *argv], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def project(tmp_path: Path, head_tests: str) -> tuple[Path, str, str]:
    """Return the repository, its base commit and its head commit."""
    repo = tmp_path / "origin"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "test_work.py").write_text(TESTS)
    lines = scaffold.init(repo, gate=True)
    assert any(scaffold.WORKFLOW in line and "created" in line for line in lines), lines
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://example.invalid/project.git")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "test_work.py").write_text(head_tests)
    git(repo, "commit", "-qam", "head")
    return repo, base, git(repo, "rev-parse", "HEAD")


def shims(tmp_path: Path, latest: Path | None) -> tuple[Path, dict[str, str]]:
    """Return RUNNER_TEMP with each side's venv, and PATH with a `gh` serving latest."""
    temp = tmp_path / "runner_temp"
    for side in ("head", "base"):
        bin_ = temp / f"venv-{side}" / "bin"
        bin_.mkdir(parents=True)
        script(bin_ / "python", f'exec "{sys.executable}" "$@"')
        script(bin_ / "benchlib", f'exec "{sys.executable}" -m benchlib "$@"')
    path = tmp_path / "path"
    path.mkdir()
    if latest is None:  # the default branch has no successful push run yet
        script(path / "gh", 'if [ "$2" = list ]; then echo; fi')
    else:  # its run 42 left results: `gh run download 42 ... -D DIR` copies them
        script(path / "gh", f'[ "$2" = list ] && echo 42 || cp -r "{latest}" "${{@: -1}}"')
    paths = [str(path), str(Path(sys.executable).parent), os.environ["PATH"]]
    return temp, {"PATH": os.pathsep.join(paths)}


def script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(0o755)


def replay(
    tmp_path: Path, head_tests: str, budget_s: int, *, latest: bool = False
) -> tuple[int, str, Path]:
    """Run the gate job; return the gate step's exit code, the summary page, the workspace.

    latest: the default branch has results (a bench of the base, as its push job leaves).
    """
    repo, base, head = project(tmp_path, head_tests)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    subprocess.run(["git", "clone", "-q", str(repo), str(workspace / "head")], check=True)
    git(workspace / "head", "checkout", "-q", head)  # actions/checkout with ref: head.sha
    git(workspace / "head", "remote", "set-url", "origin", "https://example.invalid/project.git")
    if latest:
        git(repo, "checkout", "-q", base)
        out = tmp_path / "latest"
        ran = suitekit.benchlib("run", "--target", str(repo), "--results", str(out))
        assert ran.returncode == 0, ran.stderr
    workflow = load(workspace / "head" / scaffold.WORKFLOW)
    page = tmp_path / "step_summary.md"
    temp, path = shims(tmp_path, tmp_path / "latest" if latest else None)
    env = {**suitekit.env_without_pytest_vars(), **path, **workflow["env"]}
    env["BENCH_ARGS"] = env["BENCH_ARGS"].replace("--budget 1200", f"--budget {budget_s}")
    env |= {"RUNNER_TEMP": str(temp), "GITHUB_STEP_SUMMARY": str(page), "GITHUB_WORKFLOW": "g"}
    event = {
        "github.event.pull_request.base.sha": base,
        "github.token": "no-token-here",
        "github.repository": "owner/project",
        "github.event.repository.default_branch": "main",
    }
    code = 0
    for step in workflow["jobs"]["gate"]["steps"]:
        if "run" not in step or "pip install" in step["run"]:
            continue  # actions and installs: done above, as a runner would have
        step_env = {**env, **{k: fill(v, event) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=workspace, env=step_env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if step.get("name") == "Gate":
            code = proc.returncode
        else:
            assert proc.returncode == 0, f"{step['run']}\n{proc.stdout}\n{proc.stderr}"
    return code, page.read_text(), workspace


def fill(value: str, event: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: event[m.group(1)], value)


def load(path: Path) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_the_gate_fails_a_head_made_30_percent_slower(tmp_path: Path) -> None:
    slower = TESTS.replace(f"time.sleep({SLEEP})", f"time.sleep({SLEEP} * 1.3)")
    code, page, workspace = replay(tmp_path, slower, budget_s=60)  # rounds enough to tell
    assert code == 1, page
    assert "**FAILED:** significantly slower by more than 10%: `serial-full`" in page
    assert "**REGRESSION**" in page and "95% CI" in page
    assert "No results from main yet: shards are split by file" in page
    base_runs = list((workspace / "results" / "base").glob("serial-full_*.json"))
    head_runs = list((workspace / "results" / "head").glob("serial-full_*.json"))
    assert len(base_runs) == len(head_runs) >= 5  # a warm-up and at least 4 rounds, paired


def test_the_gate_passes_an_unchanged_head_and_reads_the_latest_results(tmp_path: Path) -> None:
    unchanged = TESTS + "# reworded, not slower\n"
    code, page, _ = replay(tmp_path, unchanged, budget_s=20, latest=True)
    assert code == 0, page
    assert "**Passed:**" in page and "**FAILED:**" not in page
    assert "Shards are split by the measured durations of main's run 42." in page
