"""Ask the project's own pytest, in the project's interpreter, how it is set up: before any run.

benchlib never imports the project's pytest: a short script runs in the project's interpreter
(an argv list, cwd the project), builds pytest's configuration exactly as a run would (ini file,
addopts, PYTEST_ADDOPTS, plugins, the initial conftest.py files) and dumps what it found as one
JSON line from a `pytest_configure` hook that runs last, then leaves with `os._exit`: nothing
is collected, no xdist worker starts, no report or coverage file is written in the project.

One probe a (python, target, args) per benchlib process: `probe()` caches its answers.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from benchlib.errors import InputError

PROBE_TIMEOUT_S = 120.0  # a configure is seconds even on large projects; a hang is not waited on
# The line before the JSON: a sitecustomize, a conftest or a plugin may print at import.
_MARK = "@@benchlib-probe@@"

# Run by the project's interpreter: `python -c _SCRIPT ARG...`; ARG are pytest's arguments.
_SCRIPT = r"""
import importlib.metadata, json, os, platform, sys

import pytest

MARK = sys.argv[1]


def strict_markers(config):
    for name in ("strict_markers", "strict"):
        if getattr(config.option, name, False):
            return True
        try:
            if config.getini(name):
                return True
        except (ValueError, KeyError):
            pass
    return False


def plugins(config):
    pm = config.pluginmanager
    dists = {id(p): (d.project_name, d.version) for p, d in pm.list_plugin_distinfo()}
    try:
        owners = importlib.metadata.packages_distributions()
    except Exception:
        owners = {}
    found = []
    for name, plugin in pm.list_name_plugin():
        module = getattr(plugin, "__name__", None)
        if plugin is None or not isinstance(module, str) or module.startswith("_pytest."):
            continue  # blocked (-p no:NAME), an object, or pytest's own
        if module in ("pytest", "__main__") or module.endswith("conftest"):
            continue
        dist, version = dists.get(id(plugin), (None, None))
        if dist is None:
            dist = (owners.get(module.split(".")[0]) or [None])[0]
            version = importlib.metadata.version(dist) if dist else None
        found.append({"name": name, "module": module, "distribution": dist, "version": version})
    return found


def coverage(config):
    option = config.option
    sources = getattr(option, "cov_source", None)
    if not sources or getattr(option, "no_cov", False):
        return None
    branch = getattr(option, "cov_branch", None)
    if branch is None:
        try:
            import coverage
            cov = coverage.Coverage(data_file=None, config_file=option.cov_config)
            branch = bool(cov.get_option("run:branch"))
        except Exception:
            branch = False
    return {"sources": ["" if s is True else str(s) for s in sources], "branch": bool(branch)}


def version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def markers(config):
    names = set()
    for line in config.getini("markers"):
        names.add(line.split(":", 1)[0].split("(", 1)[0].strip())
    return sorted(n for n in names if n)


class Probe:
    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        modules = {getattr(p, "__name__", None) for p in config.pluginmanager.get_plugins()}
        try:
            ini_addopts = list(config.getini("addopts"))
        except (ValueError, KeyError):
            ini_addopts = []
        found = {
            "python_version": platform.python_version(),
            "pytest_version": pytest.__version__,
            "rootdir": str(config.rootpath),
            "inifile": str(config.inipath) if config.inipath else None,
            "testpaths": list(config.getini("testpaths")),
            "markers": markers(config),
            "ini_addopts": ini_addopts,
            "args": list(config.invocation_params.args),
            "plugins": plugins(config),
            "xdist_loaded": "xdist.plugin" in modules,
            "xdist_version": version("pytest-xdist"),
            "coverage": coverage(config),
            "strict_markers": strict_markers(config),
        }
        sys.stdout.write("\n" + MARK + json.dumps(found) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # nothing else: no collection, no xdist workers, no report files


sys.exit(pytest.main(sys.argv[2:], plugins=[Probe()]))
"""


@dataclass(frozen=True)
class Plugin:
    """A pytest plugin the project's pytest loaded (conftest.py files and pytest's own aside)."""

    name: str  # as pytest registered it: the entry point's name ("xdist"), or the -p module
    module: str  # the imported module, e.g. "xdist.plugin"
    distribution: str | None  # the installed distribution, e.g. "pytest-xdist"; None: local
    version: str | None


@dataclass(frozen=True)
class Coverage:
    """Coverage measured by a test command: by pytest-cov's --cov, or by `coverage run`."""

    via: Literal["pytest-cov", "coverage run"]
    sources: tuple[str, ...]  # --cov values; "" is --cov without one (everything imported)
    branch: bool  # branch coverage (--cov-branch, or `branch = true` in coverage's config)


