"""`benchlib init`: add benchlib.toml and a noxfile to a project, never overwriting."""

from __future__ import annotations

import contextlib
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
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from benchlib.errors import UsageError
from benchlib.plan import cicommand, config
from benchlib.plan.strategy import split_selection

CONFIG = """\
# benchlib's configuration (see benchlib's README): everything here is optional;
# `benchlib list` shows the strategies this gives. The same keys can live under
# [tool.benchlib] in pyproject.toml instead (never both).
args = ["-q", "--tb=short"]       # pytest arguments shared by every strategy
# paths = ["tests"]               # test paths (default: pytest's own testpaths)
{python}
# ignore = ["tests/test_db.py"]   # --ignore for every strategy
# timeout_s = 3600                # stop a run after this long
{ci}
# Override a built-in strategy (serial-full, unit, xdist-unit, gate) ...
# [strategies.unit]
# markers = "unit and not slow"

# ... or add your own.
# [strategies.gate-loadscope]
# description = "Every test with xdist, one module per worker"
# workers = "auto"
# dist = "loadscope"
# compare_to = "serial-full"
"""
PYTHON_UNSET = '# python = ".venv/bin/python"     # the Python that has your test dependencies'
PYTHON_SET = (
    "python = {python}     # found by benchlib init: the Python with your test dependencies"
)

