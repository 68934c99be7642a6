"""The regression gate: compare two result sets strategy by strategy, and check budgets."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib import stats
from benchlib.results import RunResult
from benchlib.stats import RatioEstimate, Stats
from benchlib.strategy import Strategy

DEFAULT_THRESHOLD = 0.10

# Runs that measured the whole suite. A timeout's wall time is the limit, not the suite, and
# an interrupted or crashed run stopped part-way: their times would only mislead.
COMPLETE = frozenset({"passed", "tests-failed"})

Presence = Literal["both", "base only", "current only"]
BudgetKind = Literal["max_wall_s", "max_warnings"]


@dataclass(frozen=True)
class Budget:
    """Limits one strategy must stay under to be ready to merge (None: not checked)."""

    max_wall_s: float | None = None
    max_warnings: int | None = None


@dataclass(frozen=True)
class BudgetCheck:
    """One budget limit held against the current runs."""

    strategy: str
    kind: BudgetKind
    limit: float
    actual: float  # median wall time, or the most warnings any run had

    @property
    def broken(self) -> bool:
        return self.actual > self.limit


@dataclass(frozen=True)
class StrategyComparison:
    """One strategy's base and current runs, and what the gate made of them."""

    name: str
    presence: Presence
    base: Stats | None
    current: Stats | None
    estimate: RatioEstimate | None  # None unless present on both sides
    regressed: bool  # significantly slower by more than the threshold

    @property
    def change(self) -> float | None:
        """Return the relative change in median wall time (+0.2: 20% slower), if both exist."""
        if self.base is None or self.current is None:
            return None
        return self.current.median / self.base.median - 1


@dataclass(frozen=True)
class Comparison:
    """The gate's findings over two result sets."""

    threshold: float
    strategies: tuple[StrategyComparison, ...]
    budgets: tuple[BudgetCheck, ...]
    warnings: tuple[str, ...]

    @property
    def regressions(self) -> tuple[StrategyComparison, ...]:
        return tuple(s for s in self.strategies if s.regressed)

    @property
    def broken_budgets(self) -> tuple[BudgetCheck, ...]:
        return tuple(b for b in self.budgets if b.broken)


def budgets_from(strategies: Iterable[Strategy]) -> dict[str, Budget]:
    """Return the budgets configured on strategies, for those that set any."""
    return {
        s.name: Budget(
            max_wall_s=s.budgets.get("max_wall_s"),
            max_warnings=int(s.budgets["max_warnings"]) if "max_warnings" in s.budgets else None,
        )
        for s in strategies
        if s.budgets
    }


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
    budgets: Mapping[str, Budget] | None = None,
) -> Comparison:
    """Compare current against base per strategy and check current against budgets."""
    warnings: list[str] = []
    base_runs = _measured(base, "base", warnings)
    current_runs = _measured(current, "current", warnings)
    warnings += _machine_warnings(base_runs, current_runs)
    names = sorted(base_runs.keys() | current_runs.keys())
    rows = tuple(
        _compare_one(name, base_runs.get(name, ()), current_runs.get(name, ()), threshold)
        for name in names
    )
    for row_runs, side in ((base_runs, "base"), (current_runs, "current")):
        for name, runs in row_runs.items():
            warnings += [f"{side} {name}: {w}" for w in stats.warnings_for(_walls(runs))]
    checks = _check_budgets(current_runs, budgets or {}, warnings)
    return Comparison(threshold, rows, checks, tuple(warnings))


def _measured(
    runs: Sequence[RunResult], side: str, warnings: list[str]
) -> dict[str, tuple[RunResult, ...]]:
    """Group the runs that count by strategy, in recorded order, noting what was left out."""
    groups: dict[str, list[RunResult]] = {}
    for run in runs:
        if run.warmup:
            continue
        if run.status not in COMPLETE:
            warnings.append(f"{side} {run.strategy.name}: left out run {run.run_id} ({run.status})")
            continue
        groups.setdefault(run.strategy.name, []).append(run)
    return {
        name: tuple(sorted(group, key=lambda r: (r.started_at, r.round)))
        for name, group in groups.items()
    }


def _walls(runs: Sequence[RunResult]) -> list[float]:
    return [r.wall_s for r in runs]


def _machine_warnings(
    base: Mapping[str, Sequence[RunResult]], current: Mapping[str, Sequence[RunResult]]
) -> list[str]:
    base_prints = {r.machine.fingerprint() for runs in base.values() for r in runs}
    current_prints = {r.machine.fingerprint() for runs in current.values() for r in runs}
    found = [
        f"{side} mixes runs from {len(prints)} machines: {sorted(map(repr, prints))}"
        for side, prints in (("base", base_prints), ("current", current_prints))
        if len(prints) > 1
    ]
    if base_prints and current_prints and base_prints != current_prints:
        found.append(
            "base and current come from different machines, so timings may not be comparable: "
            f"base {sorted(map(repr, base_prints))}, current {sorted(map(repr, current_prints))}"
        )
    return found


