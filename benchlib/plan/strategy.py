"""Strategies: named, declarative ways of running a suite, and the four built-in ones."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["full", "subset"]
Workers = int | Literal["auto"]

# What a strategy selects; a strategy "like" another takes the fields it does not set itself.
SELECTION = ("paths", "markers", "keyword", "ignore", "deselect")
# pytest-xdist's --dist modes (xdist 3.x), checked before anything runs.
DIST_MODES = ("load", "loadscope", "loadfile", "loadgroup", "worksteal", "each", "no")
# A name becomes a file name and a nox session name (bench-NAME): keep it to safe characters.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Step:
    """One invocation of a strategy made of several, run one after another.

    A pytest step narrows the strategy's selection (its -m and -k are combined with the
    strategy's) and runs with workers of its own; a command step runs an argv list, for what
    pytest alone cannot express. Never a shell string: an argv list says exactly what runs.
    """

    description: str = ""
    markers: str | None = None
    keyword: str | None = None
    paths: tuple[str, ...] = ()  # empty: the strategy's
    ignore: tuple[str, ...] = ()
    deselect: tuple[str, ...] = ()
    workers: Workers = 0
    dist: str | None = None
    args: tuple[str, ...] = ()  # after the strategy's own
    command: tuple[str, ...] = ()  # an argv run in the target folder instead of pytest


@dataclass(frozen=True)
class Strategy:
    """One way of running the target's tests: what to select and how parallel."""

    name: str
    description: str = ""
    paths: tuple[str, ...] = ()  # empty: the configured test paths
    markers: str | None = None  # pytest -m expression
    keyword: str | None = None  # pytest -k expression
    ignore: tuple[str, ...] = ()
    deselect: tuple[str, ...] = ()
    workers: Workers = 0  # 0 is serial; "auto" is resolved by benchlib, not xdist
    dist: str | None = None  # xdist --dist mode
    args: tuple[str, ...] = ()  # extra pytest arguments, after the shared ones
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None  # None: the configured default
    compare_to: str | None = None  # the strategy that is this one's "before"
    scope: Scope = "full"  # "subset" if it runs part of the baseline on purpose
    budgets: dict[str, float] = field(default_factory=dict)  # key of budgets.KINDS -> limit
    like: str | None = None  # runs that strategy's selection, unless it sets its own
    shards: int = 1  # CI jobs that split the selection between them, balanced by duration
    steps: tuple[Step, ...] = ()  # invocations run in turn, together one logical run


BUILTIN: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            name="serial-full",
            description="Every test, one process: the baseline.",
        ),
        Strategy(
            name="unit",
            description="A marker lane, serial: fast feedback, less coverage.",
            markers="unit",
            compare_to="serial-full",
            scope="subset",
        ),
        Strategy(
            name="xdist-unit",
            description="The unit lane in parallel with pytest-xdist.",
            like="unit",
            workers="auto",
            compare_to="unit",
            scope="subset",
        ),
        Strategy(
            name="gate",
            description="Every test in parallel with pytest-xdist: the full quality gate.",
            workers="auto",
            compare_to="serial-full",
        ),
    )
}


@dataclass(frozen=True)
class Shared:
    """Selection every strategy starts from: [tool.benchlib]'s markers, keyword, deselect."""

    markers: str | None = None
    keyword: str | None = None
    deselect: tuple[str, ...] = ()


def both(first: str | None, second: str | None) -> str | None:
    """Return an expression that requires both, e.g. "(not network) and (unit)"."""
    if first is None or second is None:
        return first if second is None else second
    # An expression already required ("-m 'not network'" in args and in markers) is once.
    if _plain(second) in _conjuncts(first):
        return first
    if _plain(first) in _conjuncts(second):
        return second
    return f"({first}) and ({second})"


def _conjuncts(expression: str) -> set[str]:
    """Return the parts an expression requires at its top level: "(a) and (b or c)" -> a, b or c."""
    text, parts, depth, start = _plain(expression), [], 0, 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and text.startswith(" or ", i):
            return {text}  # "a or b and c" requires neither: `and` binds tighter
        if depth == 0 and text.startswith(" and ", i):
            parts.append(text[start:i])
            start = i + len(" and ")
    parts.append(text[start:])
    return {_plain(p) for p in parts} | {text}


def _plain(expression: str) -> str:
    """Return an expression with its spaces normalized and its outer parentheses dropped."""
    text = " ".join(expression.replace("(", " ( ").replace(")", " ) ").split())
    text = text.replace("( ", "(").replace(" )", ")")
    while text.startswith("(") and text.endswith(")") and _closes_last(text):
        text = text[1:-1].strip()
    return text


