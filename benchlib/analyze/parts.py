"""Logical runs made of parts: shards side by side, steps in turn, merged back into one run.

A sharded strategy's CI jobs, or a gate's steps, each write one result file with a ``part``.
Here the parts of one logical run become one run again, so that the judgement, the summary and
the gate see the strategy as it would be run: its wall is the slowest shard (the makespan) or
the steps' sum, its counts and tests are the union of the parts'. What the parts cost in all
(CI minutes) and how even the shards were are kept as facts, and the parts' node ids together
are checked against the selection collected once before the split: nothing lost, nothing run
twice.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib.analyze import judge, resultset
from benchlib.analyze.resultset import ResultSet, Run
from benchlib.model.records import (
    COMPLETED,
    Counts,
    Part,
    PartKind,
    RunResult,
    Samples,
    TestRecord,
    Timeline,
)
from benchlib.model.results import ResultError, selection_digest
from benchlib.plan.shards import Durations

NAMED = 5  # node ids named when some were lost or run twice; the rest are counted


@dataclass(frozen=True)
class PartFacts:
    """One part as it ran: what it was predicted to take and what it took."""

    index: int
    run_id: str
    status: str
    wall_s: float
    predicted_s: float | None
    assigned: int | None  # tests given by node id (shards); None for a step
    ran: int  # distinct node ids it reported, collection errors left out
    host: str
    bench_id: str | None
    log_path: str
    argv: tuple[str, ...] = ()  # the command as run: a step's own, for the report to show


@dataclass(frozen=True)
class Check:
    """What the parts ran, held against the selection collected before the split."""

    selection_size: int
    ran: int  # distinct node ids over every part
    missing_parts: tuple[int, ...]  # indices with no result file
    duplicated: int  # node ids that more than one part ran
    duplicates: tuple[str, ...]  # the first few of them
    short_parts: tuple[int, ...]  # parts that ran fewer tests than they were given
    digest_matches: bool  # the union is exactly the selection
    selections_agree: bool  # every part was split from the same collection

    @property
    def lost(self) -> int:
        """Return how many selected tests no part ran, at least (the selection is a digest)."""
        return max(self.selection_size - self.ran, 0)

    @property
    def ok(self) -> bool:
        return (
            not self.missing_parts
            and not self.duplicated
            and self.digest_matches
            and self.selections_agree
        )


@dataclass(frozen=True)
class LogicalRun:
    """One logical run of a strategy made of parts, with the facts of its parts."""

    logical_run_id: str
    strategy: str
    kind: PartKind
    of: int
    round: int
    warmup: bool
    parts: tuple[PartFacts, ...]
    wall_s: float  # the slowest shard (the makespan), or the steps' sum
    total_s: float  # the parts' walls summed: what the CI jobs spent in all
    imbalance: float | None  # shards: slowest / mean - 1 of the measured walls
    predicted_imbalance: float | None  # the same over the predicted seconds
    check: Check


def merged(rs: ResultSet) -> tuple[ResultSet, tuple[LogicalRun, ...]]:
    """Replace the parts in a result set by their logical runs; whole runs stay as they are."""
    whole = [r for r in rs.runs if r.result.part is None]
    found = [merge(group) for group in groups(r for r in rs.runs if r.result.part is not None)]
    runs = tuple(whole) + tuple(run for _, run in found)
    return ResultSet(runs, rs.skipped), tuple(logical for logical, _ in found)


def groups(runs: Iterable[Run]) -> list[list[Run]]:
    """Group parts by logical run; a part index seen twice (a rerun) starts another group."""
    by_id: dict[str, list[Run]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.result.started_at, r.result.run_id)):
        assert run.result.part is not None
        by_id[run.result.part.logical_run_id].append(run)
    found = []
    for parts in by_id.values():
        occurrences: list[list[Run]] = []
        for run in parts:
            index = _part(run).index
            slot = next((o for o in occurrences if all(_part(r).index != index for r in o)), None)
            if slot is None:
                occurrences.append(slot := [])
            slot.append(run)
        found += [sorted(o, key=lambda r: _part(r).index) for o in occurrences]
    return found


def _part(run: Run) -> Part:
    assert run.result.part is not None
    return run.result.part


def merge(runs: Sequence[Run]) -> tuple[LogicalRun, Run]:
    """Merge the parts of one logical run into its facts and one run that stands for it."""
    first = _part(runs[0])
    ids = [_ran(r) for r in runs]
    facts = tuple(_facts(r, n) for r, n in zip(runs, ids, strict=True))
    walls = [f.wall_s for f in facts]
    wall = max(walls) if first.kind == "shard" else sum(walls)
    predicted = [f.predicted_s for f in facts]
    logical = LogicalRun(
        logical_run_id=first.logical_run_id,
        strategy=runs[0].result.strategy.name,
        kind=first.kind,
        of=first.of,
        round=runs[0].result.round,
        warmup=runs[0].result.warmup,
        parts=facts,
        wall_s=wall,
        total_s=sum(walls),
        imbalance=imbalance(walls) if first.kind == "shard" else None,
        predicted_imbalance=_predicted_imbalance(first.kind, predicted),
        check=check(runs, ids),
    )
    return logical, _run(runs, logical, ids)


def imbalance(values: Sequence[float]) -> float | None:
    """Return slowest / mean - 1: 0 when even; None for fewer than two parts."""
    if len(values) < 2 or sum(values) <= 0:
        return None
    return max(values) / (sum(values) / len(values)) - 1


def _predicted_imbalance(kind: PartKind, predicted: Sequence[float | None]) -> float | None:
    known = [p for p in predicted if p is not None]
    if kind != "shard" or len(known) != len(predicted):
        return None
    return imbalance(known)


def _ran(run: Run) -> frozenset[str]:
    """Return the node ids a part ran; a collection error's id is a file, not a test."""
    collect = {t.nodeid for t in run.problems if t.phase == "collect"}
    return run.nodeids - collect


