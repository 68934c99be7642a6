"""benchlib explore: the catalogue, the candidates, the safety checks, the patch, the race."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import factories
import pytest
from suitekit import benchlib, copy_suite, interpreter

from benchlib.explore import candidates, facts, safety, writeout
from benchlib.explore.catalogue import markdown_table
from benchlib.explore.facts import Coverage, Facts, Failed
from benchlib.plan import config
from benchlib.plan.runplan import RunPlan
from benchlib.plan.strategy import Strategy, pytest_args, xdist_loads

ROOT = Path(__file__).parent.parent


def _facts(**kw: object) -> Facts:
    fields: dict[str, object] = {
        "python": (3, 11, 7), "plugins": ("logging", "xdist", "pytest_cov", "randomly"),
        "third_party": {"xdist": "xdist.plugin", "pytest_cov": "pytest_cov.plugin",
                        "randomly": "pytest_randomly"},
        "xdist": True, "autoload_off": False, "capture": "fd", "coverage": None,
        "nodeids": ("t.py::a", "t.py::b"),
    }  # fmt: skip
    return Facts(**{**fields, **kw})  # type: ignore[arg-type]


def _cov(**kw: object) -> Coverage:
    fields: dict[str, object] = {
        "version": "7.18",
        "branch": False,
        "timid": False,
        "concurrency": (),
        "dynamic_context": None,
        "tracer": "CTracer",
    }
    return Coverage(**{**fields, **kw})  # type: ignore[arg-type]


@pytest.mark.unit
def test_the_catalogue_in_the_docs_is_the_one_in_the_code() -> None:
    doc = (ROOT / "docs" / "explore.md").read_text()
    inside = doc.split("<!-- catalogue:start -->\n")[1].split("<!-- catalogue:end -->")[0]
    assert inside == markdown_table()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("python", "cov", "blocked"),
    [
        ((3, 11, 7), _cov(), "Python >= 3.12"),
        ((3, 12, 1), _cov(), None),
        ((3, 12, 1), _cov(branch=True), "only from Python 3.14"),
        ((3, 14, 0), _cov(branch=True), None),
        ((3, 13, 0), _cov(dynamic_context="test_function"), "dynamic contexts"),
        ((3, 13, 0), _cov(concurrency=("gevent",)), "concurrency=gevent"),
        ((3, 13, 0), _cov(timid=True), "timid"),
    ],
)
def test_sysmon_applies_by_coverages_own_rules(
    python: tuple[int, int, int], cov: Coverage, blocked: str | None
) -> None:
    why = candidates.sysmon_blocker(_facts(python=python, coverage=cov), cov)
    assert (why is None) if blocked is None else (why is not None and blocked in why)


@pytest.mark.unit
def test_the_levers_that_apply_are_candidates_and_the_others_are_said() -> None:
    lane = Strategy(name="ci", args=("--cov=pkg",))
    found = candidates.find(lane, 0, _facts(coverage=_cov(tracer="PyTracer")), True, 2)
    names = {c.strategy.name for c in found.candidates}
    assert {"ci.n2", "ci.n4", "ci.n2-worksteal", "ci.ctrace", "ci.capture-sys"} <= names
    assert {"ci.autoload-off", "ci.plugins-off", "ci.no-logging", "ci.gc-freeze"} <= names
    assert "ci.serial" not in names and "ci.sysmon" not in names  # serial lane; Python 3.11
    assert any(lever == "coverage-core" and "3.12" in why for lever, why in found.not_applicable)
    off = next(c for c in found.candidates if c.strategy.name == "ci.plugins-off")
    # The lane measures coverage: pytest-cov is needed; randomly and xdist (serial) are not.
    assert off.plugins_off == ("randomly", "xdist")
    auto = next(c for c in found.candidates if c.strategy.name == "ci.autoload-off")
    assert auto.strategy.args[-2:] == ("-p", "pytest_cov.plugin")


@pytest.mark.unit
def test_a_serial_variant_passes_no_n_0_where_xdist_does_not_load() -> None:
    off = Strategy(name="s", env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert not xdist_loads(off, True, {})
    assert xdist_loads(dataclasses.replace(off, args=("-p", "xdist.plugin")), True, {})
    assert not xdist_loads(Strategy(name="s", args=("-p", "no:xdist")), True, {})
    assert not xdist_loads(Strategy(name="s"), True, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert xdist_loads(Strategy(name="s"), True, {})
    args = pytest_args(off, paths=(), shared_args=(), workers=0, xdist_installed=False)
    assert "-n" not in args


@pytest.mark.unit
def test_combining_autoload_off_with_workers_brings_xdist_back() -> None:
    lane = Strategy(name="ci")
    found = candidates.find(lane, 0, _facts(), True, 2)
    pick = {c.strategy.name: c for c in found.candidates}
    combo = candidates.combine(lane, [pick["ci.autoload-off"], pick["ci.n2"]])
    assert combo.strategy.workers == 2
    assert "xdist.plugin" in combo.strategy.args
    assert combo.families == {"plugins", "workers"}


@pytest.mark.unit
def test_a_candidate_that_ends_tests_differently_is_rejected_with_the_tests() -> None:
    lane = factories.result("ci", tests=factories.tests_(("t::a", "passed", 1.0),
                                                           ("t::b", "passed", 0.5)))  # fmt: skip
    cand = factories.result("ci.x", tests=factories.tests_(("t::a", "passed", 1.0),
                                                             ("t::b", "failed", 0.01)))  # fmt: skip
    c = candidates.find(Strategy(name="ci"), 0, _facts(), True, 2).candidates[0]
    v = safety.check(c, (_facts(), _facts()), (lane, cand), None, "")
    assert not v.safe
    assert "t::b: passed -> failed" in v.reasons[0]
    assert v.suspect == ("t::b 0.50 s -> 0.01 s",)


@pytest.mark.unit
def test_coverage_is_equal_within_the_tolerance_and_the_lines_that_differ_are_named() -> None:
    lane = ({"pkg/a.py": frozenset({1, 2, 3})}, 75.0)
    same, lines = safety.coverage(lane, ({"pkg/a.py": frozenset({1, 2, 3})}, 75.0))
    assert same and lines is None
    one, lines = safety.coverage(lane, ({"pkg/a.py": frozenset({1, 2})}, 74.95))
    assert one and lines is not None and "pkg/a.py:3 lost" in lines
    less, _ = safety.coverage(lane, ({"pkg/a.py": frozenset({1})}, 50.0))
    assert not less


@pytest.mark.unit
def test_a_lever_that_did_not_take_effect_is_said() -> None:
    found = candidates.find(Strategy(name="ci"), 0, _facts(python=(3, 12, 1), coverage=_cov()),
                            True, 2)  # fmt: skip
    sysmon = next(c for c in found.candidates if c.strategy.name == "ci.sysmon")
    after = _facts(coverage=_cov(tracer="CTracer"))
    why = safety.effect(sysmon, _facts(), after, "CoverageWarning: Can't use core=sysmon: ...")
    assert why is not None and "CTracer, not SysMonitor" in why and "warned" in why
    logging_off = next(c for c in found.candidates if c.strategy.name == "ci.no-logging")
    assert safety.effect(logging_off, _facts(), _facts(), "") == "plugin logging still loaded"
    assert safety.effect(logging_off, _facts(plugins=("xdist",)), _facts(), "") is not None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('[tool.pytest.ini_options]\naddopts = ["-q"]\n', 'addopts = ["-q", "-n", "2"'),
        ('[tool.pytest.ini_options]\naddopts = "-q"\n', 'addopts = "-q -n 2'),
        ("[tool.pytest.ini_options]\nxfail_strict = true\n", 'addopts = ["-n", "2"'),
        ("[project]\nname = 'x'\n", '[tool.pytest.ini_options]\naddopts = ["-n", "2"'),
    ],
)
def test_the_patch_adds_to_addopts_however_it_is_written(
    tmp_path: Path, before: str, after: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(before)
    change = candidates.Change(workers=2, dist="worksteal", coverage_core="sysmon", gc_freeze=True)
    files = writeout.changed_files(tmp_path, change)
    new = files[tmp_path / "pyproject.toml"][1]
    assert after in new and "--dist" in new
    assert tomllib.loads(new)["tool"]["coverage"]["run"]["core"] == "sysmon"
    assert "gc.freeze()" in files[tmp_path / "conftest.py"][1]
    text = writeout.patch(tmp_path, files)
    assert "+++ b/conftest.py" in text and "--- /dev/null" in text


@pytest.mark.unit
def test_candidates_written_as_toml_run_by_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.benchlib.strategies.ci]\nargs = ["-x"]\n')
    found = candidates.find(config.load(tmp_path).strategies["ci"], 0, _facts(), True, 2)
    tables = "\n".join(writeout.strategy_table(c, "ci") for c in found.candidates)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / config.STRATEGIES_FILE).write_text(tables)
    loaded = config.load(tmp_path).strategies
    n2 = loaded["ci.n2"]
    assert (n2.workers, n2.dist, n2.compare_to, n2.args) == (2, "load", "ci", ("-x",))
    assert loaded["ci.gc-freeze"].env["PYTHONPATH"].startswith(str(facts.PLUGIN_DIR))


def _plan(target: Path, lane: Strategy, results: Path) -> RunPlan:
    return RunPlan(lane, target, interpreter(), ("tests",) if (target / "tests").is_dir() else (),
                   ("-p", "no:cacheprovider"), 0, 120, results)  # fmt: skip


@pytest.mark.integration
def test_with_plugin_autoload_off_every_variant_starts(tmp_path: Path) -> None:
    target = copy_suite("tracer_lever", tmp_path)
    lane = Strategy(name="ci", args=("-p", "pytest_cov.plugin", "--cov=covlib", "--cov-report="),
                    env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})  # fmt: skip
    base = _plan(target, lane, tmp_path / "results")
    lane_facts = facts.lane(base)
    assert isinstance(lane_facts, Facts) and lane_facts.autoload_off and not lane_facts.xdist
    found = candidates.find(lane, 0, lane_facts, True, 2)
    assert len(found.candidates) >= 5
    for c in found.candidates:
        workers = c.strategy.workers if isinstance(c.strategy.workers, int) else 2
        plan = dataclasses.replace(base, strategy=c.strategy, workers=workers)
        got = facts.ask(plan, f"pre-{c.strategy.name}")
        assert not isinstance(got, Failed), (c.strategy.name, got)
        assert set(got.nodeids) == set(lane_facts.nodeids)


@pytest.mark.integration
@pytest.mark.slow
def test_explore_picks_the_coverage_core_with_a_paired_interval(tmp_path: Path) -> None:
    target = copy_suite("tracer_lever", tmp_path)
    # The budget is generous for a busy shared machine; an idle CI runner takes ~2 minutes.
    argv = [sys.executable, "-m", "benchlib", "explore", "--budget", "14", "--target", str(target)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    md = (target / "results" / "explore.md").read_text()
    head = md.splitlines()[2]
    assert "COVERAGE_CORE=ctrace" in head and "95% interval" in head and "paired" in head
    row = next(x for x in md.splitlines() if x.startswith("| `ci.ctrace`"))
    assert "| yes | yes (" in row and "paired" in row and row.endswith("| kept |")
    assert 'core = "ctrace"' in (target / "results" / "explore.patch").read_text()
    assert "COVERAGE_CORE=pytrace" in md  # the lane's own variable, which beats the file
    assert "Each round runs the lane" in done.stdout  # the rule printed is the rule in the file
    listed = benchlib("list", "--target", str(target))
    assert "ci.pick" in listed.stdout and "ci.ctrace" in listed.stdout


@pytest.mark.unit
def test_a_scans_variants_run_by_name(tmp_path: Path) -> None:
    from benchlib.plan import scanplan

    (tmp_path / "pyproject.toml").write_text("[tool.benchlib]\n")
    gate = config.load(tmp_path).strategies["gate"]
    grid = scanplan.grid("0,2", "load,worksteal", ["autoload"], interpreter(), 2)
    found = [v.strategy for v in scanplan.variants(gate, grid, 2)]
    (tmp_path / "results").mkdir()
    writeout.write_scan_variants(tmp_path / "results", found, gate)
    loaded = config.load(tmp_path).strategies
    name = writeout.runnable_name("gate@n2-worksteal")
    assert (loaded[name].workers, loaded[name].dist) == (2, "worksteal")
    off = [n for n in loaded if "AUTOLOAD" in n]
    assert off and all(loaded[n].env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1" for n in off)
