"""The scan: axes and variants (pure), its analysis over built runs (pure), and `benchlib scan`
for real on the fixture suites (integration: small scans, one or two runs a variant)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import factories as f
import pytest
import suitekit

from benchlib.analyze import chartdata, resultset
from benchlib.analyze.scan import pick, stored
from benchlib.analyze.summary import analyze
from benchlib.errors import InputError
from benchlib.explain import explanation
from benchlib.model import results
from benchlib.model.results import Counts, TestRecord
from benchlib.plan import scanplan
from benchlib.plan.machine import Interpreter
from benchlib.plan.strategy import BUILTIN
from benchlib.render import markdown

unit = pytest.mark.unit
PY311 = Interpreter("/usr/bin/python3", "3.11.7", "9.0.0", "3.8.0")
PY312 = dataclasses.replace(PY311, python="3.12.1")


# --- axes and variants --------------------------------------------------------------------


@unit
@pytest.mark.parametrize(
    ("text", "usable", "counts"),
    [
        ("0,1,2,4", 2, (0, 1, 2, 4)),
        ("0..auto", 2, (0, 1, 2)),
        ("..2*auto", 2, (0, 1, 2, 4)),
        ("1..16", 14, (1, 2, 4, 8, 14, 16)),
        ("4,0..1", 2, (0, 1, 4)),
    ],
)
def test_worker_lists_and_ranges(text: str, usable: int, counts: tuple[int, ...]) -> None:
    assert scanplan.parse_workers(text, usable) == counts


@unit
def test_default_workers_reach_twice_the_cpus() -> None:
    assert scanplan.default_workers(2) == (0, 1, 2, 4)
    assert scanplan.default_workers(14) == (0, 1, 2, 4, 8, 14, 16, 28)


@unit
@pytest.mark.parametrize(
    ("option", "text"),
    [("workers", "3..1"), ("workers", "two"), ("workers", "2*"), ("dist", "load,each")],
)
def test_bad_axes_name_the_option_and_value(option: str, text: str) -> None:
    parse = (
        (lambda t: scanplan.parse_workers(t, 2)) if option == "workers" else scanplan.parse_dists
    )
    with pytest.raises(InputError) as caught:
        parse(text)
    assert (caught.value.what, caught.value.value) == (option, text)


@unit
def test_args_axis_is_split_like_a_shell_but_never_run_by_one() -> None:
    axis = scanplan.parse_axis("args:-k 'a or b'|-p no:randomly|", "3.11.7", True)
    assert isinstance(axis, scanplan.Axis)
    assert [v.args for v in axis.values] == [("-k", "a or b"), ("-p", "no:randomly"), ()]
    assert [v.label for v in axis.values] == ["-k 'a or b'", "-p no:randomly", ""]
    with pytest.raises(InputError):
        scanplan.parse_axis("args:-k 'unclosed", "3.11.7", True)


@unit
def test_env_axis_and_ready_made_axes() -> None:
    env = scanplan.parse_axis("env:COVERAGE_CORE=ctrace,", "3.11.7", True)
    assert isinstance(env, scanplan.Axis)
    assert [(v.label, v.env) for v in env.values] == [
        ("COVERAGE_CORE=ctrace", (("COVERAGE_CORE", "ctrace"),)),
        ("", ()),
    ]
    note = scanplan.parse_axis("coverage", "3.11.7", True)
    assert isinstance(note, str)
    assert "unavailable" in note
    assert "3.11.7" in note
    sysmon = scanplan.parse_axis("coverage", "3.12.1", True)
    assert isinstance(sysmon, scanplan.Axis)
    assert [v.env for v in sysmon.values] == [
        (("COVERAGE_CORE", "ctrace"),),
        (("COVERAGE_CORE", "sysmon"),),
    ]
    off = scanplan.parse_axis("autoload:pytest_cov", "3.11.7", True)
    assert isinstance(off, scanplan.Axis)
    assert off.values[1].env == (("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"),)
    assert off.values[1].args == ("-p", "xdist", "-p", "pytest_cov")
    with pytest.raises(InputError):
        scanplan.parse_axis("tracer", "3.11.7", True)


@unit
def test_grid_turns_an_unavailable_axis_into_a_note() -> None:
    grid = scanplan.grid("0,2", "load", ["coverage", "autoload"], PY311, usable=2)
    assert [a.name for a in grid.axes] == ["autoload"]
    assert len(grid.notes) == 1
    assert len(scanplan.grid(None, None, ["coverage"], PY312, usable=2).axes) == 1


@unit
def test_variants_link_to_the_configured_strategy_and_it_to_serial() -> None:
    grid = scanplan.Grid((0, 1, 2), ("load", "worksteal"))
    found = scanplan.variants(BUILTIN["gate"], grid, usable=2)
    names = [v.strategy.name for v in found]
    assert names[0] == "gate@n2-load"  # -n auto on 2 CPUs, xdist's default mode
    assert found[0].configured
    assert len(names) == len(set(names)) == 5  # n2-load is a grid point and the configured one
    links = {v.strategy.name: v.strategy.compare_to for v in found}
    assert links["gate@n2-load"] == "gate@n0"
    assert links["gate@n0"] is None
    assert {links[n] for n in names[2:]} == {"gate@n2-load"}
    serial = next(v for v in found if v.workers == 0)
    assert serial.strategy.dist is None
    assert all(v.strategy.scope == "full" and not v.strategy.budgets for v in found)


@unit
@pytest.mark.parametrize(
    ("text", "value"),
    [("4GiB", 4 * 2**30), ("512M", 512 * 2**20), ("1000", 1000), ("1.5k", 1536), ("auto", "auto")],
)
def test_memory_budget(text: str, value: object) -> None:
    assert scanplan.parse_memory_budget(text) == value


# --- the analysis -------------------------------------------------------------------------

PASS = (
    TestRecord("tests/test_a.py::t", "passed", 0.5),
    TestRecord("tests/test_a.py::u", "passed", 0.5),
)


def runs(name: str, walls: list[float], **kw: Any) -> list[Any]:
    workers = int(name.split("@n")[1].split("-")[0].split("+")[0])
    dist = "load" if workers else None
    configured = name == "gate@n2-load"
    link = "gate@n0" if configured else (None if name == "gate@n0" else "gate@n2-load")
    skw = {"workers": workers, "dist": dist, "compare_to": link}
    skw |= kw.pop("strategy_kw", {})
    rss = kw.pop("peak_rss_bytes", (40 + 30 * workers) * 2**20)
    return [
        f.result(name, wall_s=w, round=i, strategy_kw=skw, tests=PASS, peak_rss_bytes=rss, **kw)
        for i, w in enumerate(walls)
    ]


def study(*groups: list[Any], **kw: Any) -> pick.ScanResult:
    (found,) = pick.analyze(resultset.from_results([r for g in groups for r in g]), **kw)
    return found


SCAN = {
    "gate@n0": [10.0, 10.2, 9.9, 10.1, 10.0],
    "gate@n1-load": [10.6, 10.5, 10.7, 10.6, 10.4],
    "gate@n2-load": [5.6, 5.5, 5.7, 5.6, 5.5],
    "gate@n4-load": [5.3, 5.7, 5.35, 5.65, 5.5],  # a little faster than n2, within its noise
}


@unit
def test_points_verdicts_and_the_curve() -> None:
    s = study(*(runs(n, w) for n, w in SCAN.items()))
    assert s.configured == "gate@n2-load"
    assert [p.variant for p in s.points] == list(SCAN)
    by = {p.variant: p for p in s.points}
    assert by["gate@n2-load"].vs_configured is None
    j = by["gate@n0"].vs_configured
    assert j is not None
    assert j.word == "slower"
    assert by["gate@n4-load"].wall_s_median == 5.5
    interval = by["gate@n4-load"].interval
    assert interval is not None
    assert (interval.low_s, interval.high_s, interval.coverage) == (5.3, 5.7, 0.9375)
    (curve,) = s.curves
    assert curve.dist == "load"
    assert curve.fit.runs == 15
    assert curve.fit.parallel_s > 0


@unit
def test_fewest_workers_within_the_noise_floor_or_the_fastest() -> None:
    groups = [runs(n, w) for n, w in SCAN.items()]
    fewest = study(*groups).recommended
    assert fewest is not None
    assert (fewest.point.variant, fewest.fastest.variant) == ("gate@n2-load", "gate@n4-load")
    assert fewest.rule == "fewest-within-noise"
    assert fewest.vs_configured is None  # the configured variant itself
    fastest = study(*groups, rule="fastest").recommended
    assert fastest is not None
    assert fastest.point.variant == "gate@n4-load"
    assert fastest.vs_configured is not None


@unit
def test_a_hang_a_mismatch_or_the_memory_budget_excludes_a_variant() -> None:
    ok, stuck = runs("gate@n4-load", [4.0, 60.0])
    hung = [ok, f.replace(stuck, status="timeout", message="in flight: tests/test_a.py::u")]
    broken = TestRecord("tests/test_a.py::u", "error", 0.5, phase="teardown", message="boom")
    failing = [
        f.replace(
            r, tests=(PASS[0], broken), status="tests-failed", outcome=Counts(passed=1, errors=1)
        )
        for r in runs("gate@n1-load", [3.0, 3.1])
    ]
    big = runs("gate@n8-load", [2.0, 2.1], peak_rss_bytes=900 * 2**20)
    s = study(runs("gate@n0", [10.0, 10.1]), runs("gate@n2-load", [5.0, 5.1]), hung, failing, big,
              memory_budget=500 * 2**20)  # fmt: skip
    (mismatch,) = s.mismatches
    assert (mismatch.variant, mismatch.against, mismatch.count) == ("gate@n1-load", "gate@n0", 1)
    assert mismatch.examples == (("tests/test_a.py::u", "error", "passed"),)
    choice = s.recommended
    assert choice is not None
    assert choice.point.variant == "gate@n2-load"
    why = dict(choice.excluded)
    assert "timeout" in why["gate@n4-load"]
    assert "did not end" in why["gate@n1-load"]
    assert "memory budget" in why["gate@n8-load"]


@unit
def test_memory_line_gives_the_most_workers_a_budget_fits() -> None:
    s = study(*(runs(n, w) for n, w in SCAN.items()), memory_budget=1000 * 2**20)
    assert s.memory.per_worker_bytes == pytest.approx(30 * 2**20)
    assert s.memory.max_workers == (1000 - 40) // 30


@unit
def test_scan_json_has_the_stable_keys() -> None:
    data = stored.to_json(study(*(runs(n, w) for n, w in SCAN.items())))
    assert {"strategy", "points", "fit", "recommended", "predicted"} <= data.keys()
    assert {"workers", "dist", "runs", "wall_s_median", "ci_low", "ci_high", "peak_rss_bytes"} <= (
        data["points"][0].keys()
    )
    assert {"workers", "dist", "wall_s", "rule"} <= data["recommended"].keys()
    assert data["fit"]["dist"] == "load"
    json.dumps(data)  # every value is JSON


@unit
def test_suite_text_in_variant_names_is_escaped_in_markdown() -> None:
    evil = "gate@n2-load+X=<b>|y"
    base = runs("gate@n2-load", [5.0, 5.1])
    s = study(base, runs(evil, [4.0, 4.1], strategy_kw={"env": {"X": "<b>|y"}}))
    facts = analyze(base)
    md = markdown.render(facts, explanation.build(facts, [s]))
    row = next(line for line in md.splitlines() if line.startswith("| `gate@n2-load+X"))
    assert "| `X=<b>\\|y` |" in row  # in a code span (never HTML), its | escaped for the table
    assert row.replace("\\|", "").count("|") == 11  # ten columns, as the header has
    assert "<b>" not in re.sub(r"(`+).*?\1", "", md)  # outside code spans it never appears


# --- `benchlib scan` for real ---------------------------------------------------------------


def scan_cli(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return suitekit.benchlib("scan", "gate", "--target", str(target), *args)


# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
@pytest.mark.integration
@pytest.mark.slow
def test_scan_runs_the_variants_and_writes_scan_json(tmp_path: Path) -> None:
    target = suitekit.copy_suite("scan_tiny", tmp_path)
    out = tmp_path / "results"
    done = scan_cli(
        target, "--results", str(out), "--workers", "0,1", "--axis", "coverage", "--json"
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # stdout is the JSON and nothing else
    assert data == json.loads((out / "scan.json").read_text())
    points = {(p["workers"], p["dist"]): p for p in data["points"]}
    assert set(points) == {(0, None), (1, "load"), (2, "load")}  # 2: the configured -n auto
    assert all(p["runs"] == 1 for p in points.values())
    assert data["recommended"]["rule"] == "fewest-within-noise"
    assert data["stopped"] == "rounds"
    assert "unavailable" in done.stderr  # the coverage axis on Python 3.11
    assert all(p["kind"] == "prediction" for p in data["predicted"])
    md = (out / "summary.md").read_text()
    assert "## Scaling: `gate`" in md
    assert "predictions, not measurements" in md
    for path in results.find_result_files([out]):  # traces and pick.json are not results
        suitekit.validate(path)


# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
@pytest.mark.integration
@pytest.mark.slow
def test_parallel_only_failure_is_a_loud_mismatch(tmp_path: Path) -> None:
    target = suitekit.copy_suite("xdist_only", tmp_path)
    done = scan_cli(target, "--workers", "0,1", "--results", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr  # failing tests are a finding, not an error
    for variant in ("gate@n1-load", "gate@n2-load"):  # both parallel, the second as configured
        assert f"MISMATCH: {variant} ended 1 test differently from gate@n0" in done.stderr
    data = json.loads((tmp_path / "r" / "scan.json").read_text())
    assert data["recommended"]["variant"] == "gate@n0"
    assert {e["variant"] for e in data["recommended"]["excluded"]} == {
        "gate@n1-load",
        "gate@n2-load",
    }
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "**Mismatch:** `gate@n1-load` ended 1 test differently from `gate@n0`" in md
    assert "`test_shared_state.py::test_reads_marker` (error here, passed there)" in md


# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
@pytest.mark.integration
@pytest.mark.slow
def test_env_axis_changes_the_run_and_repeat_auto_says_why_it_stopped(tmp_path: Path) -> None:
    target = suitekit.copy_suite("scan_io", tmp_path)
    done = scan_cli(
        target, "--results", str(tmp_path / "r"), "--workers", "0", "--axis", "env:SCAN_IO_S=0.01,",
        "--repeat", "auto", "--budget", "1", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    fast = "gate@n0+SCAN_IO_S=0.01"
    assert {p["variant"] for p in data["points"]} == {"gate@n0", fast, "gate@n2-load"}
    assert all(p["runs"] == 4 for p in data["points"])  # auto's fewest rounds, then the budget
    assert data["stopped"] in ("budget", "width")
    assert data["recommended"]["variant"] == fast
    assert data["recommended"]["verdict"] == "faster"


# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
@pytest.mark.integration
@pytest.mark.slow
def test_bad_axis_is_refused_before_anything_runs(tmp_path: Path) -> None:
    target = suitekit.copy_suite("scan_tiny", tmp_path)
    for args, flag in ((["--workers", "3..1"], "--workers"), (["--axis", "tracer"], "--axis")):
        done = scan_cli(target, "--results", str(tmp_path / "r"), *args)
        assert done.returncode == 2
        assert done.stderr.startswith(f"benchlib: error: {flag} ")
        assert len(done.stderr.splitlines()) == 1
    assert not list((tmp_path / "r").glob("*.json"))


# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
@pytest.mark.integration
@pytest.mark.slow
def test_nox_scan_session_is_listed_and_not_default() -> None:
    noxfile = Path(__file__).parent.parent / "noxfile.py"
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "--noxfile", str(noxfile), "-l"],
        capture_output=True, text=True, timeout=120, env=suitekit.env_without_pytest_vars(),
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith("- scan ") for line in listed.stdout.splitlines())


@unit
def test_the_lane_advice_names_the_scans_pick_for_the_scanned_strategy() -> None:
    """Two runs a side settle no lane verdict ("keep gate@n0"), while the scan picks -n 2:
    every output names the scan's pick, so none says "keep" beside a scan saying -n 2."""
    found = [*runs("gate@n0", [10.0, 10.1]), *runs("gate@n2-load", [5.0, 5.1])]
    s = study(found, rule="fastest")
    assert s.recommended is not None and s.recommended.point.variant == "gate@n2-load"
    facts = analyze(found)
    e = explanation.build(facts, [s])
    roles = {r.kind: r.strategy for r in e.recommendations if r.kind in ("local", "gate")}
    assert roles == {"local": "gate@n2-load", "gate": "gate@n2-load"}
    assert all("keep `gate@n0`" not in r.text for r in e.recommendations)
    assert e.bottom_line == (
        "On this machine, use `gate@n2-load` for local iteration and as the quality gate."
    )
    (pick,) = e.scan_picks
    assert all(pick.text in r.text for r in e.recommendations if r.kind in roles)


