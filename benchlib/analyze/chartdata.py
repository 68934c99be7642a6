"""What the charts draw, as facts: a run's worker lanes, its resources, its parts; scan curves.

The summary builds one RunPicture per strategy, from its representative run: every test a
segment on its worker's lane (neighbours too short to see merged, so 5,000 tests stay
legible), the sampler's series, and timeline.py's breakdown and lower bound. A scan's scaling
curve is read from the scan.json found beside the result files. Renderers only draw these.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.analyze import timeline
from benchlib.analyze.resultset import Run, SkippedFile
from benchlib.analyze.timeline import Bound, Breakdown
from benchlib.model.results import ResultError, RunResult, TestRecord

# A test shorter than this share of its run's wall is merged with its neighbours: on a chart
# about 1,000 px wide that is under 3 px, too thin to see or point at. It bounds a lane at
# about 2 x 400 segments however many tests ran.
MERGE_SHARE = 1 / 400
SERIAL_LANE = "main"  # the lane of a serial run, whose tests have no xdist worker id
SCAN_FILE = "scan.json"
# Worst first: a merged segment shows the worst outcome inside it.
_SEVERITY = {"error": 5, "failed": 4, "xpassed": 3, "xfailed": 2, "skipped": 1, "passed": 0}
FAILING = frozenset({"failed", "error"})


@dataclass(frozen=True)
class Segment:
    """One test on a lane, or several neighbours too short to draw one by one."""

    start_s: float  # from the run's start
    duration_s: float  # first start to last end
    tests: int
    busy_s: float  # the tests' summed durations (less than duration_s when merged)
    outcome: str  # the worst outcome inside
    nodeid: str  # the test, or the first of the merged ones
    last_nodeid: str  # the last of the merged ones (the test itself when alone)
    failing: int  # failed or errored tests inside
    worst_nodeid: str  # the test whose outcome is shown
    phase: str | None  # where that test failed, errored or skipped
    message: str | None


@dataclass(frozen=True)
class Lane:
    """One worker's tests in the order they ran."""

    worker: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Resources:
    """The sampler's series: summed RSS, process count, and CPU cores busy between samples."""

    t_s: tuple[float, ...]
    rss_bytes: tuple[int, ...]  # summed over the tree: shared pages count once per process
    processes: tuple[int, ...]
    cpu_cores: tuple[float, ...]  # CPU seconds per second since the previous sample


@dataclass(frozen=True)
class RunPicture:
    """A strategy's representative run, as the charts draw it."""

    strategy: str
    run_id: str
    wall_s: float
    tests: int  # tests with a place on the timeline
    breakdown: Breakdown | None
    bound: Bound | None
    lanes: tuple[Lane, ...]
    resources: Resources


@dataclass(frozen=True)
class ScanPoint:
    workers: int
    dist: str | None
    runs: int
    wall_s_median: float
    ci_low: float | None
    ci_high: float | None
    peak_rss_bytes: int | None


@dataclass(frozen=True)
class Prediction:
    workers: int
    dist: str | None
    wall_s: float
    cpus: float | None = None  # the machine predicted for (None: not said, an older file)
    on_this_machine: bool = True  # False: an idle machine with `cpus` CPUs


@dataclass(frozen=True)
class Scan:
    """A scaling scan of one strategy over worker counts, as `benchlib scan` wrote it."""

    path: str
    strategy: str
    points: tuple[ScanPoint, ...]
    predicted: tuple[Prediction, ...]
    recommended_workers: int | None
    recommended_dist: str | None
    fit: tuple[tuple[str, str], ...]  # the fit's scalar entries, as written
    cpus: int | None = None  # the machine's usable CPUs, where the scan ran
    curve: tuple[float, float, float] | None = None  # serial_s, parallel_s, per_worker_s


@dataclass(frozen=True)
class Charts:
    """What the summary hands the charts."""

    pictures: tuple[RunPicture, ...] = ()  # one per strategy, in the summary's order
    scans: tuple[Scan, ...] = ()
    traces: tuple[tuple[str, str], ...] = ()  # (run id, trace file relative to the results)


