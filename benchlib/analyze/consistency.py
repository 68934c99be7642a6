"""Do a scan's variants end their tests as the reference does? A lane that changes how the
suite runs (workers, a coverage tracer, plugin autoload) must not change what it finds.

Outcomes are compared per test over the runs that count: a test that failed only in parallel,
errored once a plugin was no longer autoloaded, or did not run at all, is a mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchlib.analyze import judge
from benchlib.analyze.resultset import Run

MISMATCH_EXAMPLES = 5


@dataclass(frozen=True)
class Mismatch:
    """A variant whose tests did not end as the reference's did (serial, else configured)."""

    variant: str
    against: str
    count: int  # tests whose outcomes differ, or that ran on one side only
    examples: tuple[tuple[str, str, str], ...]  # (node id, outcomes here, outcomes there)


def _outcomes(runs: Sequence[Run]) -> dict[str, frozenset[str]]:
    """Return each test's outcomes over the runs that count; a test missing from one: not run."""
    counted = [r for r in runs if judge.counts(r.result)]
    seen: dict[str, set[str]] = {}
    for run in counted:
        problems = {t.nodeid: t.outcome for t in run.problems}
        for nodeid in run.nodeids | problems.keys():
            seen.setdefault(nodeid, set()).add(problems.get(nodeid, "passed"))
    for nodeid, outcomes in seen.items():
        if any(nodeid not in run.nodeids for run in counted):
            outcomes.add("not run")
    return {k: frozenset(v) for k, v in seen.items()}


def mismatch(name: str, runs: list[Run], against: str, base: list[Run]) -> Mismatch | None:
    here, there = _outcomes(runs), _outcomes(base)
    if not here or not there:
        return None
    none = frozenset({"not run"})
    differ = sorted(
        k for k in here.keys() | there.keys() if here.get(k, none) != there.get(k, none)
    )
    if not differ:
        return None
    examples = tuple(
        (k, ", ".join(sorted(here.get(k, none))), ", ".join(sorted(there.get(k, none))))
        for k in differ[:MISMATCH_EXAMPLES]
    )
    return Mismatch(name, against, len(differ), examples)
