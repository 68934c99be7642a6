"""The CI workflow: valid for GitHub, clean under zizmor, every action pinned to a commit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKFLOW = Path(__file__).parents[1] / ".github" / "workflows" / "bench.yml"
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


@pytest.mark.integration
def test_zizmor_finds_nothing() -> None:
    # --offline: the audits that ask GitHub's API need a token and the network; CI has neither.
    proc = check([tool("zizmor"), "--offline", "--persona=pedantic", str(WORKFLOW)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


@pytest.mark.integration
def test_the_workflow_schema_accepts_it() -> None:
    # The schema ships inside check-jsonschema: nothing is downloaded.
    name = "check-jsonschema"
    proc = check([tool(name), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def steps() -> Iterator[dict[str, Any]]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


@pytest.mark.unit
def test_every_action_is_pinned_to_a_commit() -> None:
    uses = [s["uses"] for s in steps() if "uses" in s]
    assert uses  # an empty walk would pass anything
    assert [u for u in uses if not PINNED.fullmatch(u)] == []


@pytest.mark.unit
def test_every_pin_names_its_release() -> None:
    lines = [line for line in WORKFLOW.read_text().splitlines() if "uses:" in line]
    assert lines
    assert [line for line in lines if not re.search(r"@[0-9a-f]{40} # v\d", line)] == []


@pytest.mark.unit
def test_no_expression_is_spliced_into_a_script() -> None:
    runs = [s["run"] for s in steps() if "run" in s]
    assert runs
    assert [r for r in runs if "${{" in r] == []