def charts(
    representatives: Iterable[Run | None],
    runs: Sequence[Run],
    scans: tuple[Scan, ...],
    skipped: list[SkippedFile],
) -> tuple[Charts, list[SkippedFile]]:
    """Picture each representative run (read in full); an unreadable file is skipped.

    The pictures come in the order given; renderers put them in the summary's order.
    """
    found = []
    for run in (r for r in representatives if r is not None):
        try:
            found.append(picture(run.full()))
        except ResultError as exc:
            skipped = [*skipped, SkippedFile(str(exc.path), exc.reason)]
    traces = tuple(
        (r.result.run_id, t) for r in runs if (t := _trace(r.result.run_id, r.source)) is not None
    )
    return Charts(tuple(found), scans, traces), skipped


def picture(run: RunResult) -> RunPicture:
    """Return what the charts draw of one run (read in full: tests and samples)."""
    tests = timeline.timed_tests(run)
    return RunPicture(
        strategy=run.strategy.name,
        run_id=run.run_id,
        wall_s=run.wall_s,
        tests=len(tests),
        breakdown=timeline.breakdown(run),
        bound=timeline.bound(run),
        lanes=lanes(tests, run.wall_s * MERGE_SHARE),
        resources=resources(run),
    )


def _trace(run_id: str, source: Path | None) -> str | None:
    """Return RUNID.trace.json's path relative to the results folder, as log paths are."""
    if source is None:
        return None
    for relative in (f"{run_id}.trace.json", f"logs/{run_id}.trace.json"):
        if (source.parent / relative).is_file():
            return relative
    return None


def _worker_key(worker: str) -> tuple[int, str]:
    """Order gw2 before gw10."""
    return len(worker), worker


def lanes(tests: Iterable[TestRecord], resolution_s: float) -> tuple[Lane, ...]:
    """Put each timed test on its worker's lane, merging neighbours shorter than resolution_s."""
    by_worker: dict[str, list[TestRecord]] = defaultdict(list)
    for t in tests:
        if t.start_s is not None:
            by_worker[t.worker or SERIAL_LANE].append(t)
    return tuple(
        Lane(w, _merge(sorted(by_worker[w], key=lambda t: t.start_s or 0.0), resolution_s))
        for w in sorted(by_worker, key=_worker_key)
    )


def _merge(tests: Sequence[TestRecord], resolution_s: float) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    group: list[TestRecord] = []
    for t in tests:
        visible = t.duration_s >= resolution_s
        too_long = group and (t.end_s or 0.0) - (group[0].start_s or 0.0) > resolution_s
        if group and (visible or too_long):
            segments.append(_segment(group))
            group = []
        group.append(t)
        if visible:  # a test long enough to see stands alone
            segments.append(_segment(group))
            group = []
    if group:
        segments.append(_segment(group))
    return tuple(segments)


def _segment(group: Sequence[TestRecord]) -> Segment:
    first, last = group[0], group[-1]
    start = first.start_s or 0.0
    end = max(t.end_s or 0.0 for t in group)
    worst = max(group, key=lambda t: _SEVERITY.get(t.outcome, 0))
    return Segment(
        start_s=start,
        duration_s=end - start,
        tests=len(group),
        busy_s=sum(t.duration_s for t in group),
        outcome=worst.outcome,
        nodeid=first.nodeid,
        last_nodeid=last.nodeid,
        failing=sum(1 for t in group if t.outcome in FAILING),
        worst_nodeid=worst.nodeid,
        phase=worst.phase,
        message=worst.message,
    )


def resources(run: RunResult) -> Resources:
    """Return the sampler's series, CPU as cores busy between consecutive samples."""
    s = run.samples
    cores = [0.0]
    for i in range(1, len(s.t_s)):
        dt = s.t_s[i] - s.t_s[i - 1]
        # The sum covers the live tree: a process that exits takes its CPU out of it.
        cores.append(max(s.cpu_s[i] - s.cpu_s[i - 1], 0.0) / dt if dt > 0 else 0.0)
    return Resources(s.t_s, s.rss_bytes, s.processes, tuple(cores[: len(s.t_s)]))


# --- scans ---------------------------------------------------------------------------------


