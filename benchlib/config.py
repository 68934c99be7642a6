"""Read and validate [tool.benchlib] from the target's pyproject.toml, before anything runs."""

from __future__ import annotations

import configparser
import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import budgets
from benchlib.errors import UsageError
from benchlib.strategy import BUILTIN, Strategy

DEFAULT_TIMEOUT_S = 3600.0
DEFAULT_INTERVAL_S = 0.1


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
    results: Path | None  # None: ./results
    interval_s: float
    strategies: dict[str, Strategy]


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _is_str_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_positive(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v > 0


def _is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_workers(v: object) -> bool:
    return v == "auto" or _is_count(v)


def _is_env(v: object) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


# key -> (check, what the value must be)
Rule = tuple[Callable[[object], bool], str]
TOP_KEYS: dict[str, Rule] = {
    "paths": (_is_str_list, "a list of test paths"),
    "python": (_is_str, "the path of the target's Python"),
    "args": (_is_str_list, "a list of pytest arguments"),
    "ignore": (_is_str_list, "a list of paths"),
    "timeout_s": (_is_positive, "a number of seconds > 0"),
    "results": (_is_str, "a folder path"),
    "interval_s": (_is_positive, "a number of seconds > 0"),
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
    "dist": (_is_str, "an xdist --dist mode such as load or loadscope"),
    "args": (_is_str_list, "a list of pytest arguments"),
    "env": (_is_env, "a table of string values"),
    "timeout_s": (_is_positive, "a number of seconds > 0"),
    "compare_to": (_is_str, "the name of another strategy"),
    "scope": (lambda v: v in ("full", "subset"), '"full" or "subset"'),
    **{key: (kind.valid, kind.expected()) for key, kind in budgets.KINDS.items()},
    "enabled": (lambda v: isinstance(v, bool), "true or false"),
}
_LIST_FIELDS = {"paths", "ignore", "deselect", "args"}


def _where(section: str, key: str) -> str:
    return f"[{section}] {key}"


def _check_keys(
    table: Mapping[str, Any], rules: Mapping[str, Rule], section: str, src: str
) -> None:
    for key, value in table.items():
        if key not in rules:
            close = difflib.get_close_matches(key, rules, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(rules)}"
            raise UsageError(f"{src}: unknown key {_where(section, key)!r}; {hint}")
        check, expected = rules[key]
        if not check(value):
            raise UsageError(
                f"{src}: {_where(section, key)} = {value!r} is not valid; it must be {expected}"
            )


def check_expression(expr: str, option: str, where: str) -> None:
    """Raise UsageError if expr is not a valid pytest -m / -k expression."""
    from _pytest.mark.expression import Expression

    try:
        Expression.compile(expr)
    except Exception as exc:  # SyntaxError in pytest >= 8.3, ParseError before
        reason = getattr(exc, "msg", None) or str(exc)
        raise UsageError(
            f"{where}: {option} expression {expr!r} is not valid ({reason}); "
            "fix it, e.g. 'unit and not slow'"
        ) from None


def _strategy(name: str, table: Mapping[str, Any], src: str) -> Strategy | None:
    section = f"tool.benchlib.strategies.{name}"
    _check_keys(table, STRATEGY_KEYS, section, src)
    fields = {k: (tuple(v) if k in _LIST_FIELDS else v) for k, v in table.items()}
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


def _check_comparisons(strategies: Mapping[str, Strategy], src: str) -> None:
    for s in strategies.values():
        if s.compare_to is not None and s.compare_to not in strategies:
            raise UsageError(
                f"{src}: [tool.benchlib.strategies.{s.name}] compare_to = {s.compare_to!r} "
                f"names no strategy; use one of: {', '.join(strategies)}"
            )
    for s in strategies.values():
        seen = [s.name]
        nxt = s.compare_to
        while nxt is not None:
            if nxt in seen:
                chain = " -> ".join([*seen, nxt])
                raise UsageError(
                    f"{src}: compare_to makes a cycle ({chain}); "
                    "one strategy in the chain must compare to none"
                )
            seen.append(nxt)
            nxt = strategies[nxt].compare_to


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix the file") from None
    return data.get("tool", {}).get("benchlib", {})


def load(target: Path) -> Config:
    """Load the target's configuration; raise UsageError on the first problem found."""
    if not target.is_dir():
        what = "is not a folder" if target.exists() else "does not exist"
        raise UsageError(
            f"target {str(target)!r} {what}; pass --target DIR with the project's root folder"
        )
    target = target.resolve()
    source = target / "pyproject.toml"
    table = _read_pyproject(source) if source.is_file() else {}
    src = str(source)
    _check_keys(table, TOP_KEYS, "tool.benchlib", src)
    strategies: dict[str, Strategy] = dict(BUILTIN)
    for name, sub in table.get("strategies", {}).items():
        if not isinstance(sub, dict):
            raise UsageError(
                f"{src}: [tool.benchlib.strategies] {name} must be a table of settings, "
                f"e.g. [tool.benchlib.strategies.{name}]"
            )
        strategy = _strategy(name, sub, src)
        if strategy is None:
            strategies.pop(name, None)
        else:
            strategies[name] = strategy
    _check_comparisons(strategies, src)
    timeout = table.get("timeout_s", DEFAULT_TIMEOUT_S)
    return Config(
        target=target,
        source=source if source.is_file() else None,
        python=table.get("python"),
        paths=tuple(table.get("paths", ())),
        args=tuple(table.get("args", ())),
        ignore=tuple(table.get("ignore", ())),
        timeout_s=float(timeout),
        results=Path(table["results"]) if "results" in table else None,
        interval_s=float(table.get("interval_s", DEFAULT_INTERVAL_S)),
        strategies=strategies,
    )


# Markers pytest and its common plugins register themselves.
_BUILTIN_MARKERS = {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}
_IDENT = re.compile(r"[A-Za-z_][\w.]*")


def registered_markers(target: Path) -> set[str]:
    """Return the markers the target's config files register (conftest.py is not read)."""
    found = set(_BUILTIN_MARKERS)
    lines: list[str] = []
    pyproject = target / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as f:
            ini = tomllib.load(f).get("tool", {}).get("pytest", {})
        options = ini.get("ini_options", ini)
        markers = options.get("markers", [])
        lines += markers if isinstance(markers, list) else str(markers).splitlines()
    for name, section in (
        ("pytest.ini", "pytest"),
        ("tox.ini", "pytest"),
        ("setup.cfg", "tool:pytest"),
    ):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(target / name, encoding="utf-8")
        except configparser.Error:
            continue
        if parser.has_option(section, "markers"):
            lines += parser.get(section, "markers").splitlines()
    for line in lines:
        match = _IDENT.match(line.strip())
        if match:
            found.add(match.group().split("(")[0])
    return found


def unregistered_markers(config: Config, names: list[str]) -> list[str]:
    """Return a warning for each -m name that the target's config does not register."""
    known = registered_markers(config.target)
    warnings = []
    for name in names:
        s = config.strategies[name]
        if s.markers is None:
            continue
        words = set(_IDENT.findall(s.markers)) - {"and", "or", "not"}
        for marker in sorted(words - known):
            warnings.append(
                f"strategy {name!r} selects -m {s.markers!r}, but marker {marker!r} is not "
                f"registered in {config.target}'s pytest configuration; it may select nothing"
            )
    return warnings
