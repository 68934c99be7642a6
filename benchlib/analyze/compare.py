"""The regression gate: judge two result sets strategy by strategy, and check recorded budgets.

Every rule (which runs count, the noise floor, the verdict, budgets) is judge's; this module only
decides what fails a merge. Rendering is report.render_gate's.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from benchlib.analyze import judge
from benchlib.analyze.judge import BudgetResult, Judgement, NoiseWarning
from benchlib.analyze.resultset import SkippedFile
from benchlib.measure.recording import file_prefix
from benchlib.model.results import RunResult

DEFAULT_THRESHOLD = 0.10
# The gate's own exit code for a strategy lost on the current side: a lost or corrupt artifact
# must fail a merge, and be told apart from a regression (1) and from bad input (2).
LOST_EXIT = 3
NO_FILE = "no result file of it on the current side"

Presence = Literal["both", "base only", "current only"]
Side = Literal["base", "current"]


class NothingInCommon(Exception):
    """No strategy has runs that count on both sides: there is nothing to gate on.

    Passing would let a renamed strategy, an empty artifact or another project's results
    through, so the gate refuses instead (the CLI exits 2).
    """

    def __init__(
        self, base: Sequence[str], current: Sequence[str], projects: tuple[str, str] | None = None
    ) -> None:
        if projects is None:
            text = (
                "no strategy has completed runs on both sides "
                f"(base: {', '.join(base) or 'none'}; current: {', '.join(current) or 'none'}); "
                "nothing to compare"
            )
        else:  # the same strategies, but runs of different projects are never compared
            text = (
                f"base and current are different projects (base: {projects[0]}; current: "
                f"{projects[1]}), so nothing is compared; if they are copies of one project, "
                'say so with project = "NAME" in [tool.benchlib] and run them again'
            )
        super().__init__(text)
        self.base = tuple(base)
        self.current = tuple(current)


@dataclass(frozen=True)
class GateRow:
    """One strategy's base and current runs, and what the gate made of them."""

    name: str
    presence: Presence
    base_runs: int  # runs that count
    current_runs: int
    judgement: Judgement | None  # None unless present on both sides
    regressed: bool  # significantly slower by more than the threshold


@dataclass(frozen=True)
class Lost:
    """A strategy whose runs count on the base side and not on the current one, and why."""

    name: str
    reasons: tuple[str, ...]  # each file lost or run left out, or that no file was found
    allowed: bool  # the user said it may be missing (--allow-missing)


@dataclass(frozen=True)
class SideNoise:
    side: Side
    warning: NoiseWarning


@dataclass(frozen=True)
class Gate:
    """The gate's findings over two result sets."""

    threshold: float
    rows: tuple[GateRow, ...]
    budgets: tuple[BudgetResult, ...]
    noise: tuple[SideNoise, ...]
    warnings: tuple[str, ...]  # runs left out, machines, projects, budgets not checked
    lost: tuple[Lost, ...] = ()

    @property
    def failed_lost(self) -> tuple[Lost, ...]:
        return tuple(x for x in self.lost if not x.allowed)

    @property
    def regressions(self) -> tuple[GateRow, ...]:
        return tuple(r for r in self.rows if r.regressed)

    @property
    def broken_budgets(self) -> tuple[BudgetResult, ...]:
        return tuple(b for b in self.budgets if b.broken)


