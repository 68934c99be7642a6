"""Where a run's time went: the breakdown adds up to the wall, the bound never exceeds it.

Pure tests on runs built by factories.timed, and real runs of two fixture suites, serial and
with two xdist workers: `longtail` (one 3 s test and 60 of 0.05 s) is bound by its longest
test, `even` (40 tests of 0.25 s) by the summed time over the workers.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import Callable, Iterator

import factories as f
import pytest
import suitekit

from benchlib import report
from benchlib.analyze import runfacts, summary, timeline
from benchlib.model.results import RunResult

LONG = "test_longtail.py::test_long"


def assert_adds_up(run: RunResult, within: float) -> None:
    parts = timeline.breakdown(run)
    assert parts is not None
    total = sum(s for _, s in parts.parts())
    assert all(s >= 0 for _, s in parts.parts()), parts
    assert abs(total - run.wall_s) <= within * run.wall_s, (total, run.wall_s, parts)


def assert_bounded(run: RunResult) -> timeline.Bound:
    lower = timeline.bound(run)
    assert lower is not None
    assert 0 < lower.bound_s <= run.wall_s, lower
    assert 0 < lower.efficiency <= 1
    return lower


# --- pure ----------------------------------------------------------------------------------


def random_lanes(rng: random.Random) -> dict[str | None, list[tuple[str, float]]]:
    workers = rng.choice([[None], ["gw0", "gw1"], ["gw0", "gw1", "gw2", "gw3"]])
    return {
        w: [(f"t{rng.randrange(5)}.py::t{i}", rng.uniform(0.001, 2.0)) for i in range(30)]
        for w in workers
        if rng.random() > 0.1 or w in (None, "gw0")
    }


@pytest.mark.unit
def test_parts_add_up_and_the_bound_holds_on_any_layout() -> None:
    rng = random.Random(7)
    for _ in range(300):
        lanes = random_lanes(rng)
        asked = 4 if len(lanes) > 2 or "gw2" in lanes else len([w for w in lanes if w])
        dist = rng.choice([None, "loadfile", "loadscope"])
        run = f.timed(
            lanes=lanes,
            gap_s=rng.uniform(0, 0.01),
            shutdown_s=rng.uniform(0, 2),
            strategy_kw={"workers": asked, "dist": dist if asked else None},
        )
        assert_adds_up(run, within=1e-9)
        assert_bounded(run)


@pytest.mark.unit
def test_a_long_test_binds_even_when_it_ties_sum_over_workers() -> None:
    # 60 x 0.05 s beside one 3 s test on two workers: sum / workers is 3.0 s too, and more with
    # per-test overhead; the long test is what more workers could not shrink.
    lanes = {
        "gw0": [(LONG, 3.0)],
        "gw1": [(f"test_longtail.py::test_short[{i}]", 0.0505) for i in range(60)],
    }
    lower = assert_bounded(f.timed(lanes=lanes))
    assert lower.per_worker_s > lower.longest_s
    assert (lower.term, lower.longest) == ("longest test", LONG)


@pytest.mark.unit
def test_even_tests_are_bound_by_sum_over_workers() -> None:
    lanes = {w: [(f"t.py::t{w}{i}", 0.25) for i in range(20)] for w in ("gw0", "gw1")}
    run = f.timed(lanes=lanes)
    lower = assert_bounded(run)
    assert lower.term == "sum / workers"
    assert lower.per_worker_s == pytest.approx(5.0)
    assert lower.bound_s == pytest.approx(lower.fixed_s + 5.0)


@pytest.mark.unit
def test_a_worker_that_ran_nothing_still_counts() -> None:
    # -n 4, but only two workers got tests: a perfect scheduler had four.
    lanes = {w: [(f"t.py::t{w}{i}", 1.0) for i in range(4)] for w in ("gw0", "gw1")}
    run = f.timed(lanes=lanes, strategy_kw={"workers": 4})
    parts = timeline.breakdown(run)
    lower = timeline.bound(run)
    assert parts is not None and lower is not None
    assert (parts.workers, lower.per_worker_s) == (4, pytest.approx(2.0))
    assert parts.idle_tail_s == pytest.approx((4.003 + 4.003) / 4)
    assert_adds_up(run, within=1e-9)


@pytest.mark.unit
def test_a_file_kept_on_one_worker_binds_under_loadfile() -> None:
    lanes = {
        "gw0": [("tests/test_db.py::a", 1.0), ("tests/test_db.py::b", 1.0)],
        "gw1": [("tests/test_x.py::c", 0.1)],
    }
    lower = assert_bounded(f.timed(lanes=lanes, strategy_kw={"dist": "loadfile"}))
    assert (lower.term, lower.longest, lower.longest_s) == (
        "longest group",
        "tests/test_db.py",
        2.0,
    )


@pytest.mark.unit
def test_cpu_binds_a_run_that_kept_every_cpu_busy() -> None:
    # Two tests 50 ms apart: the tests' time bounds the run below its wall, its CPU does not.
    run = f.timed(lanes={None: [("t.py::a", 1.0), ("t.py::b", 1.0)]}, gap_s=0.05, shutdown_s=0)
    run = f.replace(run, cpu_user_s=2 * run.wall_s, cpu_system_s=0.0)  # 2 usable CPUs, both full
    lower = assert_bounded(run)
    assert lower.term == "cpu / usable cpus"


@pytest.mark.unit
def test_the_last_worker_and_what_kept_it_busy() -> None:
    lanes = {
        "gw0": [("t.py::long", 3.0), ("t.py::after", 0.5)],
        "gw1": [(f"t.py::s{i}", 0.1) for i in range(10)],
    }
    facts = runfacts.time_facts(f.timed(lanes=lanes))
    assert facts is not None
    assert facts.last_worker == "gw0"
    assert [t.nodeid for t in facts.late_tests] == ["t.py::long", "t.py::after"]
    assert facts.late_by_s == pytest.approx(3.501 - 1.009)
    assert [c for _, c in facts.worker_collection] == [pytest.approx(0.1)] * 2


# --- real runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, int], RunResult]]:
    """Run a fixture suite once per module and worker count; the runs are kept for all tests."""
    root = tmp_path_factory.mktemp("timeline")
    done: dict[tuple[str, int], RunResult] = {}

    def get(suite: str, workers: int) -> RunResult:
        if (suite, workers) not in done:
            target = suitekit.copy_suite(suite, root / f"{suite}-{workers}")
            out = root / f"results-{suite}"
            name = "serial" if workers == 0 else "xdist"
            kw = {"compare_to": "serial"} if workers else {}
            done[suite, workers] = suitekit.run(target, out, workers=workers, name=name, **kw)
        return done[suite, workers]

    yield get
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("suite", ["longtail", "even"])
def test_real_runs_add_up_and_stay_above_their_bound(
    real: Callable[[str, int], RunResult], suite: str, workers: int
) -> None:
    run = real(suite, workers)
    assert run.status == "passed"
    assert_adds_up(run, within=0.02)
    lower = assert_bounded(run)
    parts = timeline.breakdown(run)
    assert parts is not None
    assert parts.workers == max(workers, 1)
    assert parts.collections == max(workers, 1)
    if suite == "even" and workers:
        assert lower.term == "sum / workers"


@pytest.mark.integration
@pytest.mark.slow
def test_the_long_test_binds_the_real_two_worker_run_and_the_report_names_it(
    real: Callable[[str, int], RunResult],
) -> None:
    run = real("longtail", 2)
    real("longtail", 0)
    lower = assert_bounded(run)
    assert (lower.term, lower.longest) == ("longest test", LONG)
    assert lower.bound_s == pytest.approx(3.0 + lower.fixed_s, rel=0.10)
    # One project: the copies' paths differ, and runs of different projects are never
    # compared (nor explained against each other).
    serial = dataclasses.replace(real("longtail", 0), target=run.target)
    s = summary.analyze([serial, run])
    md = report.render_markdown(s)
    assert f"bound by its longest test, `{LONG}`" in md
    xdist = s.strategy("xdist")
    assert xdist.time is not None and xdist.why is not None
    assert xdist.why.before == "serial"
    assert "the suite was collected twice, once per worker (`gw0`" in md
    assert sum(c.delta_s for c in xdist.why.changes) == pytest.approx(xdist.why.delta_s)
