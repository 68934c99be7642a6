"""`benchlib init`: add [tool.benchlib] and a noxfile to a project, never overwriting."""

from __future__ import annotations

import tomllib
from pathlib import Path

from benchlib.errors import UsageError

SECTION = """\
[tool.benchlib]
# Everything here is optional; `benchlib list` shows the strategies this gives.
args = ["-q", "--tb=short"]       # pytest arguments shared by every strategy
# paths = ["tests"]               # test paths (default: pytest's own testpaths)
# python = ".venv/bin/python"     # the Python that has your test dependencies
# ignore = ["tests/test_db.py"]   # --ignore for every strategy
# timeout_s = 3600                # stop a run after this long

# Override a built-in strategy (serial-full, unit, xdist-unit, gate) ...
# [tool.benchlib.strategies.unit]
# markers = "unit and not slow"

# ... or add your own.
# [tool.benchlib.strategies.gate-loadscope]
# description = "Every test with xdist, one module per worker"
# workers = "auto"
# dist = "loadscope"
# compare_to = "serial-full"
"""

NOXFILE = '''\
# /// script
# dependencies = ["nox", "benchlib"]
# ///
"""Bench this project's test suite with benchlib: `nox -s bench`, `nox -l` for the rest."""

import nox

from benchlib import noxsessions

nox.options.sessions = ["bench"]


def install(session: nox.Session) -> None:
    """Install what the tests need into the bench venv: adjust to your project."""
    session.install("benchlib")
    session.install("-e", ".")


noxsessions.register(install=install)
'''


def init(target: Path) -> list[str]:
    """Add what is missing; return one line per file saying what was done."""
    if not target.is_dir():
        raise UsageError(f"target {str(target)!r} is not a folder; pass --target DIR")
    return [_pyproject(target / "pyproject.toml"), _noxfile(target / "noxfile.py")]


def _pyproject(path: Path) -> str:
    if not path.exists():
        path.write_text(SECTION)
        return f"created {path} with a [tool.benchlib] section"
    text = path.read_text(encoding="utf-8")
    try:
        has = "benchlib" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix it, then run init again") from None
    if has:
        return f"kept {path}: it already has [tool.benchlib]"
    path.write_text(text.rstrip("\n") + "\n\n" + SECTION, encoding="utf-8")
    return f"added [tool.benchlib] to {path}"


def _noxfile(path: Path) -> str:
    if path.exists():
        return f"kept {path}: it exists; see benchlib's README to add the bench sessions"
    path.write_text(NOXFILE)
    return f"created {path}: `nox -s bench` runs every strategy"
