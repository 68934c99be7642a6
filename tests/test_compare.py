from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import factories
import pytest

from benchlib import report
from benchlib.analyze.compare import LOST_EXIT, NothingInCommon, compare, exit_code, parse_threshold
from benchlib.analyze.resultset import SkippedFile
from benchlib.model.results import Counts, RunResult, Target

pytestmark = pytest.mark.unit

WALLS = (10.0, 10.1, 9.9, 10.2, 10.05)


def render_comparison(g: object) -> str:
    return report.render_gate(g)  # type: ignore[arg-type]


def runs(
    name: str, factor: float = 1.0, walls: Sequence[float] = WALLS, **kw: object
) -> list[RunResult]:
    """Five runs of one strategy, scaled by factor, in rounds 0..4."""
    return [
        factories.result(
            name, wall_s=w * factor, round=i, started_at=f"2026-11-26T12:0{i}:00+00:00", **kw
        )
        for i, w in enumerate(walls)
    ]


def test_unchanged_timings_pass() -> None:
    c = compare(runs("serial-full") + runs("gate", 0.5), runs("serial-full") + runs("gate", 0.5))
    assert exit_code(c) == 0
    assert not c.regressions
    assert {r.judgement.word for r in c.rows if r.judgement} == {"no significant difference"}
    assert render_comparison(c).endswith("result: ok\n")


def test_significant_slowdown_over_threshold_is_a_regression() -> None:
    c = compare(runs("serial-full") + runs("gate"), runs("serial-full", 1.2) + runs("gate"))
    assert exit_code(c) == 1
    assert [s.name for s in c.regressions] == ["serial-full"]
    (row,) = c.regressions
    assert row.judgement is not None
    assert row.judgement.speedup == pytest.approx(1 / 1.2)
    text = render_comparison(c)
    assert "REGRESSION" in text
    assert "1 regression: serial-full" in text


def test_significant_slowdown_within_threshold_passes() -> None:
    c = compare(runs("gate"), runs("gate", 1.05), threshold=0.10)
    (row,) = c.rows
    assert row.judgement is not None
    assert row.judgement.word == "slower"
    assert not row.regressed
    assert exit_code(c) == 0
    strict = compare(runs("gate"), runs("gate", 1.05), threshold=0.025)
    assert exit_code(strict) == 1
    assert "slower by more than 2.5%" in render_comparison(strict)


def test_faster_is_not_a_regression() -> None:
    c = compare(runs("gate"), runs("gate", 0.5))
    assert c.rows[0].judgement is not None
    assert c.rows[0].judgement.word == "faster"
    assert exit_code(c) == 0


def test_single_runs_are_never_a_regression() -> None:
    c = compare(runs("gate")[:1], runs("gate", 2.0)[:1])
    assert c.rows[0].judgement is not None
    assert c.rows[0].judgement.word == "single run"
    assert exit_code(c) == 0


def budgeted(limits: dict[str, float], factor: float = 1.0) -> list[RunResult]:
    """Runs that recorded these budget limits, as `benchlib run` records the configuration."""
    return runs("gate", factor, strategy_kw={"budgets": limits})


def test_broken_wall_budget_fails() -> None:
    c = compare(runs("gate"), budgeted({"max_wall_s": 9.0}))
    (check,) = c.broken_budgets
    assert (check.strategy, check.key, check.limit) == ("gate", "max_wall_s", 9.0)
    assert check.actual == pytest.approx(10.05)  # the median, not the slowest run
    assert exit_code(c) == 1
    assert "BROKEN" in render_comparison(c)


def test_budgets_recorded_in_the_base_do_not_count() -> None:
    # The limits that apply are the ones the current runs were made under.
    c = compare(budgeted({"max_wall_s": 9.0}), runs("gate"))
    assert (c.budgets, exit_code(c)) == ((), 0)


def test_broken_warning_budget_fails_on_any_run() -> None:
    current = budgeted({"max_warnings": 0})
    current[2] = dataclasses.replace(current[2], outcome=Counts(passed=10, warnings=1))
    c = compare(runs("gate"), current)
    (check,) = c.broken_budgets
    assert (check.key, check.actual) == ("max_warnings", 1)
    assert exit_code(c) == 1


def test_budgets_kept_pass() -> None:
    c = compare(runs("gate"), budgeted({"max_wall_s": 120.0, "max_warnings": 0}))
    assert len(c.budgets) == 2
    assert not c.broken_budgets
    assert exit_code(c) == 0


def test_budget_for_strategy_without_completed_current_runs_is_noted() -> None:
    timeout = factories.result(
        "unit", status="timeout", strategy_kw={"budgets": {"max_wall_s": 1.0}}
    )
    c = compare(runs("gate"), [*runs("gate"), timeout])
    assert exit_code(c) == 0
    assert any("budget for unit not checked" in w for w in c.warnings)


def test_nothing_in_common_is_not_a_pass() -> None:
    with pytest.raises(NothingInCommon, match="base: old; current: new"):
        compare(runs("old", 3.0), runs("new", 3.0))


