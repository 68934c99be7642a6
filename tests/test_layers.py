"""The package's shape: data flows one way, every module has its stage, none is too long.

config -> strategy -> bench -> run -> result file -> result set -> judgement -> summary facts ->
advice -> renderers -> command line. A module may import from its own stage or an earlier one,
never a later one, and the imports (function-level ones included) make no cycle.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import benchlib

pytestmark = pytest.mark.unit

PACKAGE = Path(benchlib.__file__).parent
# Each module's stage; a new module must be placed here, which is the point.
STAGES: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors", "typed", "_observer.benchlib_protocol", "_watchdog"),
    ("model", "results", "strategy", "stats", "_observer.benchlib_observer"),
    ("budgets", "machine", "config", "sampling"),
    ("events", "running"),
    ("recording", "lock", "trace"),  # trace: a saved result's view, written by the bench
    ("bench",),
    ("resultset", "pairing", "scanplan", "gatebench", "links"),
    ("judge", "timeline", "parts"),
    (
        "pertest",
        "runfacts",
        "chartdata",
        "summary",
        "schedulers",
        "simulate",
        "scaling",
        "split",
        "consistency",
    ),
    ("advice", "scan"),
    ("wording", "scanjson"),
    ("htmlreport.__init__", "htmlreport.svg", "htmlreport.charts", "htmlreport.lanes"),
    (
        "htmlreport.template",
        "htmlreport.page",
        "whywords",
        "partsreport",
        "markdown",
        "mermaid",
        "scanreport",
        "report",
    ),
    ("compare", "exports", "gatereport"),
    ("progress", "scaffold", "noxsessions", "arguments", "cli", "__main__"),
)
RANK = {name: i for i, stage in enumerate(STAGES) for name in stage}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[name] = path
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or path.is_dir()


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Return every node but those under `if TYPE_CHECKING:`, which import for types only."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def _imports(path: Path) -> set[str]:
    """Return the benchlib modules a file imports at run time, at any depth of its code."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "benchlib":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("benchlib."):
                base = node.module.removeprefix("benchlib.")
                subs = {f"{base}.{alias.name}" for alias in node.names}
                modules = {s for s in subs if _is_module(s)}
                # Importing a submodule runs only the package's (empty) __init__ first.
                found |= modules or {base}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("benchlib.") for a in node.names if "benchlib." in a.name}
    # A package is its __init__; a name that is no module (a function) drops out later.
    return {
        f"{name}.__init__" if (PACKAGE / name.replace(".", "/")).is_dir() else name
        for name in found
    }


def test_every_module_has_a_stage() -> None:
    assert set(_modules()) - set(RANK) == set()


def test_no_module_imports_a_later_stage() -> None:
    modules = _modules()
    backwards = [
        f"{name} (stage {RANK[name]}) imports {dep} (stage {RANK[dep]})"
        for name, path in modules.items()
        for dep in _imports(path)
        if dep in RANK and RANK[dep] > RANK[name]
    ]
    assert backwards == []


def test_the_imports_make_no_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(path) & modules.keys() for name, path in modules.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_no_module_is_over_the_limit() -> None:
    sizes = {name: len(p.read_text().splitlines()) for name, p in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