def _compare_one(
    name: str, base: Sequence[RunResult], current: Sequence[RunResult], threshold: float
) -> StrategyComparison:
    base_walls, current_walls = _walls(base), _walls(current)
    base_stats = stats.describe(base_walls) if base_walls else None
    current_stats = stats.describe(current_walls) if current_walls else None
    if not base_walls or not current_walls:
        presence: Presence = "base only" if base_walls else "current only"
        return StrategyComparison(name, presence, base_stats, current_stats, None, False)
    # Differences smaller than the baseline's own A/A spread are not called significant.
    estimate = stats.compare_ratio(
        base_walls, current_walls, noise_floor=stats.noise_floor(base_walls)
    )
    # The point estimate decides the size, the interval decides significance: requiring the
    # whole interval beyond the threshold would miss most real regressions at 5 runs a side.
    regressed = estimate.verdict == "slower" and 1 / estimate.ratio - 1 > threshold
    return StrategyComparison(name, "both", base_stats, current_stats, estimate, regressed)


def _check_budgets(
    current: Mapping[str, Sequence[RunResult]],
    budgets: Mapping[str, Budget],
    warnings: list[str],
) -> tuple[BudgetCheck, ...]:
    """Hold each budget against the current runs: median wall time, worst warning count."""
    checks: list[BudgetCheck] = []
    for name, budget in sorted(budgets.items()):
        runs = current.get(name)
        if not runs:
            warnings.append(f"budget for {name} not checked: no current runs")
            continue
        if budget.max_wall_s is not None:
            # The median, so that one run disturbed by the machine does not fail a merge.
            wall = stats.describe(_walls(runs)).median
            checks.append(BudgetCheck(name, "max_wall_s", budget.max_wall_s, wall))
        if budget.max_warnings is not None:
            # The worst run: warnings do not come from noise, so any run that shows one counts.
            worst = max(r.outcome.warnings for r in runs)
            checks.append(BudgetCheck(name, "max_warnings", budget.max_warnings, worst))
    return tuple(checks)


def exit_code(c: Comparison) -> int:
    """Return 1 when a strategy regressed or a budget is broken, else 0."""
    return 1 if c.regressions or c.broken_budgets else 0


def render_comparison(c: Comparison) -> str:
    """Render the comparison as a plain-text table with budgets, warnings and a result line."""
    header = ("strategy", "runs", "base", "current", "change", "speedup (95% CI)", "verdict")
    rows = [header, *(_row(s, c.threshold) for s in c.strategies)]
    lines = _table(rows)
    lines.append(
        f"speedup = base median / current median; interval: {stats.METHOD}; "
        "differences under the base's A/A noise floor are not significant"
    )
    if c.budgets:
        lines += [
            "",
            *_table([("budget", "strategy", "limit", "actual", "status"), *_budget_rows(c)]),
        ]
    if c.warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in c.warnings)]
    lines += ["", _result_line(c)]
    return "\n".join(lines) + "\n"


def _row(s: StrategyComparison, threshold: float) -> tuple[str, ...]:
    runs = f"{s.base.n if s.base else 0}/{s.current.n if s.current else 0}"
    base = f"{s.base.median:.2f} s" if s.base else "-"
    current = f"{s.current.median:.2f} s" if s.current else "-"
    change = f"{s.change:+.1%}" if s.change is not None else "-"
    return (s.name, runs, base, current, change, _speedup(s.estimate), _verdict(s, threshold))


def _speedup(e: RatioEstimate | None) -> str:
    if e is None:
        return "-"
    if e.low is None or e.high is None:
        return f"{e.ratio:.2f}x (no interval)"
    return f"{e.ratio:.2f}x ({e.low:.2f}-{e.high:.2f})"


def _verdict(s: StrategyComparison, threshold: float) -> str:
    if s.estimate is None:
        return f"only in {s.presence.removesuffix(' only')}"
    if s.regressed:
        return f"REGRESSION (slower by more than {_percent(threshold)})"
    if s.estimate.verdict == "slower":
        return f"slower, within {_percent(threshold)}"
    if s.estimate.note:
        return f"{s.estimate.verdict} ({s.estimate.note})"
    return s.estimate.verdict


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _budget_rows(c: Comparison) -> list[tuple[str, ...]]:
    rows = []
    for b in c.budgets:
        if b.kind == "max_wall_s":
            limit, actual = f"{b.limit:g} s", f"{b.actual:.2f} s (median)"
        else:
            limit, actual = f"{b.limit:g}", f"{b.actual:g} (worst run)"
        rows.append((b.kind, b.strategy, limit, actual, "BROKEN" if b.broken else "ok"))
    return rows


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _result_line(c: Comparison) -> str:
    problems = []
    if c.regressions:
        problems.append(
            f"{len(c.regressions)} regression(s): " + ", ".join(s.name for s in c.regressions)
        )
    if c.broken_budgets:
        problems.append(
            f"{len(c.broken_budgets)} budget(s) broken: "
            + ", ".join(f"{b.strategy} {b.kind}" for b in c.broken_budgets)
        )
    return "result: " + ("; ".join(problems) if problems else "ok")
