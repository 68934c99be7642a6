"""Print how often benchlib.stats flags a real 20% slowdown, and how often it flags no change.

Synthetic wall times: a 10 s suite with lognormal noise at a given coefficient of variation
(and, in the "outliers" rows, one run in ten disturbed by +30%, as on a shared CI runner).
Each seed draws a fresh base and current sample; the rates are over seeds.

    python benchmarks/stats_error_rates.py [--seeds 1000]
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable

from benchlib import stats

Draw = Callable[[random.Random, int, float], list[float]]
SUITE_S = 10.0
SLOWDOWN = 1.20
THRESHOLD = 0.10  # the gate's default
ROW = "{:<10} {:>4} {:>5}  {:>8} {:>6}  {:>7} {:>6}"


def lognormal(rng: random.Random, n: int, cv: float) -> list[float]:
    """Draw n wall times whose coefficient of variation is cv."""
    sigma = math.sqrt(math.log1p(cv * cv))
    return [SUITE_S * rng.lognormvariate(0, sigma) for _ in range(n)]


def with_outliers(rng: random.Random, n: int, cv: float) -> list[float]:
    """Draw lognormal times where one run in ten is 30% slower (a busy neighbour)."""
    return [t * (1.3 if rng.random() < 0.1 else 1.0) for t in lognormal(rng, n, cv)]


def rates(draw: Draw, n: int, cv: float, seeds: int) -> tuple[float, float, float, float]:
    """Return (detected, gate flagged, false positives, gate false positives) as fractions.

    "detected": the verdict is "slower"; "gate": benchlib.analyze.compare would fail the build;
    "false+": any significant verdict (faster or slower) when nothing changed.
    """
    detected = gated = false_pos = gate_false = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        base = draw(rng, n, cv)
        slow = [t * SLOWDOWN for t in draw(rng, n, cv)]
        same = draw(rng, n, cv)
        floor = stats.noise_floor(base)
        hit = stats.compare_ratio(base, slow, noise_floor=floor)
        null = stats.compare_ratio(base, same, noise_floor=floor)
        detected += hit.verdict == "slower"
        gated += _regressed(hit)
        false_pos += null.verdict in ("faster", "slower")
        gate_false += _regressed(null)
    return detected / seeds, gated / seeds, false_pos / seeds, gate_false / seeds


def _regressed(e: stats.RatioEstimate) -> bool:
    """Apply the gate's rule (analyze/compare.py): significantly slower, by over the threshold."""
    return e.verdict == "slower" and 1 / e.ratio - 1 > THRESHOLD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    seeds = 20 if args.quick else args.seeds
    print(f"method: {stats.METHOD}; {seeds} seeds per row; real change: {SLOWDOWN - 1:.0%} slower")
    print(ROW.format("noise", "CV", "runs", "detected", "gate", "false+", "gate"))
    for label, draw in (("lognormal", lognormal), ("outliers", with_outliers)):
        for cv in (0.03, 0.05, 0.10):
            for n in (3, 4, 5, 10):
                det, gate, fp, gate_fp = rates(draw, n, cv, seeds)
                cells = (f"{cv:.0%}", n, *(f"{r:.1%}" for r in (det, gate, fp, gate_fp)))
                print(ROW.format(label, *cells))


if __name__ == "__main__":
    main()
