"""The levers of the catalogue that apply to this project, each as a strategy beside the lane.

A candidate is the configured lane with one lever pulled (or, once the race has winners, several
of different families combined). What applies is decided from the lane's own facts (what its
pytest loaded, coverage's core, the Python version) by coverage's and pytest's own rules; what
does not apply is said, with the reason, never silently left out.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchlib.explore.catalogue import BY_NAME, Family
from benchlib.explore.facts import PLUGIN_DIR, Coverage, Facts
from benchlib.plan.strategy import AUTOLOAD_ENV, Strategy

GC_PLUGIN = "benchlib_gc_freeze"
XDIST_MODULE = "xdist.plugin"
COV_MODULE = "pytest_cov.plugin"
# Third-party plugins that come with one the lane needs: never switched off on their own.
COMPANIONS = {"xdist": ("xdist.looponfail",)}
# sys.monitoring arrived in 3.12; coverage measures branches with it from 3.14.0a5 on
# (coverage/env.py: PYBEHAVIOR.pep669, branch_right_left), and makes it the default from 3.14.
SYSMON_PYTHON = (3, 12)
SYSMON_BRANCH_PYTHON = (3, 14)
SYSMON_DEFAULT_PYTHON = (3, 14)
SYSMON_CONCURRENCY_UNSUPPORTED = ("greenlet", "eventlet", "gevent")


@dataclass(frozen=True)
class Change:
    """What a candidate changes in the lane: what the patch writes into the project's files."""

    workers: int | None = None  # None: as the lane
    dist: str | None = None
    args: tuple[str, ...] = ()  # pytest arguments (the patch's addopts)
    env: Mapping[str, str] = field(default_factory=dict)  # environment (CI, noxfile, tox)
    coverage_core: str | None = None  # [tool.coverage.run] core
    gc_freeze: bool = False  # the conftest.py hook

    def merged(self, other: Change) -> Change:
        return Change(
            other.workers if other.workers is not None else self.workers,
            other.dist or self.dist,
            (*self.args, *other.args),  # a plugin loaded twice by -p is loaded once
            {**self.env, **other.env},
            other.coverage_core or self.coverage_core,
            self.gc_freeze or other.gc_freeze,
        )


@dataclass(frozen=True)
class Candidate:
    """The lane with one or more levers pulled."""

    strategy: Strategy
    levers: tuple[str, ...]  # catalogue names
    change: Change
    summary: str  # the change in one line, as a maintainer reads it
    expects_tracer: str | None = None  # coverage's core it must run under to have taken effect
    plugins_off: tuple[str, ...] = ()  # -p no:NAME: each must name a plugin the lane loaded

    @property
    def families(self) -> frozenset[Family]:
        return frozenset(BY_NAME[n].family for n in self.levers)


@dataclass(frozen=True)
class Found:
    candidates: tuple[Candidate, ...]
    not_applicable: tuple[tuple[str, str], ...]  # (lever, why)


def sysmon_blocker(facts: Facts, cov: Coverage) -> str | None:
    """Say why coverage would not use sysmon here (its own rules, coverage/core.py), or None."""
    py = facts.python
    where = f"Python {'.'.join(map(str, py))}"
    if py[:2] < SYSMON_PYTHON:
        return f"sys.monitoring needs Python >= 3.12 and the project runs {where}"
    if cov.branch and py[:2] < SYSMON_BRANCH_PYTHON:
        return f"coverage measures branches with sys.monitoring only from Python 3.14 ({where})"
    if cov.dynamic_context:
        return "coverage does not support dynamic contexts with sysmon"
    bad = [c for c in cov.concurrency if c in SYSMON_CONCURRENCY_UNSUPPORTED]
    if bad:
        return f"coverage does not support concurrency={bad[0]} with sysmon"
    if cov.timid:
        return "coverage's timid = true forces the Python tracer"
    return None


def find(lane: Strategy, workers: int, facts: Facts, xdist_installed: bool, cpus: int) -> Found:
    """Return every candidate that applies to the lane, and the levers that do not, with why."""
    found: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    for build in (_workers, _coverage, _plugins, _capture, _gc):
        made, why = build(lane, workers, facts, xdist_installed, cpus)
        found += made
        skipped += why
    return Found(tuple(found), tuple(skipped))


Result = tuple[list[Candidate], list[tuple[str, str]]]


def _make(lane: Strategy, label: str, levers: Sequence[str], change: Change, summary: str,
          **extra: object) -> Candidate:  # fmt: skip
    env = {**lane.env, **change.env}
    if change.coverage_core:
        env["COVERAGE_CORE"] = change.coverage_core
    args = (*lane.args, *change.args)
    if change.gc_freeze:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
        args = (*args, "-p", GC_PLUGIN)
    s = dataclasses.replace(
        lane, name=f"{lane.name}.{label}", description=summary, env=env, args=args,
        workers=lane.workers if change.workers is None else change.workers,
        dist=lane.dist if change.dist is None else change.dist, compare_to=lane.name,
        budgets={}, like=None,
    )  # fmt: skip
    return Candidate(s, tuple(levers), change, summary, **extra)  # type: ignore[arg-type]


def _xdist_args(facts: Facts) -> tuple[str, ...]:
    """Bring xdist back by -p where autoload is off and it did not load."""
    return () if facts.xdist else ("-p", XDIST_MODULE)