def _bench(first: str, second: str, bench: str, hour: int) -> list[Any]:
    """One bench's round, linked as scanplan links them: the configured variant (first, as a
    scan runs it) compares to the serial one, the other to it, the serial one to nothing."""
    walls = {"gate@n0": [10.0], "gate@n2-load": [5.0]}
    links = {first: None if first == "gate@n0" else "gate@n0"}
    links[second] = None if second == "gate@n0" else first
    return [
        r
        for minute, name in enumerate((first, second))
        for r in runs(
            name, walls[name], bench_id=bench, started_at=f"2026-11-26T{hour:02d}:0{minute}:00Z",
            strategy_kw={"compare_to": links[name]},
        )
    ]  # fmt: skip


@unit
@pytest.mark.parametrize("configured", ["gate@n2-load", "gate@n0"])
def test_the_configured_variant_is_the_one_a_scan_ran_first(configured: str) -> None:
    """Issue 21 item 9: with a serial and one parallel variant, compare_to cannot tell which
    is the strategy as configured; the scan runs it first in its bench."""
    other = "gate@n0" if configured == "gate@n2-load" else "gate@n2-load"
    assert study(_bench(configured, other, "b1", 12)).configured == configured
    # An older scan of another configuration in the same folder: the newest bench decides.
    assert (
        study(_bench(other, configured, "b0", 11), _bench(configured, other, "b1", 12)).configured
        == configured
    )


@unit
def test_a_variant_with_no_finished_run_is_charted_without_a_point() -> None:
    """Issue 21 item 5: every variant timed out; the summary's charts read the scan."""
    timed_out = [
        *runs("gate@n0", [0.3], status="timeout"),
        *runs("gate@n2-load", [0.3], status="timeout"),
    ]
    s = study(timed_out)
    assert all(p.wall_s_median is None for p in s.points)
    chart = chartdata.scan_from_json(stored.to_json(s), "scan.json")
    assert chart.points == ()


@unit
def test_the_configured_variant_left_out_of_the_worker_axis_is_said() -> None:
    gate = BUILTIN["gate"]  # -n auto
    grid = scanplan.Grid(workers=(0,))
    note = scanplan.configured_note(scanplan.variants(gate, grid, 2), grid)
    assert note is not None
    assert "runs with 2 workers (gate@n2-load), which --workers 0 left out" in note
    grid = scanplan.Grid(workers=(0, 2))
    assert scanplan.configured_note(scanplan.variants(gate, grid, 2), grid) is None
