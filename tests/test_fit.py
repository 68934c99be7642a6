"""Defaults that fit the project: lanes that cannot work, like for like, the fast lane."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import factories
import pytest

from benchlib.analyze import fastlane, resultset, summary
from benchlib.errors import InputError
from benchlib.measure import recording
from benchlib.plan import cicommand, fit
from benchlib.plan.probe import Coverage, ProjectProbe
from benchlib.plan.strategy import BUILTIN, Strategy

pytestmark = pytest.mark.unit

WORKERS = {"serial-full": 0, "unit": 0, "xdist-unit": 2, "gate": 2}


def probe(**kw: object) -> ProjectProbe:
    """A probe's answer as the project's pytest gives it (here written out)."""
    fields: dict[str, object] = {
        "python": "/p/.venv/bin/python", "target": "/p", "args": (), "exit_code": 0,
        "error": None, "probe_s": 0.2, "inifile": "/p/pyproject.toml",
        "markers": ("parametrize", "skip", "xfail"), "xdist_loaded": True, "xdist_version": "3.8",
    }  # fmt: skip
    fields.update(kw)
    return ProjectProbe(**fields)  # type: ignore[arg-type]


def check(found: ProjectProbe, declared: tuple[str, ...] = (), **extra: Strategy):
    strategies = {**BUILTIN, **extra}
    workers = {**WORKERS, **{n: 0 for n in extra}}
    return fit.check(strategies, list(strategies), workers, found, declared)


def test_the_unit_lanes_are_left_out_where_no_unit_marker_is_registered() -> None:
    run, left = check(probe())
    assert run == ["serial-full", "gate"]
    assert [n.strategy for n in left] == ["unit", "xdist-unit"]
    assert "selects nothing" in left[0].reason
    assert left[0].fix.startswith('register it (markers = ["unit: ')
    assert "[tool.pytest.ini_options]" in left[0].fix


def test_under_strict_markers_the_reason_is_the_usage_error() -> None:
    _, left = check(probe(strict_markers=True, inifile="/p/pytest.ini"))
    assert "--strict-markers makes that a usage error" in left[0].reason
    assert "under [pytest] in pytest.ini" in left[0].fix


def test_a_registered_marker_keeps_the_lanes() -> None:
    run, left = check(probe(markers=("unit",), strict_markers=True))
    assert run == list(BUILTIN) and left == ()


def test_a_declared_lane_that_cannot_work_is_an_error_before_anything_runs() -> None:
    with pytest.raises(InputError, match="strategy 'unit' cannot work here: -m 'unit'"):
        check(probe(strict_markers=True), declared=("unit",))


def test_a_shared_expression_on_an_unregistered_marker_under_strict_is_an_error() -> None:
    shared = dataclasses.replace(BUILTIN["serial-full"], markers="not slow")
    with pytest.raises(InputError, match="marker 'slow'"):
        check(probe(strict_markers=True), **{"serial-full": shared})
    run, _ = check(probe(), **{"serial-full": shared})  # not strict: `not slow` selects all
    assert "serial-full" in run


def test_xdist_lanes_without_xdist() -> None:
    _, left = check(probe(markers=("unit",), xdist_loaded=False, xdist_version=None))
    assert [n.strategy for n in left] == ["xdist-unit", "gate"]
    assert "has no pytest-xdist" in left[1].reason and "pip install pytest-xdist" in left[1].fix
    _, left = check(probe(markers=("unit",), xdist_loaded=False, autoload_disabled=True))
    assert "installed and not loaded (plugin autoload is off)" in left[1].reason
    assert '"-p", "xdist.plugin"' in left[1].fix
    with pytest.raises(InputError, match="has no pytest-xdist"):
        check(probe(xdist_loaded=False, xdist_version=None), declared=("gate",))


def test_a_project_pytest_cannot_configure_is_an_error() -> None:
    with pytest.raises(InputError, match="ERROR: unrecognized arguments: --cov"):
        check(probe(exit_code=4, error="ERROR: unrecognized arguments: --cov"))


@pytest.mark.parametrize(
    ("expression", "names"),
    [("unit", ("unit",)), ("(not slow) and (unit or db)", ("slow", "unit", "db")),
     ("mark(key=1) and not x", ("mark", "x")), (None, ())],
)  # fmt: skip
def test_idents(expression: str | None, names: tuple[str, ...]) -> None:
    assert fit.idents(expression) == names


def lane(
    name: str, argv: tuple[str, ...], wall: float, compare_to: str | None = "ci", workers: int = 0
) -> fit.Lane:
    return fit.Lane(name, argv, workers, "full", compare_to, wall)


def test_a_lane_that_drops_the_baselines_coverage_is_labelled_with_its_cost() -> None:
    lanes = [
        lane("ci", ("tests", "--cov=pkg"), 12.0, None),
        lane("serial-full", ("tests",), 7.0),
        lane("gate", ("tests", "-n", "2"), 5.0, workers=2),
        lane("gate-cov", ("tests", "-n", "2", "--cov=pkg"), 8.0, workers=2),
    ]
    found = fit.given_up(lanes, None)
    assert [(g.strategy, g.baseline, g.cost_s) for g in found] == [
        ("serial-full", "ci", 5.0),
        ("gate", "ci", 5.0),
    ]
    assert found[0].what == "coverage (pytest-cov)"


def test_coverage_in_the_addopts_is_measured_by_every_lane_alike() -> None:
    lanes = [lane("serial-full", ("tests",), 9.0, None), lane("gate", ("tests", "-n", "2"), 5.0)]
    lanes[1] = dataclasses.replace(lanes[1], compare_to="serial-full")
    assert fit.given_up(lanes, Coverage("pytest-cov", ("",), branch=True)) == ()
    opted_out = dataclasses.replace(lanes[1], argv=("--no-cov",))
    [g] = fit.given_up([lanes[0], opted_out], Coverage("pytest-cov", ("",), branch=True))
    assert g.what == "coverage (pytest-cov, from addopts), branch"


def test_the_slowest_tail_is_proposed_and_an_even_suite_has_none() -> None:
    durations = {f"t.py::fast{i}": 0.01 for i in range(20)} | {"p.py::a": 1.0, "p.py::b": 0.8}
    assert fastlane.tail(durations) == ["p.py::a", "p.py::b"]
    # The first test paid for an import: above ten times the median, far below the tail.
    durations = {f"t::q{i}": 0.0002 for i in range(7)} | {"t::first": 0.012}
    durations |= {f"p::prop{i}": 0.3 for i in range(3)}
    assert fastlane.tail(durations) == ["p::prop0", "p::prop1", "p::prop2"]
    assert fastlane.tail({f"t::{i}": 0.1 for i in range(20)}) == []
    assert fastlane.tail({"a": 1.0, "b": 0.1}) == []  # too few tests for a tail


def test_the_proposal_says_what_the_lane_keeps_and_saves() -> None:
    tests = factories.tests_(
        *((f"tests/test_a.py::t{i}", "passed", 0.05) for i in range(8)),
        ("tests/test_props.py::p1", "passed", 2.0),
        ("tests/test_props.py::p2", "passed", 1.5),
    )
    runs = resultset.from_results([factories.result("serial-full", wall_s=6.0, tests=tests)])
    s = summary.build(runs)
    found = fastlane.analyze(s, runs, None)
    p = found.proposal
    assert p is not None and not p.measured
    assert p.slow == ("tests/test_props.py::p1", "tests/test_props.py::p2")
    assert (p.kept_tests, p.tests) == (8, 10) and p.slow_time_s == pytest.approx(3.5)
    assert p.files == (fastlane.SlowFile("tests/test_props.py", 2, 3.5),)
    from benchlib.explain import fitwords

    [words] = fitwords.proposal_words(p)
    assert words.startswith("Fast lane (proposal, not measured yet): mark the 2 slowest of 10")
    assert "keeps 8 tests (80% of the suite)" in words
    code = fitwords.snippet(p, "/p/pytest.ini")
    assert "pytestmark = pytest.mark.slow" in code and "markers = slow:" in code


@pytest.mark.parametrize(
    ("line", "args", "workers", "coverage"),
    [
        ("pytest --cov=pkg {posargs}", ("--cov=pkg",), 0, "pytest-cov"),
        ("python -m pytest -n auto -q tests && echo done", ("-q", "tests"), "auto", None),
        ("coverage run --branch -m pytest -n4", (), 4, "coverage run"),
        ("pytest ${{ matrix.args }} -x", ("-x",), 0, None),
        ("echo pytest-xdist is fine", None, None, None),
    ],
)
def test_a_test_command_is_read(line: str, args: object, workers: object, coverage: object) -> None:
    found = cicommand.parse(line, "tox.ini")
    if args is None:
        assert found is None
        return
    assert found is not None
    assert (found.args, found.workers, found.coverage) == (args, workers, coverage)


def test_the_test_command_is_found_in_a_workflow(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "jobs:\n  t:\n    steps:\n      - name: Run pytest\n"
        "      - run: |\n          pip install .\n          python -m pytest --cov=x -q\n"
    )
    found = cicommand.detect(tmp_path)
    assert found is not None and found.source == ".github/workflows/ci.yml"
    assert found.args == ("--cov=x", "-q") and found.coverage == "pytest-cov"


def test_pytests_own_reason_goes_first_in_the_message() -> None:
    r = factories.result("unit", status="usage-error", exit_code=4, message=None)
    log = "ERROR: Unknown marker(s) in '-m' expression: unit. Use 'pytest --markers' ...\n"
    assert recording.with_pytest_reason(r, log).message == log.strip()
    assert recording.with_pytest_reason(dataclasses.replace(r, exit_code=1), log).message is None


def test_a_broken_lane_is_given_no_pros() -> None:
    from benchlib.analyze import advice

    broken = factories.result(
        "odd", status="usage-error", exit_code=4, wall_s=1.8,
        strategy_kw={"compare_to": "serial-full"},
    )  # fmt: skip
    s = summary.build(resultset.from_results([factories.result("serial-full"), broken]))
    points = advice.tradeoffs_of(s.strategy("odd"))
    assert points and not any(t.pro for t in points)
    assert [t.point for t in points] == ["not-passed"]
