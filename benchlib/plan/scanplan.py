"""What a scan runs: a strategy's variants over axes (workers, --dist, environment, arguments).

Each variant is a recorded strategy of its own, ``dataclasses.replace`` of the strategy with a
name that says where it sits on the axes: ``gate@n2-load``, ``gate@n0`` (serial),
``gate@n4-worksteal+PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``. The strategy as configured is always
one of them; the others compare to it, and it compares to the serial variant, so the summary's
verdicts and ``--repeat auto``'s stopping rule work on a scan as on any bench.

The axes on the command line, each argv-safe (split with shlex, never given to a shell):

    --workers 0,1,2,4 | 0..auto | ..2*auto      counts, or a range: its ends, 1, the powers of
                                                two between, and the usable CPUs if inside
    --dist load,worksteal,loadfile,loadscope    xdist modes (a serial variant has none)
    --axis env:NAME=A,B                         an environment variable's values; an empty
                                                value leaves it as configured
    --axis 'args:-p no:randomly|'               alternative argument sets, split on "|"; an
                                                empty one adds nothing
    --axis coverage                             COVERAGE_CORE=ctrace,sysmon (Python >= 3.12)
    --axis autoload[:PLUGIN,...]                PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 with -p xdist
                                                and -p for each plugin named
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib.errors import InputError
from benchlib.plan.machine import Interpreter
from benchlib.plan.runplan import RunPlan
from benchlib.plan.strategy import DIST_MODES, Strategy, resolve_workers

DEFAULT_DISTS = ("load",)
# Modes that do not split the suite: "each" runs every test on every worker, "no" none.
NOT_SCANNED = ("each", "no")
SEPARATOR = "@"  # base@coordinates: no strategy name contains it (strategy.NAME)
AUTOLOAD_ENV = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
# sys.monitoring, which coverage's "sysmon" core uses, arrived in Python 3.12.
SYSMON_PYTHON = (3, 12)
AXIS_FIX = "use env:NAME=A,B, 'args:ALT|ALT', coverage, or autoload[:PLUGIN,...]"


@dataclass(frozen=True)
class Value:
    """One value of an axis: what it adds to the strategy, and its label in variant names."""

    label: str  # "" for the value as configured
    env: tuple[tuple[str, str], ...] = ()
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Grid:
    """Every axis of a scan; notes say which axes were left out and why."""

    workers: tuple[int, ...]
    dists: tuple[str, ...] = DEFAULT_DISTS
    axes: tuple[Axis, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    strategy: Strategy  # its name is base@coordinates, its workers resolved
    workers: int
    labels: tuple[str, ...]  # the values it takes on the other axes ("" as configured)
    configured: bool  # the strategy as configured


# --- parsing the axes ---------------------------------------------------------------------


def _count(text: str, usable: int) -> int:
    """Read `4`, `auto` or `2*auto`; -1 when it is none of them."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    factor, star, word = text.rpartition("*")
    if word.strip() != "auto":
        return -1
    if not star:
        return usable
    return usable * int(factor) if factor.strip().isdigit() else -1


def default_workers(usable: int) -> tuple[int, ...]:
    """Return 0, 1 and the powers of two up to twice the usable CPUs, with the usable CPUs."""
    return span(0, 2 * usable, usable)


def span(low: int, high: int, usable: int) -> tuple[int, ...]:
    found = {low, high, usable, *(2**k for k in range(0, high.bit_length() + 1))}
    return tuple(sorted(n for n in found if low <= n <= high))


def parse_workers(text: str, usable: int) -> tuple[int, ...]:
    """Read a worker list (0,1,2,4) or range (0..auto, ..2*auto); raise InputError."""
    found: set[int] = set()
    for item in text.split(","):
        low_text, dots, high_text = item.partition("..")
        low = _count(low_text or "0", usable)
        high = _count(high_text, usable) if dots else low
        if low < 0 or high < 0 or high < low:
            raise InputError(
                "workers", text, f"has {item.strip()!r}, which is not a count or a range",
                "give counts and ranges like 0,1,2,4 or 0..auto or ..2*auto",
            )  # fmt: skip
        found.update(span(low, high, usable) if dots else (low,))
    return tuple(sorted(found))