@dataclass(frozen=True)
class ProjectProbe:
    """How the project's pytest is set up, as its own interpreter configured it.

    Every field is what pytest itself reported, not a reading of config files: a marker a
    conftest.py registers counts, an addopts in tox.ini counts. When pytest could not configure
    (a usage error, a plugin that fails to import), `error` holds pytest's own reason and the
    fields pytest did not reach keep their empty defaults.
    """

    python: str  # the interpreter asked, as given to subprocess (absolute)
    target: str  # the folder pytest ran in
    args: tuple[str, ...]  # the pytest arguments given to the probe (paths, shared args)
    exit_code: int  # 0: configured; pytest's own code otherwise (4: usage error, 3: internal)
    error: str | None  # pytest's reason when exit_code != 0, e.g. "ERROR: file or directory..."
    probe_s: float  # how long the probe took, start-up included
    python_version: str = ""
    pytest_version: str = ""
    rootdir: str = ""
    inifile: str | None = None  # the configuration file pytest read; None: none found
    testpaths: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()  # every registered marker name, sorted (pytest's own too)
    ini_addopts: tuple[str, ...] = ()  # addopts from the ini file
    env_addopts: tuple[str, ...] = ()  # PYTEST_ADDOPTS, split as pytest splits it
    invocation_args: tuple[str, ...] = ()  # what pytest saw on its command line
    plugins: tuple[Plugin, ...] = ()
    xdist_loaded: bool = False  # pytest-xdist's plugin is active in this configuration
    xdist_version: str | None = None  # pytest-xdist installed there (loaded or not)
    autoload_disabled: bool = False  # PYTEST_DISABLE_PLUGIN_AUTOLOAD or --disable-plugin-autoload
    coverage: Coverage | None = None  # coverage pytest-cov measures in every run, if any
    strict_markers: bool = False  # --strict-markers (or strict) in force: unknown -m is an error

    @property
    def ok(self) -> bool:
        """Tell whether pytest configured: the other fields are pytest's answers."""
        return self.exit_code == 0

    @property
    def addopts(self) -> tuple[str, ...]:
        """Return the options pytest adds to every run: the ini file's, then PYTEST_ADDOPTS."""
        return (*self.ini_addopts, *self.env_addopts)

    def has_marker(self, name: str) -> bool:
        return name in self.markers

    def has_plugin(self, distribution: str) -> bool:
        """Tell whether a plugin of that distribution (e.g. "pytest-cov") is loaded."""
        want = _normal(distribution)
        return any(p.distribution and _normal(p.distribution) == want for p in self.plugins)

    def unregistered(self, idents: Sequence[str]) -> tuple[str, ...]:
        """Return the names among idents (a -m expression's) that no marker registers."""
        return tuple(sorted({i for i in idents if i not in self.markers}))


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


_CACHE: dict[tuple[str, str, tuple[str, ...], str | None, str | None], ProjectProbe] = {}


def probe(python: str, target: Path, args: Sequence[str] = ()) -> ProjectProbe:
    """Return how the project's pytest is configured with these arguments (cached per process).

    Raise InputError only when the interpreter cannot be started or answers with no JSON;
    pytest's own errors are an answer (`error`), for the caller to judge.
    """
    env_addopts = os.environ.get("PYTEST_ADDOPTS")
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    key = (python, str(target), tuple(args), env_addopts, autoload)
    if key not in _CACHE:
        _CACHE[key] = _run(python, target, tuple(args))
    return _CACHE[key]


def _run(python: str, target: Path, args: tuple[str, ...]) -> ProjectProbe:
    t0 = time.monotonic()
    try:
        out = subprocess.run(
            [python, "-c", _SCRIPT, _MARK, *args],
            cwd=target, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL, errors="replace",
        )  # fmt: skip
    except OSError as exc:
        raise InputError(
            "python", python, f"cannot be run ({exc.strerror})", "give an existing Python"
        ) from None
    except subprocess.TimeoutExpired:
        raise InputError(
            "python", python, f"did not configure pytest within {PROBE_TIMEOUT_S:g} s",
            "check that `python -m pytest --co -q` starts in the project",
        ) from None  # fmt: skip
    base = ProjectProbe(
        python=python, target=str(target), args=args, exit_code=out.returncode,
        error=None, probe_s=time.monotonic() - t0,
    )  # fmt: skip
    found = _answer(out.stdout)
    if found is None:
        return _failed(base, out.returncode, out.stdout, out.stderr, python)
    return _from_json(base, found)


def _answer(stdout: str) -> dict[str, object] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARK):
            try:
                found = json.loads(line[len(_MARK) :])
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def _failed(base: ProjectProbe, code: int, stdout: str, stderr: str, python: str) -> ProjectProbe:
    """Return pytest's own reason for not configuring, or raise if pytest never started."""
    if code == 0:  # exit 0 and no answer: something exited early, pytest never configured
        code = 3
    reason = pytest_reason(stderr) or pytest_reason(stdout)
    if reason is None and re.search(r"No module named '?pytest'?$", stderr, re.MULTILINE):
        raise InputError(
            "python", python, "has no pytest", f"install it there: {python} -m pip install pytest"
        )
    last = (stderr.strip().splitlines() or stdout.strip().splitlines() or ["no output"])[-1]
    return _replace(base, exit_code=code, error=reason or last.strip())


def pytest_reason(output: str) -> str | None:
    """Return pytest's own line for a usage or internal error in a run's output, if any.

    A usage error is printed as "ERROR: ..." (pytest >= 7, e.g. "ERROR: Unknown marker(s) in
    '-m' expression: unit. ..."); an internal error as "INTERNALERROR> ..." lines, whose last
    line is the exception. One line either way.
    """
    lines = output.splitlines()
    # argparse's rejection: "ERROR: usage: ..." then "PROG: error: unrecognized arguments: X".
    usage = [ln.split(": error: ", 1)[1].strip() for ln in lines if ": error: " in ln]
    if usage:
        return f"ERROR: {usage[0]}"
    errors = [ln.strip() for ln in lines if ln.startswith("ERROR:")]
    if errors:
        return " ".join(errors)
    internal = [ln[len("INTERNALERROR>") :].strip() for ln in lines if ln.startswith("INTERNAL")]
    internal = [ln for ln in internal if ln]
    return f"INTERNALERROR> {internal[-1]}" if internal else None


def _replace(base: ProjectProbe, **changes: object) -> ProjectProbe:
    import dataclasses

    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _from_json(base: ProjectProbe, found: dict[str, object]) -> ProjectProbe:
    cov = found.get("coverage")
    coverage = (
        Coverage("pytest-cov", _strs(cov.get("sources")), bool(cov.get("branch")))
        if isinstance(cov, dict)
        else None
    )
    plugins = tuple(
        Plugin(
            name=str(p.get("name")),
            module=str(p.get("module")),
            distribution=_opt(p.get("distribution")),
            version=_opt(p.get("version")),
        )
        for p in found.get("plugins") or []  # type: ignore[attr-defined]
        if isinstance(p, dict)
    )
    invocation = _strs(found.get("args"))
    return _replace(
        base,
        exit_code=0,
        python_version=str(found.get("python_version", "")),
        pytest_version=str(found.get("pytest_version", "")),
        rootdir=str(found.get("rootdir", "")),
        inifile=_opt(found.get("inifile")),
        testpaths=_strs(found.get("testpaths")),
        markers=_strs(found.get("markers")),
        ini_addopts=_strs(found.get("ini_addopts")),
        env_addopts=tuple(shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))),
        invocation_args=invocation,
        plugins=plugins,
        xdist_loaded=found.get("xdist_loaded") is True,
        xdist_version=_opt(found.get("xdist_version")),
        autoload_disabled=_autoload_disabled([*invocation, *_strs(found.get("ini_addopts"))]),
        coverage=coverage,
        strict_markers=found.get("strict_markers") is True,
    )


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _autoload_disabled(args: Sequence[str]) -> bool:
    # pytest reads the variable as "set to anything" (pytest >= 8.4 also takes the option).
    return bool(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")) or (
        "--disable-plugin-autoload" in args
    )