def _closes_last(text: str) -> bool:
    """Tell whether the parenthesis that opens text is the one that closes it."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return i == len(text) - 1
    return False


def split_selection(args: Iterable[str]) -> tuple[tuple[str, ...], str | None, str | None]:
    """Take -m and -k out of shared arguments, so a strategy's own can be combined with them.

    pytest keeps only the last -m (and -k) it is given: passed through, a strategy's -m would
    silently drop the shared one.
    """
    rest: list[str] = []
    found: dict[str, str | None] = {"-m": None, "-k": None}
    items = iter(args)
    for arg in items:
        option, value = arg[:2], arg[2:]
        if option in found and (value or arg == option):
            value = value or next(items, "")
            found[option] = both(found[option], value)
        else:
            rest.append(arg)
    return tuple(rest), found["-m"], found["-k"]


def resolve(
    strategies: Mapping[str, Strategy], own: Mapping[str, frozenset[str]], shared: Shared
) -> dict[str, Strategy]:
    """Return each strategy with its selection complete: inherited, then shared filters added.

    own[name] holds the fields the strategy sets itself; the rest of SELECTION comes from the
    strategy it is "like" (itself resolved first). The caller has checked that "like" names a
    strategy and makes no cycle.
    """
    done: dict[str, Strategy] = {}

    def inherit(name: str) -> Strategy:
        if name not in done:
            s = strategies[name]
            if s.like is not None:
                base = inherit(s.like)
                taken = {f: getattr(base, f) for f in SELECTION if f not in own.get(name, ())}
                s = dataclasses.replace(s, **taken)
            done[name] = s
        return done[name]

    for name in strategies:
        inherit(name)
    return {name: _with_shared(s, shared) for name, s in done.items()}


def _with_shared(s: Strategy, shared: Shared) -> Strategy:
    return dataclasses.replace(
        s,
        markers=both(shared.markers, s.markers),
        keyword=both(shared.keyword, s.keyword),
        deselect=(*shared.deselect, *s.deselect),
    )


def step_strategy(s: Strategy, step: Step) -> Strategy:
    """Return the strategy one step runs: the step's selection within the strategy's own."""
    return dataclasses.replace(
        s,
        paths=step.paths or s.paths,
        markers=both(s.markers, step.markers),
        keyword=both(s.keyword, step.keyword),
        ignore=(*s.ignore, *step.ignore),
        deselect=(*s.deselect, *step.deselect),
        workers=step.workers,
        dist=step.dist,
        args=(*s.args, *step.args),
        steps=(),
    )


def selection_text(s: Strategy) -> str:
    """Say what a strategy selects, as its pytest options."""
    parts = [f"-m {s.markers!r}" if s.markers else "", f"-k {s.keyword!r}" if s.keyword else ""]
    parts += [f"--ignore={p}" for p in s.ignore] + [f"--deselect={n}" for n in s.deselect]
    return " ".join(filter(None, [*s.paths, *parts])) or "all tests"


def resolve_workers(workers: Workers, usable_cpus: int) -> int:
    """Return the worker count to run: "auto" is the CPUs this process may use."""
    return usable_cpus if workers == "auto" else workers


AUTOLOAD_ENV = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
XDIST_PLUGIN_NAMES = frozenset({"xdist", "xdist.plugin"})
BLOCKED_XDIST = frozenset({"no:xdist", "no:xdist.plugin"})


def loaded_by_args(args: Sequence[str], names: frozenset[str]) -> bool:
    """Tell whether the arguments load one of these plugins by name (`-p NAME`, `-pNAME`)."""
    items = iter(args)
    for arg in items:
        value = next(items, "") if arg == "-p" else arg[2:] if arg.startswith("-p") else None
        if value in names:
            return True
    return False


def xdist_loads(strategy: Strategy, installed: bool, environ: Mapping[str, str]) -> bool:
    """Tell whether pytest will load xdist for this strategy: installed, and autoloaded or -p'd.

    With PYTEST_DISABLE_PLUGIN_AUTOLOAD set, an installed xdist is not loaded and `-n 0` is a
    usage error (anyio's CI runs that way); only `-p xdist` brings it back. `-p no:xdist`
    blocks it whatever else is said.
    """
    if not installed or loaded_by_args(strategy.args, BLOCKED_XDIST):
        return False
    autoload_off = (strategy.env.get(AUTOLOAD_ENV) if AUTOLOAD_ENV in strategy.env
                    else environ.get(AUTOLOAD_ENV))  # fmt: skip
    return not autoload_off or loaded_by_args(strategy.args, XDIST_PLUGIN_NAMES)


def pytest_args(
    strategy: Strategy,
    *,
    paths: Sequence[str],
    shared_args: Sequence[str],
    workers: int,
    xdist_installed: bool,
) -> list[str]:
    """Return pytest's arguments for this strategy (without the interpreter and -m pytest)."""
    args = [*(strategy.paths or paths), *shared_args]
    args += [f"--ignore={p}" for p in strategy.ignore]
    args += [f"--deselect={n}" for n in strategy.deselect]
    if strategy.markers is not None:
        args += ["-m", strategy.markers]
    if strategy.keyword is not None:
        args += ["-k", strategy.keyword]
    if workers > 0:
        args += ["-n", str(workers)]
        if strategy.dist:
            args += ["--dist", strategy.dist]
    elif xdist_installed:
        # Command-line -n wins over the target's addopts, so a serial run stays serial
        # even where the project defaults to `-n auto`. The caller says "installed" only where
        # xdist will load (xdist_loads): with autoload off, `-n 0` is a usage error.
        args += ["-n", "0"]
    return [*args, *strategy.args]


def group_of(nodeid: str, dist: str | None) -> str:
    """Return the unit the --dist mode never splits across workers."""
    if dist == "loadfile":
        return nodeid.split("::", 1)[0]
    if dist == "loadscope":
        return nodeid.rsplit("::", 1)[0]  # the module for functions, the class for methods
    if dist == "loadgroup" and "@" in nodeid:
        return "@" + nodeid.rsplit("@", 1)[1]  # xdist appends @name for xdist_group
    return nodeid
