"""Read and validate [tool.benchlib] from the target's pyproject.toml, before anything runs."""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.errors import ConfigError, InputError
from benchlib.model import budgets
from benchlib.plan.strategy import (
    BUILTIN,
    DIST_MODES,
    NAME,
    SELECTION,
    Shared,
    Step,
    Strategy,
    both,
    resolve,
    split_selection,
)

DEFAULT_TIMEOUT_S = 3600.0
DEFAULT_INTERVAL_S = 0.1
# The longest wait a thread can be given (about 292 years on Linux): a longer time limit or
# sampling interval makes the timer and sampler threads die with OverflowError.
MAX_SECONDS = threading.TIMEOUT_MAX


@dataclass(frozen=True)
class Config:
    """The target and how to bench it: configuration merged with the built-in strategies."""

    target: Path
    source: Path | None  # the pyproject.toml read, if any
    python: str | None  # the target's interpreter; None: the one running benchlib
    paths: tuple[str, ...]
    args: tuple[str, ...]  # shared by every strategy: "-q", "--tb=short", "--maxfail=1"
    ignore: tuple[str, ...]  # shared --ignore paths
    timeout_s: float | None
    results: Path  # absolute: relative paths in the file are relative to the target
    interval_s: float
    strategies: dict[str, Strategy]
    # Who the project is, declared: copies of it (another checkout, no git remote) compare.
    project: str | None = None
    declared: frozenset[str] = frozenset()  # strategies the file configures (built-ins or not)


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _is_str_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_positive(v: object) -> bool:
    """Tell whether v is a usable number of seconds: > 0, and no longer than a thread can wait."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return math.isfinite(v) and 0 < v <= MAX_SECONDS


def _is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_workers(v: object) -> bool:
    return v == "auto" or _is_count(v)


def _is_shards(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _is_steps(v: object) -> bool:
    return isinstance(v, list) and len(v) >= 1 and all(isinstance(x, dict) for x in v)


def _is_argv(v: object) -> bool:
    return _is_str_list(v) and len(v) >= 1  # type: ignore[arg-type]


def _is_env(v: object) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


# key -> (check, what the value must be)
Rule = tuple[Callable[[object], bool], str]
TOP_KEYS: dict[str, Rule] = {
    "paths": (_is_str_list, "a list of test paths"),
    "python": (_is_str, "the path of the target's Python"),
    "args": (_is_str_list, "a list of pytest arguments"),
    "ignore": (_is_str_list, "a list of paths"),
    "timeout_s": (_is_positive, f"a number of seconds > 0 and <= {MAX_SECONDS:g}"),
    "results": (_is_str, "a folder path"),
    "project": (
        lambda v: isinstance(v, str) and bool(v.strip()),
        "the project's name, the same in every copy of it (it decides which runs compare)",
    ),
    "interval_s": (_is_positive, f"a number of seconds > 0 and <= {MAX_SECONDS:g}"),
    "markers": (_is_str, "a pytest -m expression every strategy must also match"),
    "keyword": (_is_str, "a pytest -k expression every strategy must also match"),
    "deselect": (_is_str_list, "a list of node ids no strategy runs"),
    "strategies": (lambda v: isinstance(v, dict), "a table of strategy tables"),
}
STRATEGY_KEYS: dict[str, Rule] = {
    "description": (_is_str, "a string"),
    "paths": (_is_str_list, "a list of test paths"),
    "markers": (_is_str, "a pytest -m expression"),
    "keyword": (_is_str, "a pytest -k expression"),
    "ignore": (_is_str_list, "a list of paths"),
    "deselect": (_is_str_list, "a list of node ids"),
    "workers": (_is_workers, '0 (serial), a number of workers, or "auto"'),
    "dist": (lambda v: v in DIST_MODES, f"an xdist --dist mode: {', '.join(DIST_MODES)}"),
    "like": (_is_str, "the name of the strategy whose selection this one runs"),
    "args": (_is_str_list, "a list of pytest arguments"),
    "env": (_is_env, "a table of string values"),
    "timeout_s": (_is_positive, f"a number of seconds > 0 and <= {MAX_SECONDS:g}"),
    "compare_to": (_is_str, "the name of another strategy"),
    "scope": (lambda v: v in ("full", "subset"), '"full" or "subset"'),
    **{key: (kind.valid, kind.expected()) for key, kind in budgets.KINDS.items()},
    "enabled": (lambda v: isinstance(v, bool), "true or false"),
    "shards": (_is_shards, "a whole number of CI jobs >= 1 that split the selection"),
    "steps": (_is_steps, "a list of step tables, run one after another"),
}
STEP_KEYS: dict[str, Rule] = {
    key: STRATEGY_KEYS[key]
    for key in ("description", "paths", "markers", "keyword", "ignore", "deselect", "workers")
}
STEP_KEYS.update(
    dist=STRATEGY_KEYS["dist"],
    args=STRATEGY_KEYS["args"],
    command=(_is_argv, 'an argv list, e.g. ["python", "manage.py", "test"]; never a shell string'),
)
_LIST_FIELDS = {"paths", "ignore", "deselect", "args"}


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(name: str) -> str:
    """Return a key as TOML writes it: quoted (and escaped) unless it is a bare key.

    A name from the file can hold anything, a line break included: an error names it quoted,
    so that the message stays one line and says what to look for.
    """
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _where(section: str, key: str) -> str:
    return f"[{section}] {key}"


def _check_keys(
    table: Mapping[str, Any], rules: Mapping[str, Rule], section: str, src: str
) -> None:
    for key, value in table.items():
        if key not in rules:
            close = difflib.get_close_matches(key, rules, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(rules)}"
            raise ConfigError(src, _where(section, key), "is not a key benchlib knows", hint)
        check, expected = rules[key]
        if not check(value):
            raise ConfigError(
                src, f"{_where(section, key)} = {value!r}", "is not valid", f"it must be {expected}"
            )


def check_expression(expr: str, option: str, where: str) -> None:
    """Raise ConfigError if expr is not a valid pytest -m / -k expression."""
    try:
        from _pytest.mark.expression import Expression
    except ImportError:
        # The noxfile reads the configuration where only nox is installed, to list sessions;
        # `benchlib run` reads it again inside the session, with pytest, and checks it there.
        return

    try:
        Expression.compile(expr)
    except Exception as exc:  # SyntaxError in pytest >= 8.3, ParseError before
        reason = getattr(exc, "msg", None) or str(exc)
        raise ConfigError(
            where, f"{option} expression {expr!r}", f"is not valid ({reason})",
            "fix it, e.g. 'unit and not slow'",
        ) from None  # fmt: skip


def _strategy(name: str, table: Mapping[str, Any], src: str) -> Strategy | None:
    section = f"tool.benchlib.strategies.{toml_key(name)}"
    if not NAME.fullmatch(name):
        raise ConfigError(
            src, f"[{section}]", "is not a usable strategy name",
            "use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )  # fmt: skip
    _check_keys(table, STRATEGY_KEYS, section, src)
    fields: dict[str, Any] = {k: (tuple(v) if k in _LIST_FIELDS else v) for k, v in table.items()}
    if "steps" in fields:
        fields["steps"] = _steps(fields["steps"], fields.get("shards", 1), section, src)
    if not fields.pop("enabled", True):
        return None
    limits = {k: fields.pop(k) for k in list(fields) if k in budgets.KINDS}
    if limits:
        fields["budgets"] = limits
    for key, option in (("markers", "-m"), ("keyword", "-k")):
        if key in fields:
            check_expression(fields[key], option, f"{src}: [{section}] {key}")
    base = BUILTIN.get(name)
    return dataclasses.replace(base, **fields) if base else Strategy(name=name, **fields)


def _steps(tables: list[dict[str, Any]], shards: int, section: str, src: str) -> tuple[Step, ...]:
    """Check and build a strategy's steps: pytest selections, or argv commands."""
    if shards != 1:
        raise ConfigError(
            src, f"[{section}] shards = {shards!r} with steps", "is not supported",
            "shard a strategy or give it steps, not both",
        )  # fmt: skip
    steps = []
    for i, table in enumerate(tables, start=1):
        where = f"{section}.steps {i}"
        _check_keys(table, STEP_KEYS, where, src)
        if "command" in table and set(table) - {"command", "description"}:
            raise ConfigError(
                src, f"[{where}] command", "is given with pytest options",
                "a command step takes only command and description",
            )  # fmt: skip
        for key, option in (("markers", "-m"), ("keyword", "-k")):
            if key in table:
                check_expression(table[key], option, f"{src}: [{where}] {key}")
        fields: dict[str, Any] = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in table.items()
        }
        steps.append(Step(**fields))
    return tuple(steps)


