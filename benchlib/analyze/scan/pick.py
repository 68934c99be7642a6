"""A scan's findings: each variant's runs, the fitted curve, the simulator's predictions, a choice.

Facts only, from result files (a ``ResultSet``): any folder that holds runs of variants named
``base@...`` (see scanplan) yields one ``ScanResult`` per base strategy, whether ``benchlib
scan`` ran just now or the files came from CI. Verdicts are judge's, the curve is scaling's, the
predictions are simulate's; ``to_json`` is the one JSON shape (scan.json, ``scan --json``).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchlib.analyze import consistency, judge, timeline
from benchlib.analyze.consistency import Mismatch
from benchlib.analyze.judge import Judgement
from benchlib.analyze.resultset import ResultSet, Run
from benchlib.analyze.scan import fitting, simulate
from benchlib.analyze.scan.fitting import Fit, MedianInterval
from benchlib.analyze.scan.schedulers import MODELLED
from benchlib.analyze.scan.simulate import Costs, Prediction
from benchlib.model.results import ResultError, RunResult
from benchlib.plan.scanplan import split_name, variant_name

Rule = Literal["fewest-within-noise", "fastest"]


@dataclass(frozen=True)
class Point:
    """One variant: where it sits on the axes and what its runs that count measured."""

    variant: str
    workers: int  # 0: serial
    dist: str | None
    labels: str  # its values on the other axes ("" as configured)
    configured: bool
    runs: int  # runs that count (judge.counts)
    left_out: tuple[str, ...]  # statuses of its runs that do not count: "timeout", "crashed"
    wall_s_median: float | None
    interval: MedianInterval | None  # of the median wall time
    peak_rss_bytes: int | None  # worst run; summed over the tree
    efficiency: float | None  # median of timeline.bound / wall over its runs
    vs_configured: Judgement | None  # None for the configured variant itself


@dataclass(frozen=True)
class Curve:
    """The fitted curve of one series: a --dist mode at one value of the other axes."""

    dist: str
    labels: str  # the other axes' values ("" as configured)
    fit: Fit
    noise_floor: float  # judge's, of the configured variant's runs
    stops_paying: int | None  # beyond this many workers one more saves less than the floor


@dataclass(frozen=True)
class Memory:
    """Peak RSS as a line over workers, and the most workers a budget allows."""

    base_bytes: float | None  # None: fewer than two worker counts measured
    per_worker_bytes: float | None
    budget_bytes: int | None
    max_workers: int | None  # None: no budget, no line, or memory does not grow with workers


@dataclass(frozen=True)
class Choice:
    """The variant recommended, the rule that chose it and its speed-up over the configured."""

    point: Point
    rule: Rule
    fastest: Point
    noise_floor: float  # judge's A/A floor of the fastest variant's runs
    vs_configured: Judgement | None  # None when the choice is the configured variant
    excluded: tuple[tuple[str, str], ...]  # (variant, why it could not be chosen)


@dataclass(frozen=True)
class Simulation:
    """The simulator's predictions for one series: on the measured points and beyond them."""

    labels: str  # the other axes' values ("" as configured)
    costs: Costs
    cpu_fraction: float
    effective_cpus: float  # the CPUs the runs effectively had (the machine was shared)
    validation: tuple[Prediction, ...]
    median_error: float | None  # over the held-out measured points
    predicted: tuple[Prediction, ...]
    note: str | None = None  # the CPU calibration hit its physical floor (simulate.CPU_FLOOR)


@dataclass(frozen=True)
class TimeSplit:
    """Where a scan's time went, end to end."""

    total_s: float  # from starting the bench to the analysis done
    runs_s: float  # the runs' summed wall time
    fixed_s: float  # of which start-up, worker boot, collection and shutdown (timeline)
    between_s: float  # benchlib between runs: starting each, reading events, saving results
    analysis_s: float  # reading the results back, judging, fitting, simulating, rendering