def find_scans(paths: Iterable[Path]) -> tuple[tuple[Scan, ...], tuple[SkippedFile, ...]]:
    """Read every scan.json beside the results; a file that cannot be used is skipped."""
    scans: list[Scan] = []
    skipped: list[SkippedFile] = []
    for path in _scan_files(paths):
        try:
            scans.append(read_scan(path))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            skipped.append(SkippedFile(str(path), f"not a usable scan ({exc})"))
    return tuple(scans), tuple(skipped)


def _scan_files(paths: Iterable[Path]) -> list[Path]:
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob(SCAN_FILE) if p.is_file())
        elif (path.parent / SCAN_FILE).is_file():
            found.add(path.parent / SCAN_FILE)
    return sorted(found)


def read_scan(path: Path) -> Scan:
    """Read one scan.json; raise ValueError, TypeError or KeyError naming what is wrong."""
    return scan_from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


def scan_from_json(data: Any, path: str) -> Scan:
    """Return the chart's view of a scan in scan.json's shape (see scanjson)."""
    if not isinstance(data, dict):
        raise TypeError("the document is not a JSON object")
    recommended = data.get("recommended") or {}
    return Scan(
        path=path,
        strategy=_str(data["strategy"], "strategy"),
        points=tuple(p for p in map(_point, _list(data["points"], "points")) if p is not None),
        predicted=tuple(_prediction(p) for p in _list(data.get("predicted", []), "predicted")),
        recommended_workers=_opt_int(_dict(recommended, "recommended").get("workers")),
        recommended_dist=_opt_str(recommended.get("dist")),
        fit=_scalars(data.get("fit") or {}),
        cpus=_opt_int(data.get("cpus")),
        curve=_curve(data.get("fit") or {}),
    )


def _curve(fit: Any) -> tuple[float, float, float] | None:
    """Return the fitted curve's three parameters, when the file has all three."""
    fit = _dict(fit, "fit")
    keys = ("serial_s", "parallel_s", "per_worker_s")
    if not all(isinstance(fit.get(k), int | float) for k in keys):
        return None
    return (float(fit["serial_s"]), float(fit["parallel_s"]), float(fit["per_worker_s"]))


def _point(p: Any) -> ScanPoint | None:
    """Read a point; None for a variant with no run that counts (nothing to draw)."""
    p = _dict(p, "a point")
    workers, runs = _int(p["workers"], "workers"), _int(p.get("runs", 0), "runs")
    if p["wall_s_median"] is None:
        return None  # all its runs timed out or were interrupted
    return ScanPoint(
        workers=workers,
        dist=_opt_str(p.get("dist")),
        runs=runs,
        wall_s_median=_number(p["wall_s_median"], "wall_s_median"),
        ci_low=_opt_number(p.get("ci_low")),
        ci_high=_opt_number(p.get("ci_high")),
        peak_rss_bytes=_opt_int(p.get("peak_rss_bytes")),
    )


def _prediction(p: Any) -> Prediction:
    p = _dict(p, "a prediction")
    return Prediction(
        _int(p["workers"], "workers"),
        _opt_str(p.get("dist")),
        _number(p["wall_s"], "wall_s"),
        _opt_number(p.get("cpus")),
        p.get("on_this_machine") is not False,
    )


def _scalars(fit: Any) -> tuple[tuple[str, str], ...]:
    fit = _dict(fit, "fit")
    return tuple(
        (str(k), f"{v:.4g}" if isinstance(v, float) else str(v))
        for k, v in fit.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    )


def _dict(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise TypeError(f"{what} is {v!r}, not an object")
    return v


def _list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise TypeError(f"{what} is {v!r}, not a list")
    return v


def _number(v: Any, what: str) -> float:
    if not isinstance(v, int | float) or isinstance(v, bool) or v != v or v < 0:
        raise ValueError(f"{what} is {v!r}, not a number of seconds")
    return float(v)


def _int(v: Any, what: str) -> int:
    if type(v) is not int or v < 0:
        raise ValueError(f"{what} is {v!r}, not a whole number")
    return v


def _str(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{what} is {v!r}, not a string")
    return v


def _opt_number(v: Any) -> float | None:
    return None if v is None else _number(v, "an interval bound")


def _opt_int(v: Any) -> int | None:
    return None if v is None else _int(v, "a count")


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v, "dist")
