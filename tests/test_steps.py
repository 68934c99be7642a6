"""Steps: a gate made of several invocations, run in turn, is one logical run.

The shape of a real gate: the xdist-safe tests in parallel (`-n 2 -m "not serial"`), then the
`serial` ones in one process. The fixture's serial tests fail when an xdist worker runs them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import suitekit

from benchlib import pipeline
from benchlib.errors import ConfigError
from benchlib.model import results
from benchlib.plan import config
from benchlib.plan.strategy import Step, Strategy, step_strategy

TWO_STEP = (
    suitekit.ONLY_THE_BASELINE
    + """\

[tool.benchlib.strategies.gate-two-step]
description = "xdist-safe tests on 2 workers, then the serial ones in one process"
compare_to = "serial-full"
steps = [
  { markers = "not serial", workers = 2 },
  { markers = "serial", workers = 0 },
]
"""
)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


@pytest.mark.unit
def test_steps_are_read_and_narrow_the_strategys_selection(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, TWO_STEP)).strategies["gate-two-step"]
    assert s.steps == (Step(markers="not serial", workers=2), Step(markers="serial"))
    narrowed = step_strategy(Strategy("x", markers="not slow"), s.steps[1])
    assert (narrowed.markers, narrowed.workers, narrowed.steps) == (
        "(not slow) and (serial)",
        0,
        (),
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('steps = [{ command = "make test" }]', "must be an argv list"),
        ('steps = [{ command = ["make"], markers = "unit" }]', "command is given with pytest"),
        ('shards = 2\nsteps = [{ markers = "unit" }]', "shard a strategy or give it steps"),
        ('steps = [{ markers = "unit and" }]', "-m expression 'unit and' is not valid"),
        ("steps = []", "a list of step tables"),
        ('steps = [{ marker = "unit" }]', "did you mean 'markers'?"),
    ],
)
def test_bad_steps_are_refused_before_anything_runs(
    tmp_path: Path, table: str, message: str
) -> None:
    write(tmp_path, f"[tool.benchlib.strategies.x]\n{table}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config.load(tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = suitekit.copy_suite("shards", tmp_path)
    (target / "pyproject.toml").write_text(TWO_STEP)
    return target


def bench(project: Path, *args: str) -> None:
    env = {**suitekit.env_without_pytest_vars(), "SUITE_SCALE": "0.1"}
    proc = suitekit.benchlib("run", *args, "--target", str(project), env=env)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.integration
@pytest.mark.slow
def test_a_parallel_lane_then_a_serial_lane_is_one_logical_run(project: Path) -> None:
    bench(project, "serial-full", "gate-two-step")
    out = project / "results"
    steps = sorted(
        (
            results.load(p)
            for p in results.find_result_files([out])
            if p.name.startswith("gate-two")
        ),
        key=lambda r: r.part.index if r.part else 0,
    )
    assert [(r.part.index, r.strategy.workers) for r in steps if r.part] == [(1, 2), (2, 0)]
    assert all(r.status == "passed" for r in steps)  # the serial tests ran serially
    ran = [t.nodeid for r in steps for t in r.tests]
    assert len(ran) == len(set(ran)) == 60  # nothing run twice
    s = pipeline.summarize([out])
    (logical,) = s.logical
    assert logical.kind == "step" and logical.check.ok
    assert logical.wall_s == pytest.approx(sum(r.wall_s for r in steps))
    facts = s.strategy("gate-two-step")
    baseline = s.strategy("serial-full")
    assert facts.outcome is not None and baseline.outcome is not None
    assert facts.outcome.passed == baseline.outcome.passed == 60  # the union
    assert facts.outcome.deselected == 0  # each step's deselection is the other's selection
    assert facts.runs == 1 and facts.comparison is not None
    # Its worker timelines place each step where it ran: the serial step after the parallel.
    (picture,) = [p for p in s.charts.pictures if p.strategy == "gate-two-step"]
    lanes = {lane.worker: lane.segments for lane in picture.lanes}
    parallel_end = max(
        g.start_s + g.duration_s for w, gs in lanes.items() if w != "main" for g in gs
    )
    assert min(g.start_s for g in lanes["main"]) >= parallel_end - 0.01
    # Its command is both steps: a maintainer copying it keeps the serial step's tests.
    assert len(facts.steps) == 2 and facts.command == " && ".join(facts.steps)


@pytest.mark.integration
@pytest.mark.slow
def test_steps_that_miss_tests_fail_the_check(project: Path) -> None:
    missing = '{ markers = "not serial", keyword = "not long", workers = 2 }'
    text = TWO_STEP.replace('{ markers = "not serial", workers = 2 }', missing)
    (project / "pyproject.toml").write_text(text)
    bench(project, "gate-two-step")
    (logical,) = pipeline.summarize([project / "results"]).logical
    assert not logical.check.ok and logical.check.lost == 3  # the three long tests


def with_command(project: Path, command: list[str]) -> None:
    """Make the second step a command (a JSON array of strings is a TOML array)."""
    step = f"{{ command = {json.dumps(command)} }}"
    text = TWO_STEP.replace('{ markers = "serial", workers = 0 }', step)
    (project / "pyproject.toml").write_text(text)


@pytest.mark.integration
@pytest.mark.slow
def test_a_command_step_runs_an_argv_and_its_pytest_is_observed(project: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "serial"]
    with_command(project, command)
    bench(project, "gate-two-step")
    found = [
        results.load(p)
        for p in results.find_result_files([project / "results"])
        if p.name.startswith("gate-two-step_")
    ]
    (second,) = [r for r in found if r.part and r.part.index == 2]
    assert second.argv == tuple(command) and second.status == "passed"
    assert len(second.tests) == 7  # seen through PYTEST_PLUGINS, since no -p can be added
    (logical,) = pipeline.summarize([project / "results"]).logical
    assert logical.check.ok


@pytest.mark.integration
@pytest.mark.slow
def test_a_command_that_is_not_pytest_passes_on_exit_code_zero(project: Path) -> None:
    command = [sys.executable, "-c", "print('migrations checked')"]
    with_command(project, command)
    bench(project, "gate-two-step")
    found = [
        results.load(p)
        for p in results.find_result_files([project / "results"])
        if p.name.startswith("gate-two-step_")
    ]
    (second,) = [r for r in found if r.part and r.part.index == 2]
    assert (second.status, second.tests) == ("passed", ())
    assert "a command step" in (second.message or "")
    (logical,) = pipeline.summarize([project / "results"]).logical
    assert logical.check.lost == 7  # the serial tests: no step ran them
