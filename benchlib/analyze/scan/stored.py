"""scan.json: the one JSON shape of a scan, for `benchlib scan --json`, scan.json and tools.

Stable keys: strategy, points (workers, dist, runs, wall_s_median, ci_low, ci_high,
peak_rss_bytes, ...), fit, recommended (workers, dist, wall_s, rule, ...), predicted (workers,
dist, wall_s, cpus, "kind": "prediction"). Keys are added, never renamed; a change of meaning
bumps SCAN_VERSION.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from benchlib.analyze.judge import Judgement
from benchlib.analyze.scan.pick import Choice, Curve, Point, ScanResult, Simulation
from benchlib.analyze.scan.simulate import Prediction

SCAN_FORMAT = "benchlib-scan"
# Bump when a key of scan.json changes meaning or goes away.
# 1: first version.
SCAN_VERSION = 1
SCAN_FILE = "scan.json"


def to_json(scan: ScanResult) -> dict[str, Any]:
    """Return the scan as scan.json holds it and `benchlib scan --json` prints it: one shape."""
    curve = _main_curve(scan)
    return {
        "format": SCAN_FORMAT,
        "version": SCAN_VERSION,
        "strategy": scan.strategy,
        "configured": scan.configured,
        "cpus": scan.cpus,
        "points": [_point_json(p) for p in scan.points],
        "fit": _curve_json(curve) if curve else None,
        "fits": [_curve_json(c) for c in scan.curves],
        "recommended": _choice_json(scan.recommended),
        "memory": dataclasses.asdict(scan.memory) if scan.memory else None,
        "predicted": [_prediction_json(labels, p) for labels, p in _predictions(scan)],
        "median_error": scan.median_error,
        "validation": [_validation_json(sim) for sim in scan.simulations],
        "mismatches": [dataclasses.asdict(m) for m in scan.mismatches],
        "notes": list(scan.notes),
        "stopped": scan.stopped,
        "time": dataclasses.asdict(scan.time) if scan.time else None,
    }


def _main_curve(scan: ScanResult) -> Curve | None:
    """Return the curve of the recommended variant's series, else the first."""
    p = scan.recommended.point if scan.recommended else None
    mine = [c for c in scan.curves if p and (c.dist, c.labels) == (p.dist, p.labels)]
    found = mine or list(scan.curves)
    return found[0] if found else None


def _speedup(j: Judgement | None) -> dict[str, Any]:
    if j is None:
        return {"speedup": None, "speedup_ci_low": None, "speedup_ci_high": None, "verdict": None}
    return {
        "speedup": j.speedup,
        "speedup_ci_low": j.ci_low,
        "speedup_ci_high": j.ci_high,
        "verdict": j.word,
    }


def _point_json(p: Point) -> dict[str, Any]:
    return {
        "variant": p.variant,
        "workers": p.workers,
        "dist": p.dist,
        "axes": p.labels,
        "configured": p.configured,
        "runs": p.runs,
        "left_out": list(p.left_out),
        "wall_s_median": p.wall_s_median,
        "ci_low": p.interval.low_s if p.interval else None,
        "ci_high": p.interval.high_s if p.interval else None,
        "ci_coverage": p.interval.coverage if p.interval else None,
        "peak_rss_bytes": p.peak_rss_bytes,
        "efficiency": p.efficiency,
        **_speedup(p.vs_configured),
    }


def _curve_json(c: Curve) -> dict[str, Any]:
    fit = dataclasses.asdict(c.fit)
    fit["residuals"] = [
        {**dataclasses.asdict(r), "residual_s": r.residual_s} for r in c.fit.residuals
    ]
    return {
        "dist": c.dist,
        **fit,
        "noise_floor": c.noise_floor,
        "stops_paying_after": c.stops_paying,
    }


def _choice_json(c: Choice | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "variant": c.point.variant,
        "workers": c.point.workers,
        "dist": c.point.dist,
        "axes": c.point.labels,
        "wall_s": c.point.wall_s_median,
        "rule": c.rule,
        "fastest": c.fastest.variant,
        "noise_floor": c.noise_floor,
        "excluded": [{"variant": v, "why": why} for v, why in c.excluded],
        **_speedup(c.vs_configured),
    }


def _predictions(scan: ScanResult) -> list[tuple[str, Prediction]]:
    return [(s.labels, p) for s in scan.simulations for p in s.predicted]


def _prediction_json(labels: str, p: Prediction) -> dict[str, Any]:
    return {
        "workers": p.workers,
        "dist": p.dist,
        "axes": labels,
        "cpus": p.cpus,
        "on_this_machine": p.on_this_machine,
        "wall_s": p.wall_s,
        "measured_s": p.measured_s,
        "calibration": p.calibration,
        "kind": "prediction",
    }


def _validation_json(s: Simulation) -> dict[str, Any]:
    return {
        "axes": s.labels,
        "median_error": s.median_error,
        "points": [{**_prediction_json(s.labels, p), "error": p.error} for p in s.validation],
        "costs": dataclasses.asdict(s.costs),
        "cpu_fraction": s.cpu_fraction,
        "effective_cpus": s.effective_cpus,
    }


def render(scan: ScanResult) -> str:
    return json.dumps(to_json(scan), indent=2, ensure_ascii=False) + "\n"
