"""Replay .github/workflows/bench.yml locally on a fixture project, and compare with a direct run.

The workflow's own `run:` scripts are executed with bash, as a runner would (`bash -e`): the
matrix job lists the sessions, each bench job runs its session in a fresh copy of the project
(its own results folder), its results are "uploaded" into artifacts/results-SESSION/ as
download-artifact lays them out, and the last job merges them. The only changes are what a
runner would have installed (nox runs with --no-venv in this environment) and fewer rounds.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import suitekit

# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKFLOW = Path(__file__).parents[1] / ".github" / "workflows" / "bench.yml"
PYPROJECT = (
    suitekit.ONLY_THE_BASELINE
    + """\
[tool.benchlib.strategies.sharded]
description = "Every test, three CI jobs"
shards = 3
compare_to = "serial-full"
[tool.benchlib.strategies.gate-two-step]
description = "xdist-safe tests in parallel, then the serial ones"
compare_to = "serial-full"
steps = [{ markers = "not serial", workers = 2 }, { markers = "serial" }]
"""
)
NOXFILE = """\
import nox

from benchlib import noxsessions

noxsessions.register(install=lambda session: None)  # the replay's environment has it all
"""
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
EVENT = {  # the expressions the bench job's steps read
    "github.token": "no-token-here",
    "github.repository": "owner/project",
    "github.event.repository.default_branch": "main",
}


@pytest.fixture
def workflow() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = suitekit.copy_suite("shards", tmp_path / "checkout")
    (target / "pyproject.toml").write_text(PYPROJECT)
    (target / "noxfile.py").write_text(NOXFILE)
    # A checkout has its remote: that is who the project is, in whichever folder a job runs.
    for argv in (
        ["init", "-q"],
        ["remote", "add", "origin", "https://example.invalid/project.git"],
        ["add", "."],
        ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-qm", "suite"],
    ):
        subprocess.run(["git", "-C", str(target), *argv], check=True, capture_output=True)
    return target


def runner_env(tmp_path: Path, workflow: dict[str, Any]) -> dict[str, str]:
    """The environment of every job: the workflow's env, nox as installed, quick tests."""
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    nox = shims / "nox"  # `pip install nox[uv]` on a runner; here nox runs in this venv
    nox.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nox --no-venv "$@"\n')
    nox.chmod(0o755)
    env = suitekit.env_without_pytest_vars()
    env["PATH"] = os.pathsep.join([str(shims), str(Path(sys.executable).parent), env["PATH"]])
    env.update({k: str(v) for k, v in workflow.get("env", {}).items()})
    rounds = env["BENCH_ARGS"]
    env["BENCH_ARGS"] = rounds.replace("--repeat auto", "--repeat 1").replace(
        "--warmup 1", "--warmup 0"
    )
    assert env["BENCH_ARGS"] != rounds  # the replay follows the workflow's own arguments
    gh = shims / "gh"  # the default branch has no results yet: `gh run list` finds no run
    gh.write_text('#!/bin/sh\n[ "$2" = list ] && echo\nexit 0\n')
    gh.chmod(0o755)
    env["SUITE_SCALE"] = "0.1"
    return env


def run_step(step: dict[str, Any], cwd: Path, env: dict[str, str], matrix: dict[str, str]) -> None:
    """Run one step's script as a runner does (bash -e), its env's expressions filled in."""
    step_env = dict(env)
    for key, value in step.get("env", {}).items():
        step_env[key] = EXPRESSION.sub(lambda m: matrix[m.group(1)], value)
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{step['run']}\n{proc.stdout}\n{proc.stderr}"


