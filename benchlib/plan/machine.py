"""Describe the machine, the target's interpreter and the target's checkout."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchlib import __version__
from benchlib.errors import InputError
from benchlib.model.results import Machine, Target

# Run by the target's interpreter: what it has, without importing pytest (fast).
_PROBE = """
import json, platform, importlib.metadata as m
def v(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
print(json.dumps({"python": platform.python_version(), "pytest": v("pytest"),
                  "pytest-xdist": v("pytest-xdist")}))
"""


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs the target's tests, and the test packages it can import."""

    path: str
    python: str
    pytest: str | None
    xdist: str | None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _versions_here(path: str) -> Interpreter:
    return Interpreter(
        path, platform.python_version(), _version("pytest"), _version("pytest-xdist")
    )


def probe(python: str, target: Path) -> Interpreter:
    """Resolve the target's interpreter and ask it for its versions, or raise InputError."""
    found_path = shutil.which(python)
    if found_path is None:
        raise InputError(
            "python", python, "was not found",
            "give the path of the Python that has your test dependencies "
            "(or set `python` in [tool.benchlib])",
        )  # fmt: skip
    # Absolute, but not resolved: a venv's python is a symlink whose target is not the venv.
    # Relative, it would name another file in the target folder, where pytest runs.
    python = os.path.abspath(found_path)
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        found = _versions_here(python)  # our own interpreter: no need to start another
    else:
        found = _probe_other(python, target)
    if found.pytest is None:
        raise InputError(
            "python", python, "has no pytest", f"install it there: {python} -m pip install pytest"
        )
    return found


def _probe_other(python: str, target: Path) -> Interpreter:
    try:
        out = subprocess.run(
            [python, "-c", _PROBE], cwd=target, capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        raise InputError(
            "python", python, f"cannot be run ({exc.strerror})", "give an existing Python"
        ) from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError("python", python, f"failed to start ({last})", "give a working Python")
    return _parse_probe(python, out.stdout)


def _parse_probe(python: str, text: str) -> Interpreter:
    """Check the probe's JSON: a sitecustomize or a startup hook may have printed first."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict) or not isinstance(found.get("python"), str):
        raise InputError(
            "python", python, f"answered the version probe with {text!r}",
            "give a Python whose start-up prints nothing",
        )  # fmt: skip
    versions = [found.get("pytest"), found.get("pytest-xdist")]
    pytest, xdist = (v if isinstance(v, str) else None for v in versions)
    return Interpreter(python, found["python"], pytest, xdist)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def same_environment(python: str, other: str) -> bool:
    """Tell whether two interpreter paths are one environment (one venv, or one install)."""
    a, b = Path(os.path.abspath(python)), Path(os.path.abspath(other))
    return a.parent == b.parent


def discover(target: Path) -> tuple[str, str] | None:
    """Find the project's own interpreter: an active virtualenv, else the project's .venv.

    The active virtualenv counts only when it is not benchlib's own (run from its venv, or in
    a nox session that installed benchlib): then the project's .venv, if it has one. Return
    the path and how it was found; None: no interpreter other than benchlib's.
    """
    active = os.environ.get("VIRTUAL_ENV")
    if active and _venv_python(Path(active)).is_file():
        python = str(_venv_python(Path(active)))
        if not same_environment(python, sys.executable):
            return python, "the active virtualenv, $VIRTUAL_ENV"
    local = _venv_python(target / ".venv")
    if local.is_file() and not same_environment(str(local), sys.executable):
        return str(local), "the project's .venv"
    return None


def usable_cpus() -> int:
    """Return the CPUs this process may run on (affinity-aware where the OS says).

    This is what `-n auto` becomes: xdist's own `auto` counts physical cores when psutil is
    importable, which on a 2-vCPU runner is 1, so benchlib resolves it and records the number.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(interpreter: Interpreter) -> Machine:
    """Return the machine fingerprint, with the versions that actually ran the tests."""
    return Machine(
        hostname=socket.gethostname(),
        os=platform.platform(),
        python=interpreter.python,
        cpu_model=_cpu_model(),
        cpus_logical=psutil.cpu_count(logical=True) or 1,
        cpus_physical=psutil.cpu_count(logical=False),
        cpus_usable=usable_cpus(),
        memory_bytes=psutil.virtual_memory().total,
        versions={
            "pytest": interpreter.pytest,
            "pytest-xdist": interpreter.xdist,
            "psutil": psutil.__version__,
            "benchlib": __version__,
        },
    )


def _git(path: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, timeout=30
        )
    except OSError:  # no git
        return None
    return out.stdout if out.returncode == 0 else None


def target_info(path: Path, project: str | None = None) -> Target:
    """Return the target folder with its git commit and whether its tree is dirty.

    project: the identity [tool.benchlib] declares; else the git remote, root, or the folder.
    """
    commit = _git(path, "rev-parse", "HEAD")
    status = _git(path, "status", "--porcelain") if commit else None
    remote = _git(path, "remote", "get-url", "origin") if commit else None
    root = _git(path, "rev-parse", "--show-toplevel") if commit else None
    return Target(
        path=str(path),
        git_commit=commit.strip() if commit else None,
        git_dirty=bool(status.strip()) if status is not None else None,
        project=(project or remote or root or str(path)).strip(),
    )
