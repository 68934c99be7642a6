"""The machine's load beside each run: measured from /proc/stat, judged by one rule, marked in
every output; a run beside real CPU burners is busy, the same run alone is not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import factories as f
import pytest
import suitekit

from benchlib import report
from benchlib.analyze import advice, busy, summary
from benchlib.explain import reasons
from benchlib.measure import cpuload
from benchlib.model.results import MachineLoad

STAT = """\
cpu  300 0 100 900 0 0 0 30 0 0
cpu0 100 0 50 450 0 0 0 10 0 0
cpu1 200 0 50 450 0 0 0 20 0 0
intr 1 2 3
"""


def loaded(name: str = "serial-full", others: float = 0.0, wall_s: float = 10.0, **kw: Any) -> Any:
    """A run on 2 CPUs of which other processes took `others` (a share) while it ran."""
    load = MachineLoad(cpus=2, span_s=wall_s, busy_cpu_s=5 + others * 2 * wall_s, own_cpu_s=5,
                       steal_s=0.0)  # fmt: skip
    return f.result(name, wall_s=wall_s, load=load, **kw)


@pytest.mark.unit
def test_proc_stat_is_read_for_the_cpus_the_run_can_use() -> None:
    tick = cpuload._TICK_S
    assert cpuload.parse(STAT, None) == (2, 400 * tick, 30 * tick)
    assert cpuload.parse(STAT, {1}) == (1, 250 * tick, 20 * tick)
    # A kernel without the steal column: the load is measured, steal is not reported.
    assert cpuload.parse("cpu0 10 0 5 100 0 0 0\n", None) == (1, 15 * tick, None)
    assert cpuload.parse("intr 1\n", None) is None


@pytest.mark.unit
def test_others_are_what_the_machine_took_less_our_own_and_the_rule_is_one_threshold() -> None:
    quiet, edge = loaded(others=0.05), loaded(others=busy.BUSY_SHARE)
    load = busy.load_of(quiet)
    assert load is not None and load.others == pytest.approx(0.05) and not load.busy
    assert busy.is_busy(edge) and not busy.is_busy(quiet)
    # Steal counts as taken: the hypervisor gave the CPUs to another guest.
    stolen = f.replace(quiet, load=MachineLoad(2, 10.0, 6.0, 5.0, steal_s=5.0))
    assert busy.is_busy(stolen)
    # Our own CPU above the machine's (clock ticks against rusage) is no negative load.
    own = MachineLoad(2, 10.0, busy_cpu_s=4.99, own_cpu_s=5.0, steal_s=None)
    assert own.others_cpu_s == 0.0
    assert busy.load_of(f.replace(quiet, load=None)) is None


@pytest.mark.unit
def test_too_busy_to_judge_when_half_a_strategys_runs_were_busy() -> None:
    base = [loaded(others=0.5, round=0), *(loaded(others=0.02, round=i) for i in range(1, 4))]
    found = busy.finding({"serial-full": base, "gate": [loaded("gate", others=0.5)] * 2})
    assert (found.measured, found.busy, found.too_busy) == (6, 3, ("gate",))
    assert found.worst == pytest.approx(0.5) and found.cpus == 2
    assert not busy.finding({"serial-full": base}).too_busy_to_judge
    assert busy.finding({}).measured == 0


def _gate_lane(others: float) -> list[Any]:
    kw = {"strategy_kw": {"compare_to": "serial-full", "workers": 2}}
    walls = (5.0, 5.1, 4.9, 5.05)
    return [loaded("gate", others, w, round=i, **kw) for i, w in enumerate(walls)]


def _base() -> list[Any]:
    return [loaded(others=0.02, wall_s=w, round=i) for i, w in enumerate((9.0, 9.1, 8.9, 9.05))]


@pytest.mark.unit
def test_a_busy_machine_recommends_nothing_and_is_said_first() -> None:
    s = summary.analyze([*_base(), *_gate_lane(others=0.6)])
    assert s.load.too_busy == ("gate",) and s.strategy("gate").busy_runs == 4
    found = advice.advise(s)
    assert [r.rule for r in found.recommendations][:1] == ["busy"]
    assert not any(r.rule in ("local", "gate") for r in found.recommendations)
    md = report.render_markdown(s)
    assert md.index("too busy to judge") < md.index("## Baseline")
    assert "busy machine: other processes took 60% of its 2 CPUs" in md
    # The same lanes on a quiet machine: the gate is recommended.
    quiet = advice.advise(summary.analyze([*_base(), *_gate_lane(others=0.02)]))
    assert [r.rule for r in quiet.recommendations][:2] == ["local", "gate"]


@pytest.mark.unit
def test_a_busy_parallel_runs_why_names_contention() -> None:
    def why(others: float) -> str:
        def load(wall_s: float) -> MachineLoad:
            return MachineLoad(2, wall_s, 1 + others * 2 * wall_s, 1.0, 0.0)

        serial = f.timed("serial-full", lanes={None: [("t.py::a", 4.0), ("t.py::b", 4.0)]})
        lanes = {"gw0": [("t.py::a", 4.0)], "gw1": [("t.py::b", 4.0)]}
        gate = f.timed("gate", lanes=lanes, strategy_kw={"compare_to": "serial-full"})
        serial = f.replace(serial, load=load(serial.wall_s))
        s = summary.analyze([serial, f.replace(gate, load=load(gate.wall_s))])
        return reasons.strategy_why(s.strategy("gate")) or ""

    said = why(0.5)
    assert "Contention: other processes took 50% of its 2 CPUs during this run" in said
    assert "leaving its 2 workers about 1.00 CPUs" in said
    assert "Contention" not in why(0.02)


# --- real processes: a run beside CPU burners, and the same run alone ------------------------


def _bench(target: Path, out: Path, tmp: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    env = suitekit.env_without_pytest_vars() | {"BENCH_BURN_S": "1.5", "BENCH_CPU_DIR": str(tmp)}
    proc = suitekit.benchlib(
        "run", "serial-full", "--workers", "2", "--target", str(target), "--results", str(out),
        "--summary", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc, out


def _outputs(out: Path) -> tuple[str, dict[str, Any], str]:
    html = (out / "report.html").read_text()
    return (out / "summary.md").read_text(), json.loads((out / "summary.json").read_text()), html


@pytest.mark.integration
@pytest.mark.slow
def test_a_run_beside_cpu_burners_is_marked_busy_in_every_output(tmp_path: Path) -> None:
    target = suitekit.copy_suite("cpu", tmp_path)
    # Both CPUs burnt for the whole run (and longer): the tree's 2 workers share them with 2
    # more processes, so others take about half of them whatever else the machine does.
    with suitekit.burning(2, limit_s=120):
        proc, out = _bench(target, tmp_path / "busy", tmp_path)
    assert "[busy machine: other processes took" in proc.stderr  # the progress line
    md, data, html = _outputs(out)
    assert "**Warning:** The machine was too busy to judge" in md
    assert "busy machine: other processes took" in md  # the run in the evidence
    assert data["load"]["too_busy"] == ["serial-full"] and data["load"]["busy"] == 1
    [run] = data["runs"]
    assert run["busy"] and run["load"]["others"] >= busy.BUSY_SHARE
    assert data["recommendations"][0]["rule"] == "busy"
    assert 'data-load="too-busy"' in html and "data-busy" in html
    assert "too busy to judge" in proc.stdout  # the terminal table


@pytest.mark.integration
@pytest.mark.slow
def test_the_same_run_alone_is_not_busy(tmp_path: Path, quiet_machine: None) -> None:
    target = suitekit.copy_suite("cpu", tmp_path)
    # The tree itself keeps both CPUs busy: none of its CPU may count as other processes'.
    proc, out = _bench(target, tmp_path / "alone", tmp_path)
    md, data, html = _outputs(out)
    [run] = data["runs"]
    assert run["load"] is not None, "the load was not measured"
    assert not run["busy"], run["load"]
    assert "busy machine" not in proc.stderr + md
    assert "The machine was quiet" in md and data["load"]["busy"] == 0
    assert 'data-load="quiet"' in html and "data-busy" not in html


@pytest.mark.integration
@pytest.mark.slow
def test_the_load_is_recorded_in_the_result_file(tmp_path: Path) -> None:
    target = suitekit.copy_suite("lanes", tmp_path)
    (target / ".warm").touch()  # no cold start to wait for
    r = suitekit.run(target, tmp_path / "results", name="serial-full")
    assert r.load is not None and r.load.cpus >= 1 and r.load.span_s >= r.wall_s
    # benchlib's own CPU and the tree's are in own_cpu_s, never in the others'.
    assert r.load.own_cpu_s >= r.cpu_user_s + r.cpu_system_s - 0.05