def parse_dists(text: str) -> tuple[str, ...]:
    modes = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    allowed = [m for m in DIST_MODES if m not in NOT_SCANNED]
    for mode in modes:
        if mode not in allowed:
            raise InputError(
                "dist", text, f"has {mode!r}, which is not a mode a scan can compare",
                f"use some of: {', '.join(allowed)}",
            )  # fmt: skip
    return modes or DEFAULT_DISTS


def parse_axis(text: str, python: str, xdist: bool) -> Axis | str:
    """Read one --axis; return a note instead when it cannot run with this interpreter."""
    kind, colon, spec = text.partition(":")
    if kind == "env" and "=" in spec:
        name, _, values = spec.partition("=")
        return Axis(f"env:{name}", tuple(_env_value(name, v) for v in values.split(",")))
    if kind == "args" and colon:
        return Axis("args", tuple(_args_value(alt, text) for alt in spec.split("|")))
    if kind == "coverage" and not spec:
        return _coverage_axis(python)
    if kind == "autoload":
        plugins = tuple(p.strip() for p in spec.split(",") if p.strip())
        return autoload_axis(plugins, xdist)
    raise InputError("axis", text, "is not an axis", AXIS_FIX)


def _env_value(name: str, value: str) -> Value:
    return Value(f"{name}={value}", env=((name, value),)) if value else Value("")


def _args_value(alternative: str, text: str) -> Value:
    try:
        args = tuple(shlex.split(alternative))
    except ValueError as exc:
        raise InputError(
            "axis", text, f"cannot be split into arguments ({exc})", AXIS_FIX
        ) from None
    return Value(shlex.join(args), args=args) if args else Value("")


def _coverage_axis(python: str) -> Axis | str:
    version = tuple(int(p) for p in python.split(".")[:2] if p.isdigit())
    if version < SYSMON_PYTHON:
        return (
            f"the coverage axis (COVERAGE_CORE=ctrace,sysmon) is unavailable: sysmon needs "
            f"Python 3.12 or newer and the target's Python is {python}"
        )
    values = tuple(_env_value("COVERAGE_CORE", v) for v in ("ctrace", "sysmon"))
    return Axis("env:COVERAGE_CORE", values)


def autoload_axis(plugins: Sequence[str], xdist: bool) -> Axis:
    """Return plugin autoload as configured against off, with the plugins loaded by -p."""
    needed = (*(("xdist",) if xdist else ()), *plugins)
    args = tuple(itertools.chain.from_iterable(("-p", p) for p in needed))
    off = Value(shlex.join((f"{AUTOLOAD_ENV}=1", *args)), env=((AUTOLOAD_ENV, "1"),), args=args)
    return Axis("autoload", (Value(""), off))


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_memory_budget(text: str) -> int | Literal["auto"]:
    """Read bytes: 4GiB, 4G, 512M, 1073741824, or auto (the machine's memory).

    An argparse type: a bad value raises ArgumentTypeError, said in one line by the parser.
    """
    if text == "auto":
        return "auto"
    number = text.rstrip("BbIi").rstrip()
    unit = number[-1:].lower() if number[-1:].isalpha() else ""
    try:
        value = float(number[: len(number) - len(unit)]) * _UNITS[unit]
    except (KeyError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not valid; give bytes like 4GiB, 512M or 1073741824, or auto"
        )
    return int(value)


def grid(
    workers: str | None, dists: str | None, axes: Sequence[str], python: Interpreter, usable: int
) -> Grid:
    """Read the command line's axes into a grid; raise InputError for a bad one."""
    counts = parse_workers(workers, usable) if workers else default_workers(usable)
    found = [parse_axis(a, python.python, python.xdist is not None) for a in axes]
    return Grid(
        workers=counts,
        dists=parse_dists(dists) if dists else DEFAULT_DISTS,
        axes=tuple(a for a in found if isinstance(a, Axis)),
        notes=tuple(a for a in found if isinstance(a, str)),
    )


def check_xdist(found: Sequence[Variant], python: Interpreter) -> None:
    """Raise InputError when a variant needs pytest-xdist and the target's Python has none."""
    most = max((v.workers for v in found), default=0)
    if most and python.xdist is None:
        raise InputError(
            "python", python.path, f"has no pytest-xdist, which a scan needs for {most} workers",
            f"install it there ({python.path} -m pip install pytest-xdist) or pass --workers 0",
        )  # fmt: skip