def test_other_projects_results_are_nothing_in_common() -> None:
    other = Target(path="/src/other", git_commit=None, git_dirty=None, project="git@x:other")
    with pytest.raises(NothingInCommon) as caught:
        compare(runs("gate"), runs("gate", target=other))
    # Issue 21 item 7: it was "no strategy has completed runs on both sides (base: gate;
    # current: gate)", which contradicts itself; now it names both identities and the fix.
    said = str(caught.value)
    assert "base and current are different projects" in said
    assert "(base: /src/project; current: git@x:other)" in said
    assert 'project = "NAME" in [tool.benchlib]' in said


def test_one_sided_strategies_are_listed_and_a_lost_one_fails_unless_allowed() -> None:
    base, current = runs("old", 3.0) + runs("gate"), runs("new", 3.0) + runs("gate")
    c = compare(base, current)
    assert [(s.name, s.presence) for s in c.rows] == [
        ("gate", "both"),
        ("new", "current only"),
        ("old", "base only"),
    ]
    assert exit_code(c) == LOST_EXIT
    text = render_comparison(c)
    assert "LOST" in text
    assert "old: no result file of it on the current side" in text
    assert "1 strategy(ies) lost on the current side: old" in text
    allowed = compare(base, current, allow_missing={"old"})
    assert exit_code(allowed) == 0
    text = render_comparison(allowed)
    assert "missing (allowed)" in text
    assert "only in current" in text
    assert text.endswith("result: ok\n")


def test_a_lost_strategy_is_named_with_its_unreadable_file_or_its_runs_left_out() -> None:
    bad = SkippedFile("cur/gate_20261126T120000_000000Z_host_1.json", "not valid JSON (x)")
    other = SkippedFile("cur/gate-fast_20261126T120000_000000Z_host_1.json", "not valid JSON")
    timeout = factories.result("unit", status="timeout", wall_s=900.0)
    c = compare(runs("gate") + runs("unit"), [*runs("serial-full"), timeout], skipped=[bad, other])
    assert exit_code(c) == LOST_EXIT  # nothing in common, yet the gate fails on what it lost
    lost = {x.name: x.reasons for x in c.lost}
    assert lost["gate"] == (f"{bad.path}: {bad.reason}",)  # not gate-fast's file
    assert lost["unit"] == (f"run {timeout.run_id} did not count (timeout)",)
    text = render_comparison(c)
    assert f"  - gate: {bad.path}: not valid JSON (x)" in text
    with pytest.raises(NothingInCommon):
        compare(runs("gate"), runs("serial-full"), allow_missing={"gate"})


def test_warmup_runs_are_excluded() -> None:
    warm = [factories.result("gate", wall_s=30.0, warmup=True)]
    c = compare(runs("gate"), warm + runs("gate"))
    (row,) = c.rows
    assert row.current_runs == 5
    assert row.judgement is not None
    assert row.judgement.after_s == 10.05
    assert exit_code(c) == 0


def test_incomplete_runs_are_excluded_and_noted() -> None:
    timeout = factories.result("gate", wall_s=900.0, status="timeout")
    c = compare(runs("gate"), [*runs("gate"), timeout])
    assert c.rows[0].current_runs == 5
    assert any("(timeout)" in w for w in c.warnings)


def test_different_machines_are_warned_about() -> None:
    other = dataclasses.replace(factories.MACHINE, cpu_model="Other CPU", hostname="elsewhere")
    c = compare(runs("gate"), runs("gate", machine=other))
    assert any("different machines" in w for w in c.warnings)
    assert exit_code(c) == 0


def test_one_side_mixing_machines_is_warned_about() -> None:
    other = dataclasses.replace(factories.MACHINE, memory_bytes=2**30)
    c = compare(runs("gate") + runs("unit", machine=other), runs("gate"))
    assert any("base mixes runs from 2 machines" in w for w in c.warnings)


def test_same_machine_with_another_hostname_is_not_warned_about() -> None:
    renamed = dataclasses.replace(factories.MACHINE, hostname="runner-42")
    c = compare(runs("gate"), runs("gate", machine=renamed))
    assert not any("different machines" in w for w in c.warnings)


def test_noisy_and_cold_runs_are_warned_about() -> None:
    c = compare(runs("gate"), runs("gate", walls=(14.0, 10.0, 10.1, 9.9, 10.2)))
    text = render_comparison(c)
    assert "current gate: first run is 39% slower than the rest" in text
    assert "current gate: coefficient of variation 16.3% is over 5%" in text


def test_render_names_the_method_and_the_interval() -> None:
    text = render_comparison(compare(runs("gate"), runs("gate", 0.5)))
    assert "2.00\N{MULTIPLICATION SIGN} faster (95% CI" in text
    assert "Hodges-Lehmann" in text


@pytest.mark.parametrize(
    ("text", "value"), [("10%", 0.10), ("0.1", 0.10), (" 2.5% ", 0.025), ("0", 0.0), ("150%", 1.5)]
)
def test_parse_threshold(text: str, value: float) -> None:
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ten", "not a number"),
        ("", "not a number"),
        ("-5%", "non-negative"),
        ("nan", "non-negative finite"),
        ("10", "ambiguous"),
    ],
)
def test_parse_threshold_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_threshold(text)