def scripts(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a job's script steps, without the installs the replay's environment has done."""
    return [s for s in job["steps"] if "run" in s and "pip install" not in s["run"]]


def replay(workflow: dict[str, Any], repo: Path, tmp_path: Path) -> Path:
    env = runner_env(tmp_path, workflow)
    jobs = workflow["jobs"]
    output = tmp_path / "github_output"
    output.write_text("")
    (listing,) = scripts(jobs["matrix"])
    run_step(listing, repo, {**env, "GITHUB_OUTPUT": str(output)}, {})
    sessions = json.loads(output.read_text().split("sessions=", 1)[1])
    artifacts = tmp_path / "merge" / "artifacts"
    for session in sessions:
        checkout = shutil.copytree(repo, tmp_path / "jobs" / session)  # a fresh runner
        page = tmp_path / "jobs" / f"{session}.md"
        for step in scripts(jobs["bench"]):
            run_step(
                step,
                checkout,
                {**env, "GITHUB_STEP_SUMMARY": str(page)},
                EVENT | {"matrix.session": session},
            )
        assert "shards are split by file" in page.read_text()
        shutil.copytree(checkout / "results", artifacts / f"results-{session}")
    merge = shutil.copytree(repo, tmp_path / "merge", dirs_exist_ok=True)
    page = tmp_path / "step_summary.md"
    for step in scripts(jobs["summary"]):
        run_step(step, merge, {**env, "GITHUB_STEP_SUMMARY": str(page), **RUN}, {})
    return merge / "summary"


RUN = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/p", "GITHUB_RUN_ID": "7"}
RUN_PAGE = "https://github.com/o/p/actions/runs/7#artifacts"
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
HREF = re.compile(r'href="([^"]+)"')


def follow(folder: Path, page: Path) -> int:
    """Follow every link of the merged summary and of the job's summary page; count them."""
    ids = set(re.findall(r'id="([^"]+)"', (folder / "report.html").read_text()))
    links = [
        *((folder, u) for u in MD_LINK.findall((folder / "summary.md").read_text())),
        *((folder, html.unescape(u)) for u in HREF.findall((folder / "report.html").read_text())),
    ]
    for base, url in links:
        if url.startswith("#"):
            assert url[1:] in ids, url
        else:
            assert "://" not in url and (base / unquote(url)).is_file(), url
    on_page = MD_LINK.findall(page.read_text())
    assert on_page and all(u == RUN_PAGE or u.startswith("#") for u in on_page), on_page
    return len(links)


def shape(summary_json: Path) -> dict[str, Any]:
    """What must agree whichever machine ran what: strategies, counts, parts, checks, verdicts."""
    data = json.loads(summary_json.read_text())
    strategies = {
        s["name"]: (s["scope"], s["compare_to"], s["outcome"], s["all_passed"],
                    (s["comparison"] or {}).get("word"))
        for s in data["strategies"]
    }  # fmt: skip
    logical = sorted(
        (r["strategy"], r["kind"], r["of"], r["check"]["ok"], r["check"]["selection_size"],
         tuple(p["assigned"] for p in r["parts"]))
        for r in data["logical"]
    )  # fmt: skip
    return {"baseline": data["baseline"], "strategies": strategies, "logical": logical}


def test_the_replayed_workflow_merges_to_the_direct_runs_summary(
    workflow: dict[str, Any], repo: Path, tmp_path: Path
) -> None:
    merged = replay(workflow, repo, tmp_path)
    sessions = sorted(
        p.name.removeprefix("results-") for p in (tmp_path / "merge" / "artifacts").iterdir()
    )
    assert sessions == [
        "bench-gate-two-step", "bench-serial-full",
        "bench-sharded-1of3", "bench-sharded-2of3", "bench-sharded-3of3",
    ]  # fmt: skip
    page = (tmp_path / "step_summary.md").read_text()
    assert "## Shards and Steps" in page and "**FAILED:**" not in page
    # The summary artifact is summary/ alone: every link resolves inside it, and on the page.
    shutil.rmtree(tmp_path / "merge" / "artifacts")
    assert follow(merged, tmp_path / "step_summary.md") > 10

    direct = shutil.copytree(repo, tmp_path / "direct")
    env = {**suitekit.env_without_pytest_vars(), "SUITE_SCALE": "0.1"}
    ran = suitekit.benchlib("run", "--target", str(direct), "--summary", env=env)
    assert ran.returncode == 0, ran.stderr

    replayed, straight = shape(merged / "summary.json"), shape(direct / "results" / "summary.json")
    assert replayed == straight, json.dumps([replayed, straight], indent=1)
    assert {r[0] for r in replayed["logical"]} == {"sharded", "gate-two-step"}
    assert all(r[3] for r in replayed["logical"])  # every node-id check passed
    data = json.loads((merged / "summary.json").read_text())
    two_step = next(s for s in data["strategies"] if s["name"] == "gate-two-step")
    assert two_step["comparison"]["paired"] == 1  # paired on its job's runner (--pair auto)
