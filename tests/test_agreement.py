"""The summary, its advice and the gate agree on every pair of run sets of a grid.

Each pair is one baseline set and one changed set (true change -15% ... +15%, noise CV 1% ...
10%, 4 ... 10 runs a side, fixed seeds). The summary sees them as `serial-full` and `gate`;
the gate sees them as base and current of one strategy. Their verdict word, its wording in
Markdown, JSON and the terminal, the recommendation and the gate's exit must agree, and the
noise warnings must appear everywhere.
"""

from __future__ import annotations

import itertools
import json
import math
import random

import factories as f
import pytest

from benchlib import report
from benchlib.analyze import advice, compare, judge, summary
from benchlib.explain import wording
from benchlib.model.results import RunResult

pytestmark = pytest.mark.unit

CHANGES = (-0.15, -0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10, 0.15)  # + is slower
CVS = (0.01, 0.03, 0.05, 0.10)
RUNS = (4, 6, 10)
GRID = list(itertools.product(CHANGES, CVS, RUNS))


def walls(rng: random.Random, n: int, cv: float, scale: float) -> list[float]:
    sigma = math.sqrt(math.log1p(cv * cv))
    return [scale * rng.lognormvariate(0, sigma) for _ in range(n)]


def runs(name: str, times: list[float], **kw: object) -> list[RunResult]:
    return [f.result(name, wall_s=w, round=i, **kw) for i, w in enumerate(times)]  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "cv", "n"), GRID)
def test_summary_advice_and_gate_agree(change: float, cv: float, n: int) -> None:
    rng = random.Random(GRID.index((change, cv, n)))
    before, after = walls(rng, n, cv, 100.0), walls(rng, n, cv, 100.0 * (1 + change))
    lane = {"compare_to": "serial-full"}
    s = summary.analyze([*runs("serial-full", before), *runs("gate", after, strategy_kw=lane)])
    j = s.strategy("gate").comparison
    assert j is not None
    gate = compare.compare(runs("gate", before), runs("gate", after))
    (row,) = gate.rows
    assert row.judgement is not None
    assert row.judgement.word == j.word
    said = wording.verdict_words(j)
    assert said == wording.verdict_words(row.judgement)
    _check_renderings(s, said, j.word)
    _check_advice(advice.advise(s), j)
    assert compare.exit_code(gate) == (1 if judge.regressed(j, gate.threshold) else 0)
    if compare.exit_code(gate):
        assert j.word == "slower"
    _check_noise(s, gate, before, after)


def _check_renderings(s: summary.Summary, said: str, word: str) -> None:
    md, table = report.render_markdown(s), report.render_table(s)
    data = json.loads(report.render_json(s))
    facts = next(x for x in data["strategies"] if x["name"] == "gate")
    assert f"- Speedup: {said}" in md
    assert f"- Verdict: {word}" in md
    assert said in table
    assert (facts["comparison"]["word"], facts["comparison"]["verdict_text"]) == (word, said)


def _check_advice(found: advice.Advice, j: judge.Judgement) -> None:
    rules = {(r.rule, r.strategy) for r in found.recommendations}
    recommended = ("local", "gate") in rules or ("gate", "gate") in rules
    assert recommended == (j.word == "faster")
    assert (("slower", "gate") in rules) == (j.word == "slower")
    points = {t.point for t in found.tradeoffs["gate"]}
    assert ("faster" in points) == (j.word == "faster")
    if j.word == "no significant difference":
        assert rules & {("no-gain", "gate"), ("unsettled", "gate")}


def _check_noise(
    s: summary.Summary, gate: compare.Gate, before: list[float], after: list[float]
) -> None:
    md, table, gate_text = (
        report.render_markdown(s),
        report.render_table(s),
        report.render_gate(gate),
    )
    for side, name, times in (("base", "serial-full", before), ("current", "gate", after)):
        expected = judge.noise(name, runs(name, times))
        assert s.strategy(name).noise == expected
        for w in expected:
            said = wording.noise_words(w)
            assert f"- **Noise:** {said}" in md
            assert f"{name}: {said}" in table
            assert f"{side} gate: {said}" in gate_text


def test_the_grid_sees_every_verdict() -> None:
    # Without this the agreement above could hold only because one verdict never occurs.
    seen = set()
    for change, cv, n in GRID:
        rng = random.Random(GRID.index((change, cv, n)))
        before, after = walls(rng, n, cv, 100.0), walls(rng, n, cv, 100.0 * (1 + change))
        seen.add(judge.judge("a", "b", runs("a", before), runs("b", after)).word)
    assert seen == {"faster", "slower", "no significant difference"}
