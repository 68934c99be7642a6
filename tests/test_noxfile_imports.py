"""The noxfile works where only nox is installed, as on a fresh machine running `nox -s bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
# Everything benchlib depends on but nox: a None in sys.modules makes its import fail.
BLOCKED = ("orjson", "psutil", "jinja2", "pytest", "_pytest", "xdist", "jsonschema")
LOAD = f"""
import runpy, sys
for name in {BLOCKED!r}:
    sys.modules[name] = None
import nox.registry
runpy.run_path("noxfile.py")
print(sorted(nox.registry.get()))
"""


def test_the_noxfile_loads_with_nothing_but_nox() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "'bench'" in out.stdout and "'bench-serial-full'" in out.stdout