def parse_threshold(text: str) -> float:
    """Parse "10%" or "0.1" into 0.1; raise ValueError saying what is accepted."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.removesuffix("%"))
    except ValueError:
        raise ValueError(f"threshold {text!r} is not a number; write e.g. 10% or 0.1") from None
    if percent:
        value /= 100
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"threshold {text!r} must be a non-negative finite number")
    if not percent and value >= 1:
        # A bare 10 is far more likely to mean 10% than 1000%: refuse to guess.
        raise ValueError(f"threshold {text!r} is ambiguous; write {raw}% or a fraction below 1")
    return value


def compare(
    base: Sequence[RunResult],
    current: Sequence[RunResult],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    skipped: Sequence[SkippedFile] = (),
    allow_missing: Collection[str] = (),
) -> Gate:
    """Judge current against base per strategy; check current against its recorded budgets.

    skipped: the current side's files that could not be read, to say why a strategy was lost.
    Raise NothingInCommon when no strategy has runs that count on both sides and none was lost.
    """
    sides = {"base": judge.by_strategy(base), "current": judge.by_strategy(current)}
    names = sorted(sides["base"].keys() | sides["current"].keys())
    rows = tuple(
        _row(n, sides["base"].get(n, []), sides["current"].get(n, []), threshold) for n in names
    )
    lost = tuple(
        Lost(r.name, _why_lost(r.name, sides["current"].get(r.name, []), skipped),
             r.name in allow_missing)
        for r in rows if r.presence == "base only"
    )  # fmt: skip
    compared = any(r.judgement is not None and r.judgement.word != "not compared" for r in rows)
    # With nothing in common, a strategy lost for a known cause (a file unreadable, a run that
    # did not count) is the finding; otherwise the two sides are simply not comparable.
    if not compared and not any(not x.allowed and x.reasons != (NO_FILE,) for x in lost):
        raise NothingInCommon(
            _counted_names(base), _counted_names(current), _other_projects(base, current)
        )
    noise = tuple(
        SideNoise(side, w)  # type: ignore[arg-type]
        for side, groups in sides.items()
        for name, runs in groups.items()
        for w in judge.noise(name, runs)
    )
    budgets = tuple(b for n, runs in sides["current"].items() for b in judge.budget_checks(n, runs))
    warnings = _warnings(base, current, sides["current"])
    warnings += [
        f"--allow-missing {name}: base has no run of {name} that counts"
        for name in sorted(set(allow_missing) - {x.name for x in lost})
    ]
    return Gate(threshold, rows, budgets, noise, tuple(warnings), lost)


def _why_lost(
    name: str, current: Sequence[RunResult], skipped: Sequence[SkippedFile]
) -> tuple[str, ...]:
    """Say what became of a strategy's current runs: files unreadable, runs that did not count.

    A file that cannot be read is told by its name, which begins with the strategy's (run_id).
    """
    prefix = file_prefix(name)
    found = [f"{s.path}: {s.reason}" for s in skipped if Path(s.path).name.startswith(prefix)]
    found += [f"run {r.run_id} did not count ({_why_left_out(r)})" for r in judge.left_out(current)]
    if current and not found:
        found.append("only warm-up runs")
    return tuple(found) or (NO_FILE,)


def _other_projects(
    base: Sequence[RunResult], current: Sequence[RunResult]
) -> tuple[str, str] | None:
    """Return both sides' projects when their counted runs share none, else None."""
    b, c = (judge.projects(judge.counted(runs)) for runs in (base, current))
    if not b or not c or set(b) & set(c):
        return None
    return ", ".join(b), ", ".join(c)


def _counted_names(runs: Sequence[RunResult]) -> list[str]:
    return sorted(judge.by_strategy(judge.counted(runs)))


def _row(
    name: str, base: Sequence[RunResult], current: Sequence[RunResult], threshold: float
) -> GateRow:
    n_base, n_current = len(judge.counted(base)), len(judge.counted(current))
    if not n_base or not n_current:
        presence: Presence = "base only" if n_base else "current only"
        return GateRow(name, presence, n_base, n_current, None, False)
    j = judge.judge(name, name, base, current)
    return GateRow(name, "both", n_base, n_current, j, judge.regressed(j, threshold))


def _warnings(
    base: Sequence[RunResult],
    current: Sequence[RunResult],
    current_groups: dict[str, list[RunResult]],
) -> list[str]:
    found = [
        f"{side} {r.strategy.name}: left out run {r.run_id} ({r.status})"
        for side, runs in (("base", base), ("current", current))
        for r in judge.left_out(runs)
    ]
    found += _machine_warnings(judge.counted(base), judge.counted(current))
    project = judge.project_warning([*base, *current])
    if project:
        found.append(project.capitalize())
    found += [
        f"budget for {name} not checked: no current run completed"
        for name, runs in current_groups.items()
        if judge.recorded_budgets(runs) and not judge.counted(runs)
    ]
    return found


def _machine_warnings(base: Sequence[RunResult], current: Sequence[RunResult]) -> list[str]:
    labels = judge.machine_labels([*base, *current])
    described = {
        labels[r.machine.fingerprint()]: judge.describe_machine(r.machine)
        for r in [*base, *current]
    }
    prints = {
        side: sorted({labels[r.machine.fingerprint()] for r in runs})
        for side, runs in (("base", base), ("current", current))
    }
    found = [
        f"{side} mixes runs from {len(ls)} machines ({', '.join(ls)})"
        for side, ls in prints.items()
        if len(ls) > 1
    ]
    if prints["base"] and prints["current"] and prints["base"] != prints["current"]:
        found.append(
            "base and current come from different machines, so timings may not be comparable: "
            f"base {', '.join(prints['base'])}, current {', '.join(prints['current'])}"
        )
    if found:
        found += [f"machine {label}: {text}" for label, text in sorted(described.items())]
    return found


def _why_left_out(r: RunResult) -> str:
    if judge.all_skipped(r):
        return "every test skipped: no test body ran"
    return f"{r.status}{', no time' if r.wall_s <= 0 else ''}"


def exit_code(g: Gate) -> int:
    """Return LOST_EXIT when a strategy was lost on the current side (not allowed), 1 when one
    regressed or a budget is broken, else 0."""
    if g.failed_lost:
        return LOST_EXIT
    return 1 if g.regressions or g.broken_budgets else 0
