"""The CI workflows: valid for GitHub, clean under zizmor, every action pinned to a commit.

Both benchlib's own (bench.yml; gate.yml, the pull-request gate) and the gate `benchlib init
--ci` writes for a project, which is gate.yml with another INSTALL line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchlib.cli import scaffold

WORKFLOWS = Path(__file__).parents[1] / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "bench.yml"
GATE = WORKFLOWS / "gate.yml"
PINNED = re.compile(r"[^@\s]+@[0-9a-f]{40}")


def tool(name: str) -> str:
    """Find a checker beside this interpreter (a venv not on PATH) or on PATH, else skip."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed; pip install {name}")
    return found


def check(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


@pytest.fixture(params=["bench.yml", "gate.yml", "init --ci"])
def workflow_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param != "init --ci":
        return WORKFLOWS / request.param
    written = tmp_path / "project" / scaffold.WORKFLOW
    (tmp_path / "project").mkdir()
    scaffold.init(tmp_path / "project", gate=True)
    return written


@pytest.mark.integration
def test_zizmor_finds_nothing(workflow_file: Path) -> None:
    # --offline: the audits that ask GitHub's API need a token and the network; CI has neither.
    proc = check([tool("zizmor"), "--offline", "--persona=pedantic", str(workflow_file)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


@pytest.mark.integration
def test_the_workflow_schema_accepts_it(workflow_file: Path) -> None:
    # The schema ships inside check-jsonschema: nothing is downloaded.
    name = "check-jsonschema"
    proc = check([tool(name), "--builtin-schema", "vendor.github-workflows", str(workflow_file)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def load(path: Path) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def steps(path: Path) -> Iterator[dict[str, Any]]:
    for job in load(path)["jobs"].values():
        yield from job.get("steps", [])


@pytest.mark.unit
def test_every_action_is_pinned_to_a_commit(workflow_file: Path) -> None:
    uses = [s["uses"] for s in steps(workflow_file) if "uses" in s]
    assert uses  # an empty walk would pass anything
    assert [u for u in uses if not PINNED.fullmatch(u)] == []


@pytest.mark.unit
def test_every_pin_names_its_release(workflow_file: Path) -> None:
    lines = [line for line in workflow_file.read_text().splitlines() if "uses:" in line]
    assert lines
    assert [line for line in lines if not re.search(r"@[0-9a-f]{40} # v\d", line)] == []


@pytest.mark.unit
def test_no_expression_is_spliced_into_a_script(workflow_file: Path) -> None:
    runs = [s["run"] for s in steps(workflow_file) if "run" in s]
    assert runs
    assert [r for r in runs if "${{" in r] == []


# --- the pull-request gate ------------------------------------------------------------------


@pytest.mark.unit
def test_benchlibs_gate_is_the_one_init_writes_but_for_its_install_line() -> None:
    assert GATE.read_text() == scaffold.gate_workflow('python -m pip install -e ".[test]"')


@pytest.mark.unit
def test_the_gate_gives_a_pull_request_no_token_to_write_with() -> None:
    text = GATE.read_text()
    gate = load(GATE)
    triggers = gate[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"pull_request", "push"}  # never pull_request_target
    assert "secrets." not in text
    assert gate["permissions"] == {}
    for job in gate["jobs"].values():
        assert set(job["permissions"].values()) == {"read"}
        for step in job["steps"]:
            assert step.get("with", {}).get("persist-credentials", False) is False
    # The base by commit: the pull request controls its branch names, not the base's SHA.
    checkout = gate["jobs"]["gate"]["steps"][0]["with"]
    assert checkout["ref"] == "${{ github.event.pull_request.head.sha }}"
    base = next(s for s in gate["jobs"]["gate"]["steps"] if s.get("name", "").endswith("head"))
    assert base["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert "merge-base" in base["run"] and "--repeat auto" in gate["env"]["BENCH_ARGS"]