def _check_links(strategies: Mapping[str, Strategy], key: str, src: str) -> None:
    """Check that compare_to (or like) names a strategy and that following it never loops."""
    for s in strategies.values():
        other = getattr(s, key)
        if other is not None and other not in strategies:
            raise ConfigError(
                src, f"[tool.benchlib.strategies.{s.name}] {key} = {other!r}", "names no strategy",
                f"use one of: {', '.join(strategies)}",
            )  # fmt: skip
    for s in strategies.values():
        seen = [s.name]
        nxt = getattr(s, key)
        while nxt is not None:
            if nxt in seen:
                raise ConfigError(
                    src, key, f"makes a cycle ({' -> '.join([*seen, nxt])})",
                    f"one strategy in the chain must have no {key}",
                )  # fmt: skip
            seen.append(nxt)
            nxt = getattr(strategies[nxt], key)


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "the file", f"is not valid TOML ({exc})", "fix it") from None
    found = data.get("tool", {}).get("benchlib", {})
    if not isinstance(found, dict):
        raise ConfigError(str(path), "[tool.benchlib]", "is not a table", "write it as a table")
    return found


OWN_FILE = "benchlib.toml"  # benchlib's own file: its top level is what [tool.benchlib] holds


def _read_own(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "the file", f"is not valid TOML ({exc})", "fix it") from None