def _facts(run: Run, ran: frozenset[str]) -> PartFacts:
    r, p = run.result, _part(run)
    return PartFacts(
        p.index, r.run_id, r.status, r.wall_s, p.predicted_s, p.assigned, len(ran),
        r.machine.hostname, r.bench_id, r.log_path, tuple(r.argv),
    )  # fmt: skip


def check(runs: Sequence[Run], ids: Sequence[frozenset[str]]) -> Check:
    """Hold the parts' node ids against the selection they were split from."""
    first = _part(runs[0])
    seen = Counter(n for part in ids for n in part)
    twice = sorted(n for n, k in seen.items() if k > 1)
    union = frozenset(seen)
    keys = {(p.kind, p.of, p.selection_size, p.selection_digest) for p in map(_part, runs)}
    short = tuple(
        _part(r).index
        for r, n in zip(runs, ids, strict=True)
        if _part(r).assigned is not None and len(n) < (_part(r).assigned or 0)
    )
    return Check(
        selection_size=first.selection_size,
        ran=len(union),
        missing_parts=tuple(sorted(set(range(1, first.of + 1)) - {_part(r).index for r in runs})),
        duplicated=len(twice),
        duplicates=tuple(twice[:NAMED]),
        short_parts=short,
        digest_matches=selection_digest(union) == first.selection_digest,
        selections_agree=len(keys) == 1,
    )


def _status(runs: Sequence[Run], logical: LogicalRun) -> tuple[str, str | None]:
    """Return the logical run's status (its worst part's) and why, when a part says why."""
    notes = [
        f"{logical.kind} {_part(r).index}: {r.result.message}" for r in runs if r.result.message
    ]
    if logical.check.missing_parts:
        missing = ", ".join(map(str, logical.check.missing_parts))
        notes.insert(0, f"incomplete: no result for {logical.kind} {missing} of {logical.of}")
        return "crashed", "; ".join(notes)
    statuses = [r.result.status for r in runs]
    worst = next((s for s in statuses if s not in COMPLETED), None)
    if worst is None:
        worst = "tests-failed" if "tests-failed" in statuses else "passed"
    return worst, "; ".join(notes) or None


def _counts(kind: PartKind, results: Sequence[RunResult], size: int) -> Counts:
    summed = {
        f.name: sum(getattr(r.outcome, f.name) for r in results) for f in dataclasses.fields(Counts)
    }
    if kind == "step":
        # Each step collects the whole suite and deselects what is not its own: what the
        # strategy deselected is the suite (a step's collected and deselected) less the
        # selection the steps share. Command steps that ran no pytest say nothing of it.
        suites = [r.collected + r.outcome.deselected for r in results if r.collected is not None]
        summed["deselected"] = max(max(suites, default=size) - size, 0)
    return Counts(**summed)