def time_split(done: Sequence[RunResult], bench_s: float, analysis_s: float) -> TimeSplit:
    """Split a scan's time into its runs (and their fixed costs), benchlib's share, analysis."""
    runs_s = sum(r.wall_s for r in done)
    fixed = [timeline.breakdown(r) for r in done]
    fixed_s = sum(b.fixed_s for b in fixed if b is not None)
    return TimeSplit(bench_s + analysis_s, runs_s, fixed_s, bench_s - runs_s, analysis_s)


@dataclass(frozen=True)
class ScanResult:
    strategy: str
    configured: str  # the variant that is the strategy as configured
    cpus: int
    memory_bytes: int
    points: tuple[Point, ...]
    curves: tuple[Curve, ...]
    recommended: Choice | None
    memory: Memory
    simulations: tuple[Simulation, ...]
    mismatches: tuple[Mismatch, ...]
    notes: tuple[str, ...]
    stopped: str | None = None  # why the bench stopped, when this process ran it
    time: TimeSplit | None = None  # where the scan's time went, when this process ran it

    @property
    def median_error(self) -> float | None:
        """Return the simulator's median error over every series' held-out points."""
        found = [p for s in self.simulations for p in s.validation]
        return simulate.median_error(found)


# --- grouping -----------------------------------------------------------------------------


def _groups(rs: ResultSet) -> dict[str, dict[str, list[Run]]]:
    found: dict[str, dict[str, list[Run]]] = {}
    for run in rs.runs:
        parts = split_name(run.result.strategy.name)
        if parts is not None:
            found.setdefault(parts[0], {}).setdefault(run.result.strategy.name, []).append(run)
    return found


def _configured(variants: dict[str, list[Run]]) -> str:
    """Return the variant that is the strategy as configured: a scan runs it first in each
    round (scanplan.variants). compare_to cannot tell with a serial and one parallel variant;
    it decides only for runs without a bench (older files)."""
    if runs := [r.result for group in variants.values() for r in group if r.result.bench_id]:
        newest = max(runs, key=lambda r: r.started_at).bench_id
        first = min((r for r in runs if r.bench_id == newest), key=lambda r: r.started_at)
        return first.strategy.name
    targets = Counter(group[0].result.strategy.compare_to for group in variants.values())
    named = [t for t, _ in targets.most_common() if t in variants]
    return named[0] if named else next(iter(variants))


def _labels(name: str) -> str:
    parts = split_name(name)
    return parts[1].partition("+")[2] if parts else ""


def _full(run: Run) -> RunResult | None:
    try:
        return dataclasses.replace(run.result, tests=run.tests())
    except ResultError:
        return None  # the file went away since it was listed: its scalars still count


# --- points -------------------------------------------------------------------------------


def _efficiency(runs: Sequence[RunResult]) -> float | None:
    found = [b.efficiency for b in map(timeline.bound, runs) if b is not None]
    return statistics.median(found) if found else None


def _point(name: str, runs: list[Run], full: list[RunResult], against: Judgement | None) -> Point:
    plain = [r.result for r in runs]
    counted = judge.counted(plain)
    walls = [r.wall_s for r in counted]
    record = plain[-1].strategy
    return Point(
        variant=name,
        workers=record.workers,
        dist=record.dist or ("load" if record.workers else None),
        labels=_labels(name),
        configured=against is None,
        runs=len(counted),
        left_out=tuple(r.status for r in judge.left_out(plain)),
        wall_s_median=statistics.median(walls) if walls else None,
        interval=fitting.median_interval(walls),
        peak_rss_bytes=max((r.peak_rss_bytes for r in counted), default=None),
        efficiency=_efficiency([r for r in full if judge.counts(r)]),
        vs_configured=against,
    )


# --- curve, memory, choice ----------------------------------------------------------------


def _series(points: Sequence[Point]) -> dict[tuple[str, str], list[Point]]:
    """Group the parallel points by (other axes, --dist): each group is one curve."""
    found: dict[tuple[str, str], list[Point]] = {}
    for p in points:
        if p.workers and p.dist:
            found.setdefault((p.labels, p.dist), []).append(p)
    return found