def _workers(lane: Strategy, workers: int, facts: Facts, installed: bool, cpus: int) -> Result:
    if not installed:
        return [], [("xdist-workers", "pytest-xdist is not installed in the project's Python")]
    found: list[Candidate] = []
    dist = lane.dist or "load"
    counts = [n for n in dict.fromkeys((cpus, 2 * cpus)) if n != workers]
    for n in counts:
        change = Change(workers=n, dist="load", args=_xdist_args(facts))
        found.append(_make(lane, f"n{n}", ["xdist-workers"], change, f"run with `-n {n}`"))
    for mode in ("worksteal", "loadfile"):
        if workers == cpus and mode == dist:
            continue
        change = Change(workers=cpus, dist=mode, args=_xdist_args(facts))
        found.append(_make(lane, f"n{cpus}-{mode}", ["xdist-dist"], change,
                           f"run with `-n {cpus} --dist {mode}`"))  # fmt: skip
    if workers:
        found.append(_make(lane, "serial", ["xdist-workers"], Change(workers=0), "run serially"))
    return found, []


def _coverage(lane: Strategy, workers: int, facts: Facts, installed: bool, cpus: int) -> Result:
    cov = facts.coverage
    if cov is None:
        return [], [("coverage-core", "the lane does not measure coverage")]
    found: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    blocker = sysmon_blocker(facts, cov)
    if cov.tracer == "SysMonitor":
        skipped.append(("coverage-core", "coverage already runs on sys.monitoring"))
    elif blocker is not None:
        skipped.append(("coverage-core", f"sysmon: {blocker}"))
    else:
        found.append(_make(lane, "sysmon", ["coverage-core"], Change(coverage_core="sysmon"),
                           "measure coverage with `COVERAGE_CORE=sysmon`",
                           expects_tracer="SysMonitor"))  # fmt: skip
    if cov.tracer == "PyTracer" and not cov.timid:
        found.append(_make(lane, "ctrace", ["coverage-core"], Change(coverage_core="ctrace"),
                           "measure coverage with coverage's C tracer (`COVERAGE_CORE=ctrace`)",
                           expects_tracer="CTracer"))  # fmt: skip
    return found, skipped


def needed_plugins(lane: Strategy, workers: int, facts: Facts) -> dict[str, str]:
    """Return the third-party plugins the lane needs: registered name -> module."""
    needed = {}
    for name, module in facts.third_party.items():
        named = any(a in (name, module, f"-p{name}", f"-p{module}") for a in lane.args)
        if (name == "xdist" and workers) or (name == "pytest_cov" and facts.coverage) or named:
            needed[name] = module
            needed.update({c: facts.third_party[c] for c in COMPANIONS.get(name, ())
                           if c in facts.third_party})  # fmt: skip
    return needed


def _plugins(lane: Strategy, workers: int, facts: Facts, installed: bool, cpus: int) -> Result:
    needed = needed_plugins(lane, workers, facts)
    unused = sorted(set(facts.third_party) - set(needed))
    found: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    if facts.autoload_off:
        skipped.append(("autoload-off", "the lane already runs with plugin autoload off"))
    elif not unused:
        skipped.append(("autoload-off", "every plugin that loads is one the lane needs"))
    else:
        args = tuple(x for m in needed.values() for x in ("-p", m))
        change = Change(args=args, env={AUTOLOAD_ENV: "1"})
        kept = ", ".join(needed) or "none"
        found.append(
            _make(
                lane,
                "autoload-off",
                ["autoload-off"],
                change,
                f"set `{AUTOLOAD_ENV}=1` and load only the plugins needed ({kept})",
            )
        )
    if unused and not facts.autoload_off:
        args = tuple(x for n in unused for x in ("-p", f"no:{n}"))
        found.append(_make(lane, "plugins-off", ["unused-plugins-off"], Change(args=args),
                           f"switch off plugins the lane does not need: {', '.join(unused)}",
                           plugins_off=tuple(unused)))  # fmt: skip
    elif not unused:
        skipped.append(("unused-plugins-off", "no loaded plugin is unneeded"))
    return found, skipped


def _capture(lane: Strategy, workers: int, facts: Facts, installed: bool, cpus: int) -> Result:
    found: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    if facts.capture == "fd":
        found.append(_make(lane, "capture-sys", ["capture-sys"], Change(args=("--capture=sys",)),
                           "capture output with `--capture=sys`"))  # fmt: skip
    else:
        skipped.append(("capture-sys", f"the lane captures with --capture={facts.capture}"))
    if "logging" in facts.plugins:
        found.append(_make(lane, "no-logging", ["logging-off"], Change(args=("-p", "no:logging")),
                           "switch off pytest's logging plugin (`-p no:logging`)",
                           plugins_off=("logging",)))  # fmt: skip
    else:
        skipped.append(("logging-off", "pytest's logging plugin is not loaded"))
    return found, skipped


def _gc(lane: Strategy, workers: int, facts: Facts, installed: bool, cpus: int) -> Result:
    change = Change(gc_freeze=True)
    return [_make(lane, "gc-freeze", ["gc-freeze"], change,
                  "freeze the garbage collector after collection (`gc.freeze()`)")], []  # fmt: skip


def combine(lane: Strategy, winners: Sequence[Candidate]) -> Candidate:
    """Return one candidate with every winner's change (winners of different families)."""
    change = Change()
    for w in winners:
        change = change.merged(w.change)
    if change.env.get(AUTOLOAD_ENV) and (change.workers or lane.workers):
        change = change.merged(Change(args=("-p", XDIST_MODULE)))  # workers with autoload off
    levers = tuple(x for w in winners for x in w.levers)
    tracer = next((w.expects_tracer for w in winners if w.expects_tracer), None)
    off = tuple(x for w in winners for x in w.plugins_off)
    summary = "; ".join(w.summary for w in winners)
    return _make(lane, "combined", levers, change, summary, expects_tracer=tracer,
                 plugins_off=off)  # fmt: skip
