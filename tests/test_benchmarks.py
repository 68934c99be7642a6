"""Every script under benchmarks/ runs in its quick setting, so a benchmark that breaks fails CI.

The figures come from the full settings, run by hand; the quick one only proves the script
still runs against today's benchlib (paired_runners.py once read its runs' traces as runs).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import suitekit

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_benchmark_is_found() -> None:
    assert len(SCRIPTS) >= 8


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_a_benchmark_runs_in_its_quick_setting(script: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(script), "--quick"], cwd=ROOT, capture_output=True, text=True,
        env={**suitekit.env_without_pytest_vars(), "TMPDIR": str(tmp_path)}, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr
