"""Which strategies can work on this project, judged from its probe before anything runs.

A built-in strategy that cannot work here (a `-m unit` lane where no `unit` marker is
registered, an xdist lane where pytest-xdist is not loaded) is not run: it is listed as not
applicable, with the reason and the line that would make it work. A strategy the user declared
(in the configuration, or named on the command line) that cannot work is an error before
anything runs: the user asked for it, and its failure is certain.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib.errors import InputError
from benchlib.plan.probe import Coverage, ProjectProbe
from benchlib.plan.strategy import BUILTIN, Strategy

_IDENT = re.compile(r"[A-Za-z_][\w.]*")
_WORDS = frozenset({"and", "or", "not", "True", "False", "None"})
# Written by `benchlib run` under the results folder's logs/, beside the runs' logs: a tool
# that globs results/*.json for runs never meets it.
PROJECT_FILE = "logs/project.json"


@dataclass(frozen=True)
class NotApplicable:
    """A built-in strategy left out: why it cannot work here and what would make it work."""

    strategy: str
    reason: str  # e.g. "-m 'unit' names marker 'unit', which this project does not register"
    fix: str  # the line to add (or the command to run), as the user would type it


@dataclass(frozen=True)
class Fit:
    """The project as its pytest is configured, and what that means for the strategies."""

    python: str
    python_version: str
    pytest_version: str
    inifile: str | None
    markers: tuple[str, ...]
    strict_markers: bool
    addopts: tuple[str, ...]
    plugins: tuple[str, ...]  # "distribution version" of each loaded plugin
    xdist_loaded: bool
    autoload_disabled: bool
    coverage: Coverage | None  # measured by every run through the project's addopts
    not_applicable: tuple[NotApplicable, ...] = ()
    notes: tuple[str, ...] = ()  # one line each: the shared interpreter, coverage given up

    def skipped(self, name: str) -> NotApplicable | None:
        return next((n for n in self.not_applicable if n.strategy == name), None)


def idents(expression: str | None) -> tuple[str, ...]:
    """Return the marker names a -m expression uses (keyword arguments' values aside)."""
    if not expression:
        return ()
    # marker(key=value): only the name counts; a bracket after a space or `not` only groups.
    bare = re.sub(r"\b([A-Za-z_][\w.]*)\(([^()]*)\)", _drop_kwargs, expression)
    return tuple(dict.fromkeys(w for w in _IDENT.findall(bare) if w not in _WORDS))


def _drop_kwargs(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"{name} ({match.group(2)})" if name in _WORDS else name


def _builtin_markers(name: str) -> str | None:
    """Return a built-in strategy's own -m, following `like` (xdist-unit runs unit's)."""
    s = BUILTIN.get(name)
    while s is not None and s.markers is None and s.like is not None:
        s = BUILTIN.get(s.like)
    return s.markers if s else None


def marker_fix(probe: ProjectProbe, marker: str) -> str:
    """Return the line that registers a marker, in the file pytest reads."""
    return marker_fix_for(probe.inifile, marker)


def marker_fix_for(inifile: str | None, marker: str) -> str:
    ini = Path(inifile) if inifile else None
    words = f"{marker}: describe the tests marked {marker}"
    if ini is None or ini.name == "pyproject.toml":
        return f'markers = ["{words}"] under [tool.pytest.ini_options] in pyproject.toml'
    section = "[tool:pytest]" if ini.name == "setup.cfg" else "[pytest]"
    return f"markers = {words} under {section} in {ini.name}"


def _marker_problem(expression: str | None, probe: ProjectProbe, *, strict_only: bool,
                    name: str) -> NotApplicable | None:  # fmt: skip
    """Return why a -m cannot work: a marker the project does not register.

    Under --strict-markers that is a usage error; without, a positive built-in lane on it
    selects nothing (strict_only=False), while a declared expression may be meant.
    """
    missing = probe.unregistered(idents(expression))
    if not missing or (strict_only and not probe.strict_markers):
        return None
    names = ", ".join(repr(m) for m in missing)
    if probe.strict_markers:
        consequence = "and --strict-markers makes that a usage error"
    else:
        consequence = "so no test carries it and the lane selects nothing"
    reason = (
        f"-m {expression!r} names marker {names}, which the project does not register, "
        f"{consequence}"
    )
    fix = f"register it ({marker_fix(probe, missing[0])}) and mark the tests"
    return NotApplicable(name, reason, fix)


def _xdist_problem(s: Strategy, probe: ProjectProbe, workers: int) -> NotApplicable | None:
    if workers == 0 or probe.xdist_loaded:
        return None
    if probe.xdist_version is None:
        reason = f"{probe.python} has no pytest-xdist, which it needs for {workers} workers"
        fix = (
            f"install it there ({probe.python} -m pip install pytest-xdist, or add it to the "
            "test dependencies) or pass --workers 0"
        )
    else:
        why = "plugin autoload is off" if probe.autoload_disabled else "it is blocked"
        reason = f"{workers} xdist workers, but pytest-xdist is installed and not loaded ({why})"
        fix = 'args = ["-p", "xdist.plugin"] in benchlib\'s configuration'
    return NotApplicable(s.name, reason, fix)


def _like_problem(s: Strategy, left: Sequence[NotApplicable]) -> NotApplicable | None:
    if s.like is None or all(n.strategy != s.like for n in left):
        return None
    return NotApplicable(
        s.name, f"it runs {s.like!r}'s selection, which is not applicable here",
        f"make {s.like!r} applicable",
    )  # fmt: skip


def check(
    strategies: Mapping[str, Strategy],
    names: Sequence[str],
    workers: Mapping[str, int],
    probe: ProjectProbe,
    declared: Collection[str],
) -> tuple[list[str], tuple[NotApplicable, ...]]:
    """Return the strategies to run and the built-ins left out; raise for a declared one.

    declared: the strategies the user configured or named; everything else is a built-in
    default, which is left out (and said) where it cannot work.
    """
    if not probe.ok:
        raise InputError(
            "target", probe.target, f"cannot be configured by its pytest ({probe.error})",
            f"fix the project's pytest configuration: {probe.python} -m pytest --co -q shows it",
        )  # fmt: skip
    run: list[str] = []
    left: list[NotApplicable] = []
    for name in names:
        s, n = strategies[name], workers[name]
        if name in BUILTIN and name not in declared:
            problem = (
                _marker_problem(_builtin_markers(name), probe, strict_only=False, name=name)
                or _like_problem(s, left)
                or _xdist_problem(s, probe, n)
            )
            if problem is not None:
                left.append(problem)
                continue
        hard = _marker_problem(s.markers, probe, strict_only=True, name=name)
        hard = hard or _xdist_problem(s, probe, n)
        if hard is not None:
            raise InputError("strategy", name, f"cannot work here: {hard.reason}", hard.fix)
        run.append(name)
    return run, tuple(left)


def marker_warnings(
    strategies: Mapping[str, Strategy], names: Sequence[str], probe: ProjectProbe
) -> list[str]:
    """Warn of each declared -m name the project's pytest does not register (not strict)."""
    warnings = []
    for name in names:
        s = strategies[name]
        for marker in probe.unregistered(idents(s.markers)):
            warnings.append(
                f"strategy {name!r} selects -m {s.markers!r}, but the project's pytest does not "
                f"register marker {marker!r}; it may select nothing"
            )
    return warnings


def build(probe: ProjectProbe, left: Sequence[NotApplicable], notes: Sequence[str]) -> Fit:
    plugins = tuple(
        f"{p.distribution} {p.version}" if p.version else str(p.distribution)
        for p in probe.plugins
        if p.distribution
    )
    return Fit(
        python=probe.python,
        python_version=probe.python_version,
        pytest_version=probe.pytest_version,
        inifile=probe.inifile,
        markers=probe.markers,
        strict_markers=probe.strict_markers,
        addopts=probe.addopts,
        plugins=tuple(dict.fromkeys(plugins)),
        xdist_loaded=probe.xdist_loaded,
        autoload_disabled=probe.autoload_disabled,
        coverage=probe.coverage,
        not_applicable=tuple(left),
        notes=tuple(notes),
    )


def not_applicable_words(n: NotApplicable) -> str:
    """Say in one line why a strategy was not run and what to add."""
    return f"{n.strategy}: not applicable here: {n.reason}; to use it: {n.fix}"


def save(found: Fit, folder: Path) -> Path:
    """Write the fit beside the result files, where the summary finds it."""
    from benchlib.model.results import write_atomic

    path = folder / PROJECT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(dataclasses.asdict(found), indent=2) + "\n")
    return path


def load(folders: Sequence[Path]) -> Fit | None:
    """Read the fit `benchlib run` saved in the first folder that has one; None if none does."""
    for folder in folders:
        path = (folder if folder.is_dir() else folder.parent) / PROJECT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return _from_dict(data)
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a fit is an extra: a summary without one is still whole
    return None


def _from_dict(data: dict[str, object]) -> Fit:
    fields = {f.name for f in dataclasses.fields(Fit)}
    given = {k: v for k, v in data.items() if k in fields}
    cov = given.get("coverage")
    given["coverage"] = Coverage(**cov) if isinstance(cov, dict) else None
    for key in ("markers", "addopts", "plugins", "notes"):
        given[key] = tuple(given.get(key) or ())  # type: ignore[arg-type]
    left = given.get("not_applicable") or []
    given["not_applicable"] = tuple(NotApplicable(**n) for n in left)  # type: ignore[attr-defined]
    return Fit(**given)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GivenUp:
    """A lane compared with one that measures coverage, which does not measure it itself."""

    strategy: str
    baseline: str  # the strategy it is compared with, which measures it
    what: str  # e.g. "coverage (pytest-cov, branch)"
    cost_s: float | None  # the baseline's median less a lane alike but for coverage; None: none


@dataclass(frozen=True)
class Lane:
    """What the comparison of coverage needs to know of one strategy's runs."""

    name: str
    argv: tuple[str, ...]  # pytest's arguments as recorded (or a command step's argv)
    workers: int
    scope: str
    compare_to: str | None
    wall_s: float | None  # median


def measures_coverage(argv: Sequence[str], addopts: Coverage | None) -> str | None:
    """Say what coverage a run measures: the project's addopts, its own --cov, coverage run."""
    if "--no-cov" in argv:
        return None
    if "coverage" in (Path(a).name for a in argv[:1]) or "coverage" in argv[:3]:
        return "coverage (coverage run)"
    if any(a == "--cov" or a.startswith("--cov=") for a in argv):
        return "coverage (pytest-cov)"
    if addopts is not None:
        return "coverage (pytest-cov, from addopts)" + (", branch" if addopts.branch else "")
    return None


def given_up(lanes: Sequence[Lane], addopts: Coverage | None) -> tuple[GivenUp, ...]:
    """Return each lane that drops the coverage its compare_to measures, with that time."""
    by_name = {lane.name: lane for lane in lanes}
    found = []
    for lane in lanes:
        base = by_name.get(lane.compare_to or "")
        if base is None:
            continue
        what = measures_coverage(base.argv, addopts)
        if what is None or measures_coverage(lane.argv, addopts) is not None:
            continue
        found.append(GivenUp(lane.name, base.name, what, _cost(base, lanes, addopts)))
    return tuple(found)


def _cost(base: Lane, lanes: Sequence[Lane], addopts: Coverage | None) -> float | None:
    """Return base's time less that of a lane like it but for coverage (same workers, full)."""
    for twin in lanes:
        alike = twin.workers == base.workers and twin.scope == "full" == base.scope
        if twin is base or not alike or measures_coverage(twin.argv, addopts) is not None:
            continue
        if base.wall_s is not None and twin.wall_s is not None:
            return base.wall_s - twin.wall_s
    return None
