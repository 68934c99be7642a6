"""`benchlib init`: add [tool.benchlib] and a noxfile to a project, never overwriting."""

from __future__ import annotations

import errno
import importlib.metadata
import json
import os
import shlex
import shutil
import sys
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from benchlib.errors import UsageError

SECTION = """\
[tool.benchlib]
# Everything here is optional; `benchlib list` shows the strategies this gives.
args = ["-q", "--tb=short"]       # pytest arguments shared by every strategy
# paths = ["tests"]               # test paths (default: pytest's own testpaths)
{python}
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
PYTHON_UNSET = '# python = ".venv/bin/python"     # the Python that has your test dependencies'
PYTHON_SET = (
    'python = "{venv}"     # found by benchlib init: the Python with your test dependencies'
)

NOXFILE = '''\
# /// script
# dependencies = ["nox", {requirement}]
# ///
"""Bench this project's test suite with benchlib: `nox -s bench`, `nox -l` for the rest."""

import nox

from benchlib import noxsessions

nox.options.sessions = ["bench"]


def install(session: nox.Session) -> None:
    """Install what the tests need into the bench venv: adjust to your project."""
    {install}
    session.install("-e", ".")


noxsessions.register(install=install)
'''

# What `nox` leaves in the target: ignored, or every run would record git_dirty: true.
RESULTS = "results"  # the default of `benchlib run --results` and `[tool.benchlib] results`
NOX_DIR = ".nox"


@dataclass(frozen=True)
class Origin:
    """Where this environment's benchlib came from, as the generated noxfile installs it."""

    install_args: tuple[str, ...]  # for session.install
    requirement: str  # for the noxfile's script block, read by nox before importing benchlib
    note: str | None = None  # a comment for the line, when the origin is a guess


def _lit(text: str) -> str:
    # A JSON string is a valid Python string literal, double-quoted like the rest of the file.
    return json.dumps(text)


def install_origin(dist: importlib.metadata.Distribution | None = None) -> Origin:
    """Read PEP 610's direct_url.json: how this environment (or dist) installed benchlib."""
    if dist is None:
        try:
            dist = importlib.metadata.distribution("benchlib")
        except importlib.metadata.PackageNotFoundError:
            return _unknown("benchlib is not installed here (run from a source tree)")
    text = dist.read_text("direct_url.json")
    if text is None:  # PEP 610: no file means it came from a package index
        return Origin((f"benchlib=={dist.version}",), f"benchlib=={dist.version}")
    try:
        direct = json.loads(text)
    except ValueError:
        direct = None
    origin = _from_direct_url(direct) if isinstance(direct, dict) else None
    return origin or _unknown(f"its direct_url.json is not understood: {text!r}")


def _from_direct_url(direct: dict[str, object]) -> Origin | None:
    # The script block names benchlib without the URL: on Python < 3.13 nox cannot match a
    # URL requirement against an installed distribution and would build a second venv.
    url = direct.get("url")
    if not isinstance(url, str):
        return None
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict):
        if not {"vcs", "commit_id"} <= vcs.keys():
            return None
        spec = f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
        sub = direct.get("subdirectory")
        return Origin((spec + (f"#subdirectory={sub}" if sub else ""),), "benchlib")
    parts = urlsplit(url)
    if parts.scheme != "file":
        return Origin((url,), "benchlib")  # an archive downloaded from that URL
    path = url2pathname(parts.path)
    info = direct.get("dir_info")
    editable = isinstance(info, dict) and info.get("editable") is True
    return Origin(("-e", path) if editable else (path,), "benchlib")


def _unknown(why: str) -> Origin:
    note = f"edit: how to install benchlib here; {why}"
    return Origin(("benchlib",), "benchlib", note=note)


def _install_line(origin: Origin) -> str:
    line = f"session.install({', '.join(map(_lit, origin.install_args))})"
    return f"{line}  # {origin.note}" if origin.note else line


@dataclass(frozen=True)
class _Change:
    """One file init would write: its new text (None: left as it is) and what to say."""

    path: Path
    text: str | None
    line: str


def init(target: Path, *, ci: bool = False) -> list[str]:
    """Add what is missing; return one line per file saying what was done.

    ci: also write the pull-request gate workflow (cli/gate_workflow.yml). Every change is
    prepared, then staged beside its file, then put in place: a project where one file cannot
    be written is left as it was, never half set up.
    """
    if not target.is_dir():
        raise UsageError(f"target {str(target)!r} is not a folder; pass --target DIR")
    venv = _find_venv(target)
    pyproject = _pyproject(target / "pyproject.toml", venv)
    ignored = [f"/{_results_folder(pyproject)}/", f"/{NOX_DIR}/"]
    changes = [
        pyproject,
        _noxfile(target / "noxfile.py", install_origin()),
        _gitignore(target / ".gitignore", ignored),
    ]
    if ci:
        changes.append(_workflow(target / WORKFLOW, install_origin()))
    _apply([c for c in changes if c.text is not None])
    return [c.line for c in changes]


def _apply(changes: list[_Change]) -> None:
    """Write every change or none: each to a temporary file first, then all renamed in place."""
    staged: list[tuple[Path, _Change]] = []
    try:
        for c in changes:
            if c.path.exists() and not os.access(c.path, os.W_OK):
                raise PermissionError(errno.EACCES, "the file is read-only")
            c.path.parent.mkdir(parents=True, exist_ok=True)  # .github/workflows
            tmp = c.path.with_name(f".{c.path.name}.{uuid.uuid4().hex}.tmp")
            staged.append((tmp, c))
            tmp.write_text(c.text or "", encoding="utf-8")
            if c.path.exists():
                shutil.copymode(c.path, tmp)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise UsageError(
            f"{c.path} cannot be written ({exc.strerror}); nothing was changed: make the "
            "project writable, then run init again"
        ) from None
    for tmp, c in staged:
        os.replace(tmp, c.path)


WORKFLOW = ".github/workflows/benchlib-gate.yml"
_TEMPLATE = Path(__file__).with_name("gate_workflow.yml")


def gate_workflow(install: str) -> str:
    """Return the gate workflow whose checkouts are installed by the shell line install."""
    quoted = "'" + install.replace("'", "''") + "'"  # a YAML single-quoted scalar
    return _TEMPLATE.read_text(encoding="utf-8").replace("@INSTALL@", quoted)


def _ci_install(origin: Origin) -> str:
    """Return how a CI runner installs a checkout's tests and this benchlib."""
    local = "-e" in origin.install_args or any(a.startswith("/") for a in origin.install_args)
    spec = "benchlib" if local or origin.note else " ".join(origin.install_args)
    return f"python -m pip install {shlex.quote(spec)} pytest pytest-xdist -e ."


def _workflow(path: Path, origin: Origin) -> _Change:
    if path.exists():
        return _Change(path, None, f"kept {path}: it exists (remove it for benchlib's gate)")
    line = (
        f"created {path}: pull requests benched against their base; "
        "edit its INSTALL line to install your tests' dependencies"
    )
    return _Change(path, gate_workflow(_ci_install(origin)), line)


def _results_folder(pyproject: _Change) -> str:
    """Return the results folder [tool.benchlib] names (read after _pyproject checked it)."""
    if pyproject.text is None and not pyproject.path.exists():
        return RESULTS
    text = pyproject.text or pyproject.path.read_text(encoding="utf-8")
    table = tomllib.loads(text).get("tool", {}).get("benchlib")
    folder = table.get("results") if isinstance(table, dict) else None
    return folder.strip("/") if isinstance(folder, str) else RESULTS


def _find_venv(target: Path) -> str | None:
    """Return the relative path of the target's .venv interpreter, if it has one."""
    rel = ".venv/Scripts/python.exe" if sys.platform == "win32" else ".venv/bin/python"
    return rel if (target / rel).is_file() else None


def _section(venv: str | None) -> str:
    python = PYTHON_SET.format(venv=venv) if venv else PYTHON_UNSET
    return SECTION.format(python=python)


def _pyproject(path: Path, venv: str | None) -> _Change:
    found = f" and python = {_lit(venv)}, the .venv found there" if venv else ""
    if not path.exists():
        return _Change(
            path, _section(venv), f"created {path} with a [tool.benchlib] section{found}"
        )
    text = path.read_text(encoding="utf-8")
    try:
        has = "benchlib" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix it, then run init again") from None
    if has:
        return _Change(path, None, f"kept {path}: it already has [tool.benchlib]")
    new = text.rstrip("\n") + "\n\n" + _section(venv)
    return _Change(path, new, f"added [tool.benchlib] to {path}{found}")


def _noxfile(path: Path, origin: Origin) -> _Change:
    if path.exists():
        return _Change(
            path, None, f"kept {path}: it exists; see benchlib's README to add the bench sessions"
        )
    install = _install_line(origin)
    text = NOXFILE.format(requirement=_lit(origin.requirement), install=install)
    how = f"; check its line {install}" if origin.note else f"; it installs benchlib with {install}"
    return _Change(path, text, f"created {path}: `nox -s bench` runs every strategy{how}")


def _gitignore(path: Path, patterns: list[str]) -> _Change:
    """Append the patterns .gitignore lacks; a pattern written with or without slashes counts."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip().strip("/") for line in text.splitlines()}
    missing = [p for p in patterns if p.strip("/") not in have]
    if not missing:
        return _Change(path, None, f"{path} already ignores {', '.join(patterns)}")
    verb = "added" if path.exists() else "created"
    sep = "\n" if text and not text.endswith("\n") else ""
    line = f"{verb} {', '.join(missing)} in {path}: results and venvs must not make git dirty"
    return _Change(path, text + sep + "\n".join(missing) + "\n", line)
