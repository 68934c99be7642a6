"""Why a strategy won or lost against its compare_to, in one sentence from the numbers; hangs
named with their test and worker, in the report and in summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import factories as f
import pytest
import suitekit

from benchlib import report
from benchlib.analyze import summary
from benchlib.explain import reasons
from benchlib.model.results import InFlight

SERIAL = {"compare_to": None, "workers": 0}
XDIST = {"compare_to": "unit", "workers": 2}


def unit_and_xdist(xdist_boot_s: float, per_test_s: float) -> summary.Summary:
    """20 tests serially, and the same 20 on two workers that boot for xdist_boot_s."""
    names = [f"tests/test_m.py::t{i}" for i in range(20)]
    serial = f.timed("unit", lanes={None: [(n, per_test_s) for n in names]}, strategy_kw=SERIAL)
    lanes = {
        "gw0": [(n, per_test_s) for n in names[::2]],
        "gw1": [(n, per_test_s) for n in names[1::2]],
    }
    xdist = f.timed("xdist-unit", lanes=lanes, boot_s=xdist_boot_s, strategy_kw=XDIST)
    return summary.analyze([serial, xdist])


@pytest.mark.unit
def test_a_lane_that_lost_says_what_cost_more_than_its_workers_saved() -> None:
    s = unit_and_xdist(xdist_boot_s=1.5, per_test_s=0.1)
    x = s.strategy("xdist-unit")
    assert x.why is not None and x.time is not None
    sentence = reasons.why_sentence(x.why)
    # serial: 20 x 0.1 s; two workers: 10 x 0.1 s each, 1.5 s of boot, collected twice.
    # 2.82s against 3.31s: 1.5 s of boot against 1 s less of tests per worker.
    assert sentence.startswith(
        "`xdist-unit` lost 0.49s to `unit`: starting 2 workers that collected the suite twice "
        "(+1.50s) cost more"
    )
    assert "cost more than running the tests on 2 workers (\N{MINUS SIGN}1.00s) saved" in sentence
    assert (
        "its bound at 2 workers is" in sentence
        and f"efficiency {x.time.efficiency:.0%}" in sentence
    )
    assert sum(c.delta_s for c in x.why.changes) == pytest.approx(x.why.delta_s)
    # One run a side is no significant difference: every output hedges, none says "lost".
    hedged = reasons.strategy_why(x)
    assert hedged is not None and hedged.startswith(
        "`xdist-unit` took 0.49s longer than `unit` by median, which is no significant "
        "difference; the parts that moved most: starting 2 workers"
    )
    md = report.render_markdown(s)
    assert f"Why: {hedged}" in md  # in the strategy's section
    assert f"- {hedged}" in md  # and in Where the Time Went
    assert "lost 0.49s" not in md
    assert json.loads(report.render_json(s))["strategies"][1]["why_text"] == hedged


@pytest.mark.unit
def test_a_lane_that_gained_says_what_saved_more_than_its_costs() -> None:
    s = unit_and_xdist(xdist_boot_s=1.5, per_test_s=1.0)
    why = s.strategy("xdist-unit").why
    assert why is not None
    sentence = reasons.why_sentence(why)
    assert sentence.startswith(
        "`xdist-unit` gained 8.51s on `unit`: running the tests on 2 workers "
        "(\N{MINUS SIGN}10.00s) saved more than starting 2 workers that collected the "
        "suite twice (+1.50s) cost; its bound"
    )
    # A part under a tenth of the largest move is left out: 0.2 s of boot beside 10 s.
    small = unit_and_xdist(xdist_boot_s=0.2, per_test_s=1.0)
    quiet = small.strategy("xdist-unit").why
    assert quiet is not None
    assert ", mostly running the tests on 2 workers" in reasons.why_sentence(quiet)


@pytest.mark.unit
def test_the_baseline_says_where_its_own_time_went() -> None:
    s = unit_and_xdist(xdist_boot_s=0.2, per_test_s=1.0)
    base = s.strategy("unit")
    assert base.why is None
    sentence = reasons.strategy_why(base)
    assert sentence is not None
    assert sentence.startswith(
        "In its run closest to the median, `unit` spent 0.80s of 20.82s starting, collecting"
    )
    assert "its bound serially is" in sentence


@pytest.mark.unit
def test_strategy_names_and_node_ids_are_escaped_in_the_sentences() -> None:
    lanes = {"gw0": [("t.py::a`b*|", 3.0)], "gw1": [("t.py::c", 0.5)]}
    run = f.timed("x`y", lanes=lanes, strategy_kw={"workers": 2})
    s = summary.analyze([run])
    md = report.render_markdown(s)
    assert "``x`y``" in md and "``t.py::a`b*|``" in md
    assert "`x`y`" not in md.replace("``x`y``", "")


@pytest.mark.unit
def test_a_hang_names_its_test_worker_and_time() -> None:
    flight = InFlight("tests/test_x.py::test_y", "gw1", 3.0, 87.0)
    gate = f.result(
        "gate",
        status="timeout",
        wall_s=90.0,
        in_flight=(flight,),
        strategy_kw={"compare_to": "serial-full", "workers": 2, "timeout_s": 90.0},
    )
    s = summary.analyze([f.result("serial-full"), gate])
    [hang] = s.strategy("gate").hangs
    words = reasons.hang_words(hang)
    assert (
        words
        == "`gate` timed out after 90s; in flight: `tests/test_x.py::test_y` on `gw1` for 87.0s"
    )
    assert words in report.render_markdown(s)
    assert json.loads(report.render_json(s))["strategies"][1]["hangs"][0]["text"] == words


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_a_hanging_suite_names_the_test_and_its_worker(tmp_path: Path, workers: int) -> None:
    target = suitekit.copy_suite("hang", tmp_path)
    out = tmp_path / "results"
    r = suitekit.run(target, out, workers=workers, timeout_s=3, name="gate")
    assert r.status == "timeout"
    [flight] = r.in_flight
    assert flight.nodeid == "test_hang.py::test_hangs"
    done = suitekit.benchlib("summary", str(out))
    assert done.returncode == 0, done.stderr
    md = (out / "summary.md").read_text()
    where = f"on `{flight.worker}`" if workers else "on the main process"
    assert flight.worker in (("gw0", "gw1") if workers else (None,))
    assert f"`gate` timed out after 3s; in flight: `test_hang.py::test_hangs` {where} for " in md
    # The terminal names the test it hung in too, not only the files.
    hung = [line for line in done.stdout.splitlines() if line.startswith("hung runs: ")]
    assert len(hung) == 1 and "in flight: test_hang.py::test_hangs" in hung[0]