def _curves(
    points: Sequence[Point], runs: dict[str, list[Run]], floor: float
) -> tuple[list[Curve], list[str]]:
    """Fit each series' curve; say for each series without one why it has none."""
    curves, notes = [], []
    for (labels, dist), series in _series(points).items():
        pairs = [
            (p.workers, r.result.wall_s)
            for p in series
            for r in runs[p.variant]
            if judge.counts(r.result)
        ]
        fit = fitting.fit(pairs)
        why = fitting.no_fit_reason(pairs)
        if why is not None:
            notes.append(f"{dist or 'serial'}{f' {labels}' if labels else ''}: {why}")
        if fit is not None:
            most = max(simulate.PREDICT_COUNTS[-1], max(p.workers for p in series))
            stops = fitting.stops_paying(fit, floor, most)
            curves.append(Curve(dist, labels, fit, floor, stops))
    return curves, notes


def _memory(points: Sequence[Point], budget: int | None) -> Memory:
    measured = [p for p in points if p.workers >= 1 and p.peak_rss_bytes is not None]
    if len({p.workers for p in measured}) < 2:
        return Memory(None, None, budget, None)
    line = statistics.linear_regression(
        [p.workers for p in measured], [float(p.peak_rss_bytes or 0) for p in measured]
    )
    per, base = line.slope, line.intercept
    most = int((budget - base) // per) if budget is not None and per > 0 else None
    return Memory(base, per, budget, most)


def _excluded(p: Point, bad: set[str], memory: Memory) -> str | None:
    if p.wall_s_median is None:
        return "no run that counts"
    if p.left_out:
        return f"runs that did not finish: {', '.join(sorted(set(p.left_out)))}"
    if p.variant in bad:
        return "its tests did not end as the serial variant's (or the configured one's) did"
    if memory.budget_bytes is not None and (p.peak_rss_bytes or 0) > memory.budget_bytes:
        return "its peak RSS is over the memory budget"
    return None


def _choose(
    points: Sequence[Point],
    runs: dict[str, list[Run]],
    bad: set[str],
    memory: Memory,
    rule: Rule,
    configured: str,
) -> Choice | None:
    why = {p.variant: _excluded(p, bad, memory) for p in points}
    eligible = [p for p in points if why[p.variant] is None]
    if not eligible:
        return None
    fastest = min(eligible, key=lambda p: p.wall_s_median or 0.0)
    verdicts = {p.variant: _judge(fastest.variant, p.variant, runs) for p in eligible}
    floor = verdicts[fastest.variant].noise_floor
    chosen = fastest
    if rule == "fewest-within-noise":
        near = [p for p in eligible if _within(verdicts[p.variant], floor)]
        chosen = min([fastest, *near], key=lambda p: (p.workers, p.wall_s_median or 0.0))
    against = None if chosen.variant == configured else _judge(configured, chosen.variant, runs)
    excluded = tuple((name, text) for name, text in why.items() if text is not None)
    return Choice(chosen, rule, fastest, floor, against, excluded)


def _judge(before: str, after: str, runs: dict[str, list[Run]]) -> Judgement:
    return judge.judge(
        before, after, [r.result for r in runs[before]], [r.result for r in runs[after]]
    )


def _within(j: Judgement, floor: float) -> bool:
    """Tell whether after is shown to be within the noise floor of before (the fastest).

    Shown: the whole 95% interval of the slowdown stays under 1 + floor. A variant whose
    runs are too few or too noisy for that is not called as fast as the fastest; on a noisy
    machine the floor is wide, and so is the interval, and the fastest is chosen.
    """
    if j.ci_low is None:
        return False
    return j.word != "slower" and 1 / j.ci_low <= 1 + floor


# --- the simulator ------------------------------------------------------------------------


def _simulations(
    base: str, points: Sequence[Point], full: dict[str, list[RunResult]], cpus: int
) -> tuple[list[Simulation], list[str]]:
    """Simulate each value of the other axes that has serial runs and xdist runs."""
    done, notes = [], []
    for labels in dict.fromkeys(p.labels for p in points):
        found = _simulation(base, labels, points, full, cpus)
        if isinstance(found, Simulation):
            done.append(found)
            notes += [found.note] if found.note else []
        else:
            notes.append(found)
    return done, notes


def _simulation(
    base: str, labels: str, points: Sequence[Point], full: dict[str, list[RunResult]], cpus: int
) -> Simulation | str:
    serial_name = variant_name(base, 0, None, (labels,))
    serial = [r for r in full.get(serial_name, []) if judge.counts(r)]
    plain = [p for p in points if p.workers and p.labels == labels and p.dist in MODELLED]
    parallel = [r for p in plain for r in full[p.variant] if judge.counts(r)]
    model = simulate.calibrate(serial, parallel, cpus)
    if model is None:
        return (
            f"no simulation{f' with {labels}' if labels else ''}: the simulator needs timed "
            f"serial runs ({serial_name}) and xdist runs with the same other axes"
        )
    validation = simulate.validate(serial, parallel, cpus)
    error = simulate.median_error(validation)
    return Simulation(
        labels, model.costs, model.cpu_fraction, model.cpus, validation, error,
        _predicted(model, {p.dist for p in plain}, validation), model.note,
    )  # fmt: skip


def _predicted(
    model: simulate.Model, dists: set[str | None], validation: Sequence[Prediction]
) -> tuple[Prediction, ...]:
    """Predict PREDICT_COUNTS on this machine as it was (where not measured), and on an idle
    machine with as many CPUs as workers."""
    measured = {(p.workers, p.dist) for p in validation}
    here = [
        simulate.predict(model, n, dist)
        for dist in sorted(d for d in dists if d)
        for n in simulate.PREDICT_COUNTS
        if (n, dist) not in measured
    ]
    ideal = [
        dataclasses.replace(simulate.predict(model, n, dist, n), on_this_machine=False)
        for dist in sorted(d for d in dists if d)
        for n in simulate.PREDICT_COUNTS
    ]
    return (*here, *ideal)


# --- the scan -----------------------------------------------------------------------------


Budget = int | Literal["auto"] | None  # bytes; "auto": the machine's memory


def analyze(
    rs: ResultSet, *, rule: Rule = "fewest-within-noise", memory_budget: Budget = None
) -> tuple[ScanResult, ...]:
    """Return the findings of every scan among the runs (none when no variant ran)."""
    return tuple(
        _scan(base, variants, rule, memory_budget) for base, variants in _groups(rs).items()
    )


def _scan(base: str, runs: dict[str, list[Run]], rule: Rule, budget: Budget) -> ScanResult:
    configured = _configured(runs)
    full = {name: [r for r in map(_full, group) if r is not None] for name, group in runs.items()}
    machine = next(iter(runs.values()))[0].result.machine
    against = {name: _judge(configured, name, runs) for name in runs if name != configured}
    points = [_point(name, group, full[name], against.get(name)) for name, group in runs.items()]
    points.sort(key=lambda p: (p.labels, p.workers, p.dist or ""))
    # What "the same results" means: the serial variant's outcomes, no worker can disturb them.
    reference = serial if (serial := variant_name(base, 0, None, ())) in runs else configured
    found = (
        consistency.mismatch(n, runs[n], reference, runs[reference]) for n in runs if n != reference
    )
    mismatches = tuple(m for m in found if m is not None)
    floor = next(iter(against.values())).noise_floor if against else 0.0
    memory = _memory(points, machine.memory_bytes if budget == "auto" else budget)
    choice = _choose(points, runs, {m.variant for m in mismatches}, memory, rule, configured)
    simulations, notes = _simulations(base, points, full, machine.cpus_usable)
    curves, curve_notes = _curves(points, runs, floor)
    return ScanResult(
        strategy=base,
        configured=configured,
        cpus=machine.cpus_usable,
        memory_bytes=machine.memory_bytes,
        points=tuple(points),
        curves=tuple(curves),
        recommended=choice,
        memory=memory,
        simulations=tuple(simulations),
        mismatches=mismatches,
        notes=(*notes, *curve_notes),
    )
