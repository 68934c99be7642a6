"""Safe by construction: a candidate counts only if it ran the same tests the same way.

Same selection (node ids, from the preflight), the same outcome per node id, the same coverage
within COVERAGE_TOLERANCE_PCT where coverage is measured, and the same work: a test whose own
duration collapses under a lever makes the gain suspect. A lever that did not take effect (the
tool under it ignored it) is its own finding, never "no gain".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchlib.explore.candidates import Candidate
from benchlib.explore.facts import Facts
from benchlib.model.results import RunResult

# Coverage may move by a line or two under another core (strands-labs/robots #3149: one line
# of 17,000 tests' coverage differed): the total may differ by this many percentage points.
COVERAGE_TOLERANCE_PCT = 0.1
# A test "collapses" when it takes under this fraction of its time in the lane, and took at
# least COLLAPSE_MIN_S there (shorter ones are all noise).
COLLAPSE_FRACTION = 0.25
COLLAPSE_MIN_S = 0.05
SHOWN = 10  # differing tests or lines listed in a reason
# Words coverage prints when it ignores a core it was asked for (coverage/core.py: no-sysmon).
IGNORED_CORE = ("Can't use core=", "no-sysmon", "no-ctracer")

# coverage json: file -> executed line numbers, and the total percent.
CoverageLines = tuple[Mapping[str, frozenset[int]], float]


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate may be timed against the lane, and what the checks found."""

    name: str
    safe: bool
    reasons: tuple[str, ...] = ()  # why it was rejected
    suspect: tuple[str, ...] = ()  # tests whose duration collapsed: "id 1.20 s -> 0.01 s"
    no_effect: str | None = None  # the lever did not take effect, and why
    coverage_equal: bool | None = None  # None: coverage not measured
    coverage_pct: tuple[float, float] | None = None  # lane, candidate


def selection(lane: Facts, cand: Facts) -> str | None:
    """Say which tests one selects that the other does not, or None when they agree."""
    a, b = set(lane.nodeids), set(cand.nodeids)
    if a == b:
        return None
    only_lane, only_cand = sorted(a - b), sorted(b - a)
    return (
        f"selects other tests: {len(only_lane)} only in the lane "
        f"({', '.join(only_lane[:SHOWN])}), {len(only_cand)} only in the candidate "
        f"({', '.join(only_cand[:SHOWN])})"
    )


def outcomes(lane: RunResult, cand: RunResult) -> str | None:
    """Say which tests ended differently (per node id), or None."""
    a = {t.nodeid: t.outcome for t in lane.tests}
    b = {t.nodeid: t.outcome for t in cand.tests}
    differ = [f"{n}: {a.get(n, 'not run')} -> {b.get(n, 'not run')}"
              for n in sorted(a.keys() | b.keys()) if a.get(n) != b.get(n)]  # fmt: skip
    if not differ:
        return None
    return f"{len(differ)} tests ended differently: {'; '.join(differ[:SHOWN])}"


def collapsed(lane: RunResult, cand: RunResult) -> tuple[str, ...]:
    """Return the tests whose own duration collapsed under the candidate."""
    b = {t.nodeid: t.duration_s for t in cand.tests}
    return tuple(
        f"{t.nodeid} {t.duration_s:.2f} s -> {b[t.nodeid]:.2f} s"
        for t in lane.tests
        if t.duration_s >= COLLAPSE_MIN_S
        and t.nodeid in b
        and b[t.nodeid] < COLLAPSE_FRACTION * t.duration_s
    )


def coverage(lane: CoverageLines, cand: CoverageLines) -> tuple[bool, str | None]:
    """Compare coverage per file and line; return (within tolerance, the lines that differ)."""
    files = sorted(lane[0].keys() | cand[0].keys())
    differ: list[str] = []
    for f in files:
        x, y = lane[0].get(f, frozenset()), cand[0].get(f, frozenset())
        differ += [f"{f}:{n} {'lost' if n in x else 'gained'}" for n in sorted(x ^ y)]
    gap = abs(lane[1] - cand[1])
    ok = gap <= COVERAGE_TOLERANCE_PCT
    if not differ:
        return ok, None
    said = f"{len(differ)} lines differ ({', '.join(differ[:SHOWN])}); total {lane[1]:.2f}% -> "
    return ok, f"{said}{cand[1]:.2f}% (tolerance {COVERAGE_TOLERANCE_PCT} points)"


def effect(cand: Candidate, lane: Facts, facts: Facts, log_text: str) -> str | None:
    """Say why the lever did not take effect, or None when it did."""
    if cand.expects_tracer and facts.coverage and facts.coverage.tracer != cand.expects_tracer:
        return f"coverage ran {facts.coverage.tracer}, not {cand.expects_tracer}" + (
            "; it warned it ignored the core" if _ignored(log_text) else ""
        )
    if cand.expects_tracer and _ignored(log_text):
        return "coverage warned it ignored the core it was given"
    not_loaded = [n for n in cand.plugins_off if n not in lane.plugins]
    if not_loaded:
        return f"-p no:{not_loaded[0]} names no plugin the lane loaded"
    still = [n for n in cand.plugins_off if n in facts.plugins]
    if still:
        return f"plugin {still[0]} still loaded"
    return None


def _ignored(log_text: str) -> bool:
    return any(word in log_text for word in IGNORED_CORE)


def check(
    cand: Candidate,
    facts: tuple[Facts, Facts],
    runs: tuple[RunResult, RunResult],
    cover: tuple[CoverageLines, CoverageLines] | None,
    log_text: str,
) -> Verdict:
    """Run every check on one candidate's first run against the lane's run of the same round."""
    reasons = [r for r in (selection(*facts), outcomes(*runs)) if r]
    equal, pct, lines = None, None, None
    if cover is not None:
        equal, lines = coverage(*cover)
        pct = (cover[0][1], cover[1][1])
        if not equal:
            reasons.append(f"coverage differs: {lines}")
    no_effect = effect(cand, facts[0], facts[1], log_text)
    # Under another coverage core each test's own time falls by the tracer's share: expected,
    # and equal coverage shows the bodies still ran. Anywhere else a collapse is suspect.
    suspect = () if "coverage" in cand.families and equal else collapsed(*runs)
    return Verdict(cand.strategy.name, not reasons and no_effect is None, tuple(reasons),
                   suspect, no_effect, equal, pct)  # fmt: skip


def summarize(verdicts: Sequence[Verdict]) -> dict[str, Verdict]:
    return {v.name: v for v in verdicts}
