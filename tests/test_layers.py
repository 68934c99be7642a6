"""The package's shape: one folder per stage, each importing only the stages below it.

errors, stats (the foundation) -> model -> plan -> measure -> analyze -> explain -> render ->
report (the pipeline that writes) -> cli, noxsessions (the interfaces). A module may import from
its own stage or an earlier one, never a later one; the imports make no cycle, function-level and
`TYPE_CHECKING` ones included; and importing any stage alone loads no module of a later one.
"""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import benchlib

PACKAGE = Path(benchlib.__file__).parent
# The stages in order: a module's stage is its folder, or its own name at the top level.
STAGES: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors", "stats"),
    ("model",),
    ("plan",),
    ("measure",),
    ("analyze",),
    ("explain",),
    ("render",),
    ("report", "pipeline"),
    ("explore",),  # races strategies (measure), judges them (analyze), writes its own files
    ("cli", "noxsessions", "__main__"),
)
RANK = {name: i for i, stage in enumerate(STAGES) for name in stage}
MAX_LINES = 600  # a smell alarm, not a layout rule: a concern that outgrows a file is a folder


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
    }


def _stage(module: str) -> int:
    return RANK[module.split(".")[0]]


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Return the benchlib modules a file imports, at any depth, `TYPE_CHECKING` included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("benchlib"):
            base = node.module.removeprefix("benchlib").removeprefix(".")
            for alias in node.names:
                sub = f"{base}.{alias.name}".lstrip(".")
                found.add(sub if sub in modules or f"{sub}.__init__" in modules else base)
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("benchlib.") for a in node.names if "benchlib." in a.name}
    # A package is its __init__ (empty: importing a submodule runs nothing else of ours).
    return {f"{m}.__init__" if f"{m}.__init__" in modules else m for m in found if m} & modules


@pytest.mark.unit
def test_every_module_has_a_stage() -> None:
    assert {m for m in _modules() if m.split(".")[0] not in RANK} == set()


@pytest.mark.unit
def test_the_stages_are_folders_with_empty_inits() -> None:
    folders = {m.split(".")[0] for m in _modules() if "." in m}
    expected = {"model", "plan", "measure", "analyze", "explain", "render", "cli", "explore"}
    assert folders == expected
    inits = [p for m, p in _modules().items() if m.endswith("__init__") and m != "__init__"]
    assert [p for p in inits if p.read_text().strip()] == []


@pytest.mark.unit
def test_no_module_imports_a_later_stage() -> None:
    modules = _modules()
    backwards = [
        f"{name} ({STAGES[_stage(name)][0]}) imports {dep} ({STAGES[_stage(dep)][0]})"
        for name, path in modules.items()
        for dep in _imports(path, set(modules))
        if _stage(dep) > _stage(name)
    ]
    assert backwards == []


@pytest.mark.unit
def test_the_imports_make_no_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


@pytest.mark.unit
def test_no_module_is_over_the_limit() -> None:
    sizes = {name: len(p.read_text().splitlines()) for name, p in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


@pytest.mark.integration
def test_importing_a_stage_alone_loads_no_later_stage() -> None:
    """Import every module of one stage in a fresh interpreter; nothing of a later stage loads."""
    modules = sorted(m for m in _modules() if not m.endswith("__main__"))
    for rank, stage in enumerate(STAGES):
        mine = [f"benchlib.{m}".removesuffix(".__init__") for m in modules if _stage(m) == rank]
        code = (
            f"import importlib, json, sys\nfor m in {mine!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'benchlib')))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        loaded = [
            m.removeprefix("benchlib").lstrip(".") or "__init__" for m in json.loads(out.stdout)
        ]
        later = [m for m in loaded if _stage(m) > rank]
        assert later == [], f"importing {stage} loads {later}"
