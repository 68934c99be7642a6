"""Find the project's own test command: a `pytest` line in tox.ini, noxfile.py or a workflow.

What the project's CI runs is the baseline a team knows; `benchlib init` offers it as the `ci`
strategy. Only the pytest invocation is taken: its arguments, its xdist workers, and whether it
measures coverage (pytest-cov's --cov, or `coverage run -m pytest`).
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_SHELL_ENDS = frozenset({"&&", "||", ";", "|", ">", "2>&1"})
# tox's {posargs} and {toxinidir}, a workflow's ${{ matrix.x }}: filled in by the runner.
_PLACEHOLDERS = re.compile(r"\$\{\{.*?\}\}|\{[^{}]*\}")
_YAML_KEY = re.compile(r"^[\w.-]+:(\s|$)")


@dataclass(frozen=True)
class CiCommand:
    """The project's own pytest command, as found in one of its files."""

    source: str  # where it was found: "tox.ini", ".github/workflows/tests.yml", "noxfile.py"
    line: str  # the command as written there
    args: tuple[str, ...]  # pytest's arguments, without test paths' placeholders or -n
    workers: int | Literal["auto"]  # its -n (0: serial)
    coverage: Literal["pytest-cov", "coverage run"] | None
    branch: bool  # `coverage run --branch` (pytest-cov's --cov-branch stays in args)


def detect(target: Path) -> CiCommand | None:
    """Return the first pytest command in tox.ini, then the workflows, then noxfile.py."""
    for source, line in _candidates(target):
        found = parse(line, source)
        if found is not None:
            return found
    return None


def _candidates(target: Path) -> list[tuple[str, str]]:
    found = [("tox.ini", line) for line in _tox_lines(target / "tox.ini")]
    workflows = target / ".github" / "workflows"
    if workflows.is_dir():
        for path in sorted([*workflows.glob("*.yml"), *workflows.glob("*.yaml")]):
            rel = path.relative_to(target).as_posix()
            found += [(rel, line) for line in _workflow_lines(path)]
    found += [("noxfile.py", line) for line in _nox_lines(target / "noxfile.py")]
    return found


def _tox_lines(path: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return []
    lines = []
    for section in parser.sections():
        if section == "testenv" or section.startswith("testenv:"):
            text = parser.get(section, "commands", fallback="")
            lines += [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines


def _workflow_lines(path: Path) -> list[str]:
    """Return the shell lines of a workflow that mention pytest: `run:` values and blocks."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    lines = []
    for raw in text.splitlines():
        line = raw.strip().removeprefix("- ").strip()
        if line.startswith("run:"):
            line = line.removeprefix("run:").strip()
        elif _YAML_KEY.match(line) or line.startswith("#"):
            continue  # a key (name: Run pytest), not a command
        if "pytest" in line:
            lines.append(line)
    return lines


def _nox_lines(path: Path) -> list[str]:
    """Return each session.run(...) call of string literals, as a command line."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "run":
            words = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if all(isinstance(w, str) for w in words) and words:
                lines.append(shlex.join(str(w) for w in words))
    return lines


def parse(line: str, source: str) -> CiCommand | None:
    """Return the pytest command in one command line, or None if it runs no pytest."""
    try:
        words = shlex.split(_PLACEHOLDERS.sub(" ", line))
    except ValueError:
        return None
    for i, word in enumerate(words):
        if word in _SHELL_ENDS:
            words = words[:i]
            break
    start = _pytest_at(words)
    if start is None:
        return None
    before, rest = words[:start], words[start + 1 :]
    coverage_run = "coverage" in (Path(w).name for w in before) and "run" in before
    args = [w for w in rest if not _placeholder(w)]
    args, workers = _take_workers(args)
    cov_args = any(a == "--cov" or a.startswith("--cov=") for a in args)
    coverage: Literal["pytest-cov", "coverage run"] | None = (
        "coverage run" if coverage_run else "pytest-cov" if cov_args else None
    )
    return CiCommand(source, line, tuple(args), workers, coverage, "--branch" in before)


def _pytest_at(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        name = Path(word).name
        if name in ("pytest", "py.test"):
            return i
    return None


def _placeholder(word: str) -> bool:
    return word.startswith("$")  # a shell's $VAR


def _take_workers(args: list[str]) -> tuple[list[str], int | Literal["auto"]]:
    """Take -n N out of the arguments: benchlib runs the workers itself and records them."""
    rest: list[str] = []
    workers: int | Literal["auto"] = 0
    it = iter(args)
    for arg in it:
        value = None
        if arg in ("-n", "--numprocesses"):
            value = next(it, "0")
        elif arg.startswith("--numprocesses="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--"):
            value = arg[2:]
        if value is None:
            rest.append(arg)
        elif value in ("auto", "logical"):
            workers = "auto"
        elif value.isdigit():
            workers = int(value)
    return rest, workers
