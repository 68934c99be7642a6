"""The reliability lane, configuration and options: what is refused before anything runs, and
what a configuration selects, on real runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import suitekit
from faultkit import (  # tree_token: autouse, the /proc scan after every case
    benchlib,
    one_line_error,
    one_result,
    tree_token,  # noqa: F401
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]


# --- 5, 11, 12, 13, 19, 20: configuration and options -------------------------------------------


def ran(data: dict[str, Any]) -> set[str]:
    return {row[0].split("::")[1] for row in data["tests"]}


def test_05_shared_markers_and_a_strategys_markers_are_both_applied(tmp_path: Path) -> None:
    """5. args = ["-m", "not network"] and unit's markers: pytest gets both, combined."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text("[tool.benchlib]\nargs = ['-m', 'not network']\n")
    out = tmp_path / "results"
    proc = benchlib("run", "unit", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    data = one_result(out)
    args = data["strategy"]["pytest_args"]
    assert args[args.index("-m") + 1] == "(not network) and (unit)"
    assert args.count("-m") == 1  # pytest keeps only the last -m it is given
    assert ran(data) == {"test_unit", "test_unit_slow_keyword"}


@pytest.mark.parametrize(
    "toml",
    [
        "[tool.benchlib]\ntimeout_s = inf\n",
        "[tool.benchlib]\ninterval_s = nan\n",
        "[tool.benchlib]\ntimeout_s = 1e300\n",
        "[tool.benchlib.strategies.unit]\ntimeout_s = -inf\n",
    ],
    ids=["timeout-inf", "interval-nan", "timeout-1e300", "strategy-timeout-minus-inf"],
)
def test_11_infinite_or_huge_seconds_in_config_are_one_line_errors(
    tmp_path: Path, toml: str
) -> None:
    """11. timeout_s = inf (and its kin) in the config: one line naming the key, exit 2."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(toml)
    key = toml.splitlines()[1].split(" =")[0]
    line = one_line_error(benchlib("run", "--target", target), key, "is not valid")
    assert "seconds > 0" in line or "seconds from 0.01 to 5" in line  # interval_s's range
    assert not (target / "results").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--timeout", "nan"), ("--interval", "nan"), ("--workers", "-1"), ("--timeout", "-3"),
        ("--interval", "-1"), ("--timeout", "0"), ("--warmup", "-1"), ("--budget", "-5"),
        ("--width", "0"), ("--timeout", "inf"), ("--interval", "1e400"), ("--workers", "2.5"),
    ],
)  # fmt: skip
def test_12_13_bad_numbers_are_refused_before_anything_runs(
    tmp_path: Path, args: tuple[str, str]
) -> None:
    """12, 13. Values that would make a result file fail its schema are refused: one line."""
    target = suitekit.copy_suite("markers", tmp_path)
    proc = benchlib("run", "serial-full", *args, "--target", target)
    one_line_error(proc, f"argument {args[0]}: {args[1]!r} is not valid")
    assert not (target / "results").exists()


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[tool.benchlib.strategies.""]\nworkers = 0\n', "is not a usable strategy name"),
        ("[tool.benchlib.strategies.gate]\ndist = 'bogus'\n", "an xdist --dist mode"),
    ],
    ids=["empty-name", "bogus-dist"],
)
def test_12_13_bad_strategies_are_refused_by_config(tmp_path: Path, toml: str, needle: str) -> None:
    """12, 13. A strategy named "" and dist = "bogus": refused before anything runs."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(toml)
    one_line_error(benchlib("run", "--target", target), needle)
    one_line_error(benchlib("list", "--target", target), needle)
    assert not (target / "results").exists()


def test_19_xdist_unit_follows_units_markers(tmp_path: Path) -> None:
    """19. Overriding unit's markers carries over to xdist-unit (like = "unit")."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text("[tool.benchlib.strategies.unit]\nmarkers = 'fast'\n")
    listed = json.loads(benchlib("list", "--json", "--target", target).stdout)
    by_name = {s["name"]: s for s in listed}
    assert by_name["xdist-unit"]["markers"] == "fast"
    assert not any("-m" in s["description"] for s in listed)  # no stale expression in words
    out = tmp_path / "results"
    proc = benchlib("run", "xdist-unit", "--workers", "2", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    data = one_result(out)
    assert ran(data) == {"test_fast"} and data["workers_observed"] == 2


def test_20_top_level_selection_and_list(tmp_path: Path) -> None:
    """20. Top-level markers, keyword, deselect; list shows paths, -m/-k/--deselect from args,
    per-strategy timeouts, in aligned columns."""
    target = suitekit.copy_suite("markers", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib]\npaths = ['test_markers.py']\nargs = ['-k', 'not slow_keyword']\n"
        "markers = 'not network'\ndeselect = ['test_markers.py::test_plain']\ntimeout_s = 30\n"
        "[tool.benchlib.strategies.gate]\ntimeout_s = 10\n"
    )
    listed = benchlib("list", "--target", target)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "test_markers.py -m '(not network) and (unit)' -k 'not slow_keyword'" in rows["unit"]
    assert "--deselect=test_markers.py::test_plain" in rows["unit"]
    assert "-m 'not network'" in rows["serial-full"]
    assert " 10s " in rows["gate"] and " 30s " in rows["serial-full"]
    for header in ("workers", "selects", "compared to", "timeout", "description"):
        column = lines[0].index(header)
        assert all(line[column - 2 : column] == "  " for line in lines), header
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    assert ran(one_result(out)) == {"test_unit", "test_fast"}