def _run(runs: Sequence[Run], logical: LogicalRun, ids: Sequence[frozenset[str]]) -> Run:
    """Return one run standing for the logical run: the judgement and the summary see it."""
    results = [r.result for r in runs]
    first = results[0]
    status, message = _status(runs, logical)
    benches = {r.bench_id for r in results}
    categories: Counter[str] = Counter()
    for r in results:
        categories.update(r.warning_categories)
    result = dataclasses.replace(
        first,
        run_id=logical.logical_run_id,
        strategy=dataclasses.replace(
            first.strategy, workers=max(r.strategy.workers for r in results)
        ),
        started_at=min(r.started_at for r in results),
        ended_at=max(r.ended_at for r in results),
        status=status,  # type: ignore[arg-type]
        exit_code=next((r.exit_code for r in results if r.exit_code != 0), 0),
        wall_s=logical.wall_s,
        cpu_user_s=sum(r.cpu_user_s for r in results),
        cpu_system_s=sum(r.cpu_system_s for r in results),
        cpu_source="sampled" if any(r.cpu_source == "sampled" for r in results) else "rusage",
        peak_rss_bytes=max(r.peak_rss_bytes for r in results),
        max_single_rss_bytes=max(r.max_single_rss_bytes for r in results),
        peak_processes=max(r.peak_processes for r in results),
        workers_observed=max(r.workers_observed for r in results),
        outcome=_counts(logical.kind, results, logical.check.selection_size),
        collected=None
        if any(r.collected is None for r in results)
        else sum(r.collected or 0 for r in results),
        tests=(),
        warning_categories=dict(categories),
        samples=Samples(),
        message=message,
        # One bench: the parts ran on one machine, and can be paired with what it ran.
        bench_id=benches.pop() if len(benches) == 1 else None,
        timeline=Timeline(),
        # The log that says why: the first part that did not pass, else the first part's.
        log_path=next((r.log_path for r in results if r.status != "passed"), first.log_path),
        in_flight=tuple(f for r in results for f in r.in_flight),
        not_run=sum(r.not_run for r in results),
        part=None,
    )
    union = frozenset().union(*ids)
    problems = tuple(t for r in runs for t in r.problems)
    offsets = _offsets(runs, logical.kind)
    tests = _Tests(runs, offsets)
    return Run(result, union | frozenset(t.nodeid for t in problems), problems, tests)


def _offsets(runs: Sequence[Run], kind: PartKind) -> tuple[float, ...]:
    """Return where each part starts on the logical run's time axis: steps one after another
    (the logical wall is their sum), shards all at once (each in its own job)."""
    if kind != "step":
        return tuple(0.0 for _ in runs)
    walls = [r.result.wall_s for r in runs]
    return tuple(sum(walls[:i]) for i in range(len(runs)))


@dataclass(frozen=True)
class _Tests:
    """Read the parts' per-test records when they are asked for."""

    runs: Sequence[Run]
    offsets: Sequence[float] = ()  # seconds to add to each part's start times

    def __call__(self) -> tuple[TestRecord, ...]:
        offsets = self.offsets or [0.0] * len(self.runs)
        return tuple(
            _shifted(t, offset)
            for r, offset in zip(self.runs, offsets, strict=True)
            for t in r.tests()
        )


def _shifted(t: TestRecord, offset_s: float) -> TestRecord:
    if not offset_s or t.start_s is None:
        return t
    return dataclasses.replace(t, start_s=t.start_s + offset_s)


def baseline_durations(results_dir: Path, project: str) -> Durations | None:
    """Return the newest counted baseline run's per-test durations for the project, if any."""
    if not results_dir.is_dir():
        return None
    candidates = [r for r in resultset.load([results_dir]).runs if is_baseline(r, project)]
    for run in sorted(candidates, key=lambda r: (r.result.started_at, r.result.run_id))[::-1]:
        try:
            tests = run.tests()
        except ResultError:
            continue  # unreadable now: the next newest will do
        seconds = {t.nodeid: t.duration_s for t in tests if t.phase != "collect"}
        if seconds:
            return Durations(run.result.run_id, seconds)
    return None


def is_baseline(run: resultset.Run, project: str) -> bool:
    """Tell whether a run is a whole, counted run of this project's full-scope baseline."""
    r = run.result
    return (
        judge.counts(r)
        and r.part is None
        and r.target.identity == project
        and r.strategy.compare_to is None
        and r.strategy.scope == "full"
    )