def check_whole(strategy: Strategy) -> None:
    """Raise InputError for a strategy a scan cannot vary as one run: steps, or shards.

    A variant replaces the strategy's workers; a strategy of steps (one serial because its
    tests are unsafe under xdist) or of shards would silently become one run of the whole
    selection with those workers, and be called the strategy as configured.
    """
    if strategy.steps:
        problem = f"has {len(strategy.steps)} steps, which a scan cannot vary one by one"
        fix = "scan each step as a strategy of its own (its markers, its workers)"
    elif strategy.shards > 1:
        problem = f"runs as {strategy.shards} shards, which a scan would run as one"
        fix = "scan a strategy with the same selection and no shards"
    else:
        return
    raise InputError("strategy", strategy.name, problem, fix)


# --- variants -----------------------------------------------------------------------------


def variant_name(base: str, workers: int, dist: str | None, labels: Sequence[str]) -> str:
    coordinates = f"n{workers}" + (f"-{dist}" if workers and dist else "")
    return SEPARATOR.join((base, "+".join([coordinates, *(x for x in labels if x)])))


def split_name(name: str) -> tuple[str, str] | None:
    """Return (base, coordinates) of a variant's name, or None for a plain strategy."""
    base, sep, rest = name.partition(SEPARATOR)
    return (base, rest) if sep else None


def variants(strategy: Strategy, grid: Grid, usable: int) -> tuple[Variant, ...]:
    """Return the configured strategy first, then every point of the grid, each once."""
    workers = resolve_workers(strategy.workers, usable)
    dist = (strategy.dist or "load") if workers else None
    configured = _variant(strategy, workers, dist, (), configured=True)
    found = {configured.strategy.name: configured}
    for n in grid.workers:
        for mode in grid.dists if n else (None,):
            for values in itertools.product(*(a.values for a in grid.axes)):
                v = _variant(strategy, n, mode, values)
                found.setdefault(v.strategy.name, v)
    return _linked(tuple(found.values()), strategy.name)


def configured_note(found: Sequence[Variant], grid: Grid) -> str | None:
    """Say when the strategy as configured is a variant the worker axis did not ask for."""
    mine = next(v for v in found if v.configured)
    if mine.workers in grid.workers:
        return None
    where = "serially" if not mine.workers else f"with {mine.workers} workers"
    asked = ",".join(map(str, grid.workers))
    return (
        f"the strategy as configured runs {where} ({mine.strategy.name}), which --workers "
        f"{asked} left out: it is scanned too, as the variant the others are compared to"
    )


def _variant(
    s: Strategy, workers: int, dist: str | None, values: Sequence[Value], configured: bool = False
) -> Variant:
    labels = tuple(v.label for v in values)
    env = dict(s.env) | {k: v for value in values for k, v in value.env}
    args = (*s.args, *(a for value in values for a in value.args))
    name = variant_name(s.name, workers, dist, labels)
    where = "serial" if not workers else f"-n {workers} --dist {dist}"
    description = f"{s.name} {where}" + "".join(f", {x}" for x in labels if x)
    variant = dataclasses.replace(
        s, name=name, description=description, workers=workers, dist=dist, env=env, args=args,
        budgets={}, like=None,
    )  # fmt: skip
    return Variant(variant, workers, labels, configured)


def _linked(found: tuple[Variant, ...], base: str) -> tuple[Variant, ...]:
    """Point each variant's compare_to at the configured one, and that at the serial one."""
    configured = found[0].strategy.name
    serial = variant_name(base, 0, None, ())
    has_serial = any(v.strategy.name == serial for v in found)

    def target(v: Variant) -> str | None:
        if v.configured:
            return serial if has_serial and configured != serial else None
        return None if v.strategy.name == serial else configured

    return tuple(
        dataclasses.replace(v, strategy=dataclasses.replace(v.strategy, compare_to=target(v)))
        for v in found
    )


def plans(base: RunPlan, found: Sequence[Variant]) -> list[RunPlan]:
    """Return one plan per variant, everything else as the strategy's own plan."""
    return [dataclasses.replace(base, strategy=v.strategy, workers=v.workers) for v in found]