def _find_table(target: Path) -> tuple[Path, dict[str, Any]]:
    """Return the configuration file and its table: benchlib.toml, else pyproject.toml's.

    A project without a pyproject.toml keeps its configuration in benchlib.toml: creating a
    pyproject.toml can change how pip builds a setup.py project. Both at once is ambiguous.
    """
    own, pyproject = target / OWN_FILE, target / "pyproject.toml"
    table = _read_pyproject(pyproject) if pyproject.is_file() else {}
    if not own.is_file():
        return pyproject, table
    if table:
        raise ConfigError(
            str(own), "the file", "configures benchlib beside [tool.benchlib] in pyproject.toml",
            "keep one of them",
        )  # fmt: skip
    return own, _read_own(own)


STRATEGIES_FILE = "strategies.toml"  # in the results folder, written by explore
SCAN_STRATEGIES_FILE = "scan-strategies.toml"  # and by scan: their variants run by name


def load(target: Path) -> Config:
    """Load the target's configuration; raise on the first problem found."""
    if not target.is_dir():
        what = "is not a folder" if target.exists() else "does not exist"
        raise InputError("target", str(target), what, "give the project's root folder")
    target = target.resolve()
    source, table = _find_table(target)
    src = str(source)
    _check_keys(table, TOP_KEYS, "tool.benchlib", src)
    # Strategies explore and scan wrote (results/strategies.toml) run by name; the project's
    # own pyproject.toml wins where both name one.
    extra: dict[str, Any] = {}
    for name in (SCAN_STRATEGIES_FILE, STRATEGIES_FILE):
        written = target / str(table.get("results", "results")) / name
        extra |= _read_pyproject(written).get("strategies", {}) if written.is_file() else {}
    strategies, own = _strategies({**extra, **table.get("strategies", {})}, src)
    for key in ("compare_to", "like"):
        _check_links(strategies, key, src)
    args, markers, keyword = split_selection(table.get("args", ()))
    shared = Shared(
        markers=both(table.get("markers"), markers),
        keyword=both(table.get("keyword"), keyword),
        deselect=tuple(table.get("deselect", ())),
    )
    for key, value in (("markers", shared.markers), ("keyword", shared.keyword)):
        if value is not None:
            check_expression(value, "-m" if key == "markers" else "-k", f"{src}: {key}")
    return Config(
        target=target,
        source=source if source.is_file() else None,
        python=table.get("python"),
        paths=tuple(table.get("paths", ())),
        args=args,
        ignore=tuple(table.get("ignore", ())),
        timeout_s=float(table.get("timeout_s", DEFAULT_TIMEOUT_S)),
        results=target / table.get("results", "results"),
        interval_s=float(table.get("interval_s", DEFAULT_INTERVAL_S)),
        strategies=resolve(strategies, own, shared),
        project=table.get("project"),
        declared=frozenset(table.get("strategies", {})),
    )


def _strategies(
    tables: Mapping[str, Any], src: str
) -> tuple[dict[str, Strategy], dict[str, frozenset[str]]]:
    """Return the built-ins with the file's strategies applied, and the keys each set."""
    strategies: dict[str, Strategy] = dict(BUILTIN)
    own: dict[str, frozenset[str]] = {name: frozenset() for name in BUILTIN}
    for name, sub in tables.items():
        if not isinstance(sub, dict):
            raise ConfigError(
                src, f"[tool.benchlib.strategies] {toml_key(name)}", "must be a table of settings",
                f"write it as [tool.benchlib.strategies.{toml_key(name)}]",
            )  # fmt: skip
        strategy = _strategy(name, sub, src)
        if strategy is None:
            strategies.pop(name, None)
        else:
            strategies[name] = strategy
            own[name] = frozenset(sub) & frozenset(SELECTION)
    return strategies, own