NOXFILE = '''\
"""Bench this project's tests with benchlib: `nox -s bench`; `nox -l` lists the sessions.

Written by `benchlib init`. Only nox is needed (`pip install nox`): benchlib goes into the
session's venv, and the tests run in {tests_where}, so benchlib's own dependencies never
replace the versions your tests run with.
"""

import sys
from pathlib import Path

import nox

# Where benchlib is installed from: a path to its clone, a git URL, or a requirement.
BENCHLIB = {benchlib}
# The Python that runs the tests; None: a venv of its own (.nox/bench-tests) set up with
# TESTS_INSTALL, the project and its test dependencies (pytest-xdist for the parallel lanes).
PYTHON = {python}
TESTS_INSTALL = {tests_install}

nox.options.sessions = ["bench"]


def tests_python(session: nox.Session) -> str:
    """Return the tests' Python, making and updating their venv when PYTHON is None."""
    if PYTHON is not None:
        return PYTHON
    venv = Path(".nox", "bench-tests")
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        # virtualenv comes with nox, so this works where only nox is installed.
        session.run(sys.executable, "-m", "virtualenv", "-q", str(venv), external=True)
    session.run(str(python), "-m", "pip", "install", "-q", *TESTS_INSTALL, external=True)
    return str(python)


@nox.session(reuse_venv=True)
def bench(session: nox.Session) -> None:
    """Bench every strategy that fits the project, then write the summary."""
    session.install(*BENCHLIB)
    python = tests_python(session)
    session.run("benchlib", "run", "--summary", "--python", python, *session.posargs)


@nox.session(name="bench-list", reuse_venv=True)
def bench_list(session: nox.Session) -> None:
    """List the strategies, and those that cannot work here with the line to add."""
    session.install(*BENCHLIB)
    session.run("benchlib", "list", "--python", tests_python(session), *session.posargs)


@nox.session(reuse_venv=True)
def summary(session: nox.Session) -> None:
    """Merge the result files in results/ into summary.md, summary.json and report.html."""
    session.install(*BENCHLIB)
    session.run("benchlib", "summary", *session.posargs)
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


def benchlib_spec(origin: Origin, target: Path, given: str | None) -> list[str]:
    """Return how the noxfile installs benchlib: as given, else this one's origin.

    A local clone is written relative to the project, never as this machine's absolute path:
    a teammate's checkout side by side works as it is, and anyone else edits one line.
    """
    if given:
        return shlex.split(given)
    args = list(origin.install_args)
    if args and os.path.isabs(args[-1]):
        args[-1] = Path(os.path.relpath(args[-1], target.resolve())).as_posix()
    return args


def tests_install(target: Path, ci: cicommand.CiCommand | None) -> list[str]:
    """Return pip's arguments for the tests' venv: the project with its test dependencies."""
    extra = ["pytest-xdist"] + (["pytest-cov"] if ci and ci.coverage == "coverage run" else [])
    pyproject = target / "pyproject.toml"
    data: dict[str, Any] = {}
    if pyproject.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError, OSError):
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    extras = data.get("project", {}).get("optional-dependencies", {})
    groups = data.get("dependency-groups", {})
    for name in TEST_NAMES:
        if name in extras:
            return ["-e", f".[{name}]", *extra]
    buildable = (target / "setup.py").is_file() or "project" in data or "build-system" in data
    own = ["-e", "."] if buildable else []
    for name in TEST_NAMES:
        if name in groups:
            return [*own, "--group", name, *extra]
    for rel in REQUIREMENTS:
        if (target / rel).is_file():
            return [*own, "-r", rel, "pytest", *extra]
    return [*own, "pytest", *extra]


TEST_NAMES = ("test", "tests", "testing", "dev")
REQUIREMENTS = ("requirements-test.txt", "test-requirements.txt", "requirements/test.txt",
                "requirements-dev.txt")  # fmt: skip


@dataclass(frozen=True)
class _Change:
    """One file init would write: its new text (None: left as it is) and what to say."""

    path: Path
    text: str | None
    line: str


def init(
    target: Path, *, python: str | None = None, benchlib: str | None = None, gate: bool = False
) -> list[str]:
    """Add what is missing; return one line per file saying what was done.

    gate: also write the pull-request gate workflow (cli/gate_workflow.yml). Every change is
    prepared, then staged beside its file, then put in place: a project where one file cannot
    be written is left as it was, never half set up.
    """
    if not target.is_dir():
        raise UsageError(f"target {str(target)!r} is not a folder; pass --target DIR")
    python = python or _find_venv(target)
    ci = cicommand.detect(target)
    spec = benchlib_spec(install_origin(), target, benchlib)
    ignored = [f"/{_results_folder(target)}/", f"/{NOX_DIR}/"]
    changes = [
        _config(target, python, ci),
        _noxfile(target / "noxfile.py", spec, python, tests_install(target, ci)),
        _gitignore(target / ".gitignore", ignored),
    ]
    if gate:
        changes.append(_workflow(target / WORKFLOW, install_origin()))
    _apply([c for c in changes if c.text is not None])
    found = [f"found the project's own test command in {ci.source}: {ci.line}"] if ci else []
    return [*(c.line for c in changes), *found]


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


def _results_folder(target: Path) -> str:
    """Return the results folder the configuration names (read after _config checked it)."""
    try:
        table = config.load(target)
    except UsageError:
        return RESULTS
    folder = table.results.relative_to(table.target).as_posix()
    return folder.strip("/") or RESULTS


def _find_venv(target: Path) -> str | None:
    """Return the relative path of the target's .venv interpreter, if it has one."""
    rel = ".venv/Scripts/python.exe" if sys.platform == "win32" else ".venv/bin/python"
    return rel if (target / rel).is_file() else None


def ci_tables(ci: cicommand.CiCommand) -> str:
    """Return the `ci` strategy, the baseline the full lanes compare with, as TOML."""
    args, markers, keyword = split_selection(ci.args)
    if ci.coverage == "coverage run":
        args = (*args, "--cov", *(("--cov-branch",) if ci.branch else ()))
    lines = [
        "",
        f"# The project's own test command, from {ci.source}: {ci.line}",
        "# It is the baseline: the full lanes are compared with it, like for like.",
        "[strategies.ci]",
        f"description = {_lit('The project' + chr(39) + 's own test command (' + ci.source + ')')}",
        f"args = {json.dumps(list(args))}",
    ]
    if ci.coverage == "coverage run":
        lines.insert(3, "# `coverage run -m pytest` is measured as pytest-cov's --cov.")
    lines += [f"markers = {_lit(markers)}"] if markers else []
    lines += [f"keyword = {_lit(keyword)}"] if keyword else []
    lines += [f"workers = {json.dumps(ci.workers)}"] if ci.workers else []
    lines += ["", "[strategies.serial-full]", 'compare_to = "ci"']
    lines += ["", "[strategies.gate]", 'compare_to = "ci"']
    cov = [a for a in args if a.startswith("--cov")]
    if cov:  # the gate measures what ci measures; serial-full shows what coverage costs
        lines += [f"args = {json.dumps(cov)}  # the coverage ci measures: like for like"]
    return "\n".join(lines) + "\n"


def _config(target: Path, python: str | None, ci: cicommand.CiCommand | None) -> _Change:
    """Write benchlib.toml unless the project configures benchlib already."""
    try:
        found = config.load(target)
    except UsageError as exc:
        raise UsageError(f"{exc}; fix it, then run init again") from None
    if found.source is not None and found.source.name == config.OWN_FILE:
        return _Change(found.source, None, f"kept {found.source}: it exists")
    if found.source is not None and _has_table(found.source):
        return _Change(found.source, None, f"kept {found.source}: it already has [tool.benchlib]")
    path = target / config.OWN_FILE
    setting = PYTHON_SET.format(python=_lit(python)) if python else PYTHON_UNSET
    text = CONFIG.format(python=setting, ci=ci_tables(ci) if ci else "")
    with_ci = " and the `ci` strategy, the project's own test command" if ci else ""
    return _Change(path, text, f"created {path}{with_ci} (pyproject.toml is left as it is)")


def _has_table(pyproject: Path) -> bool:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return isinstance(data.get("tool", {}).get("benchlib"), dict)


def _noxfile(path: Path, spec: list[str], python: str | None, install: list[str]) -> _Change:
    if path.exists():
        return _Change(
            path, None, f"kept {path}: it exists; see benchlib's README to add the bench sessions"
        )
    where = "the project's Python (PYTHON)" if python else "a venv of their own"
    text = NOXFILE.format(
        benchlib=json.dumps(spec), python=_lit(python) if python else "None",
        tests_install=json.dumps(install), tests_where=where,
    )  # fmt: skip
    line = (
        f"created {path}: `nox -s bench` runs every strategy that fits; it installs benchlib "
        f"from BENCHLIB = {json.dumps(spec)} (edit that line to change it)"
    )
    return _Change(path, text, line)


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
