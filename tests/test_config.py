"""Configuration errors: each names the key, the value and the fix, before anything runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchlib.errors import UsageError
from benchlib.plan import config
from benchlib.plan.strategy import BUILTIN, Strategy

pytestmark = pytest.mark.unit


def project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(toml)
    return tmp_path


def error(tmp_path: Path, toml: str) -> str:
    with pytest.raises(UsageError) as info:
        config.load(project(tmp_path, toml))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_no_pyproject_gives_the_builtins(tmp_path: Path) -> None:
    cfg = config.load(tmp_path)
    assert list(cfg.strategies) == ["serial-full", "unit", "xdist-unit", "gate"]
    # The built-ins as written, except that xdist-unit runs unit's selection.
    assert cfg.strategies == {
        **BUILTIN,
        "xdist-unit": dataclasses.replace(BUILTIN["xdist-unit"], markers="unit"),
    }
    assert cfg.source is None
    assert (cfg.timeout_s, cfg.interval_s) == (3600.0, 0.1)  # the defaults the README gives


def test_override_and_add(tmp_path: Path) -> None:
    cfg = config.load(
        project(
            tmp_path,
            """
[tool.benchlib]
paths = ["tests"]
args = ["-q"]
ignore = ["tests/test_db.py"]
[tool.benchlib.strategies.unit]
markers = "unit and not slow"
[tool.benchlib.strategies.loadscope]
workers = 2
dist = "loadscope"
compare_to = "serial-full"
[tool.benchlib.strategies.xdist-unit]
enabled = false
""",
        )
    )
    assert cfg.strategies["unit"].markers == "unit and not slow"
    assert cfg.strategies["unit"].compare_to == "serial-full"  # the rest is the built-in's
    assert cfg.strategies["loadscope"].dist == "loadscope"
    assert "xdist-unit" not in cfg.strategies
    assert cfg.ignore == ("tests/test_db.py",)


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    message = error(tmp_path, "[tool.benchlib]\ntimeout = 5\n")
    assert "[tool.benchlib] timeout is not a key benchlib knows" in message
    assert "did you mean 'timeout_s'?" in message
    assert "unknown key" not in message  # said once, not "unknown key ... is not known"


def test_unknown_strategy_key_suggests_the_nearest(tmp_path: Path) -> None:
    message = error(tmp_path, "[tool.benchlib.strategies.unit]\nmarker = 'unit'\n")
    assert "[tool.benchlib.strategies.unit] marker" in message
    assert "did you mean 'markers'?" in message


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[tool.benchlib]\npaths = "tests"', "paths = 'tests' is not valid; it must be a list"),
        ("[tool.benchlib]\ntimeout_s = -1", "timeout_s = -1 is not valid; it must be a number"),
        (
            '[tool.benchlib.strategies.gate]\nworkers = "many"',
            "workers = 'many' is not valid; it must be 0 (serial), a number of workers",
        ),
        ('[tool.benchlib.strategies.gate]\nscope = "most"', '"full" or "subset"'),
        ("[tool.benchlib.strategies]\nfast = 3", "fast must be a table"),
    ],
)
def test_wrong_type(tmp_path: Path, toml: str, expected: str) -> None:
    assert expected in error(tmp_path, toml)


def test_compare_to_that_names_no_strategy(tmp_path: Path) -> None:
    message = error(tmp_path, "[tool.benchlib.strategies.gate]\ncompare_to = 'serial'\n")
    assert "compare_to = 'serial' names no strategy" in message
    assert "serial-full" in message


def test_compare_to_cycle(tmp_path: Path) -> None:
    toml = (
        "[tool.benchlib.strategies.a]\ncompare_to = 'b'\n"
        "[tool.benchlib.strategies.b]\ncompare_to = 'a'\n"
    )
    assert "compare_to makes a cycle (a -> b -> a)" in error(tmp_path, toml)


@pytest.mark.parametrize(("key", "option"), [("markers", "-m"), ("keyword", "-k")])
def test_bad_expression(tmp_path: Path, key: str, option: str) -> None:
    message = error(tmp_path, f"[tool.benchlib.strategies.unit]\n{key} = 'unit and'\n")
    assert f"{option} expression 'unit and' is not valid" in message


def test_invalid_toml(tmp_path: Path) -> None:
    assert "not valid TOML" in error(tmp_path, "[tool.benchlib\n")


def test_missing_target(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist; give the project's root folder"):
        config.load(tmp_path / "nope")


def test_every_top_level_key_is_read(tmp_path: Path) -> None:
    cfg = config.load(
        project(
            tmp_path,
            """
[tool.benchlib]
python = "env/bin/python3"
paths = ["t/a", "t/b"]
args = ["-x", "--tb=line"]
ignore = ["t/a/test_slow.py"]
timeout_s = 12
results = "out/bench"
interval_s = 0.25
""",
        )
    )
    assert cfg.python == "env/bin/python3"
    assert cfg.paths == ("t/a", "t/b")
    assert cfg.args == ("-x", "--tb=line")
    assert cfg.ignore == ("t/a/test_slow.py",)
    assert cfg.timeout_s == 12.0
    assert cfg.results == tmp_path.resolve() / "out/bench"  # relative to the target
    assert cfg.interval_s == 0.25
    assert cfg.source == tmp_path.resolve() / "pyproject.toml"


def test_every_strategy_key_is_read(tmp_path: Path) -> None:
    cfg = config.load(
        project(
            tmp_path,
            """
[tool.benchlib.strategies.mine]
description = "Mine"
paths = ["t"]
markers = "fast"
keyword = "not db"
ignore = ["t/x.py"]
deselect = ["t/y.py::test_z"]
workers = 3
dist = "worksteal"
args = ["-p", "no:randomly"]
env = { SEED = "7" }
timeout_s = 30
compare_to = "gate"
scope = "subset"
max_wall_s = 9.5
max_warnings = 2
""",
        )
    )
    assert cfg.strategies["mine"] == Strategy(
        name="mine",
        description="Mine",
        paths=("t",),
        markers="fast",
        keyword="not db",
        ignore=("t/x.py",),
        deselect=("t/y.py::test_z",),
        workers=3,
        dist="worksteal",
        args=("-p", "no:randomly"),
        env={"SEED": "7"},
        timeout_s=30,
        compare_to="gate",
        scope="subset",
        budgets={"max_wall_s": 9.5, "max_warnings": 2},
    )


@pytest.mark.parametrize("name", list(BUILTIN))
def test_overriding_a_builtin_changes_only_the_keys_written(tmp_path: Path, name: str) -> None:
    toml = f"[tool.benchlib.strategies.{name}]\nworkers = 5\nmarkers = 'db or slow'\n"
    loaded = config.load(project(tmp_path, toml)).strategies[name]
    assert (loaded.workers, loaded.markers) == (5, "db or slow")
    assert dataclasses.replace(loaded, workers=0, markers=None) == dataclasses.replace(
        BUILTIN[name], workers=0, markers=None
    )
