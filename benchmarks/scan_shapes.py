"""Scan three suites of different shapes; hold each recommendation against an exhaustive scan.

    python benchmarks/scan_shapes.py [--repeat 5] [--suites scan_cpu,scan_io,scan_tiny]

For each fixture suite (tests/suites/scan_*: CPU-bound tests, sleeping I/O-bound tests, a few
hundred near-empty tests), copied into a temporary folder:

1. ``benchlib scan gate --repeat 2N`` runs every variant, round-robin.
2. The rounds are split in two interleaved halves (odd and even rounds), so that the machine's
   other load, which moves by the minute on a shared machine, falls on both alike: the first
   half is "the scan" (N runs a variant: its recommendation), the second the exhaustive scan of
   the same variants (N runs each: the best median there is). The recommended variant's median
   in the second half must be within 10% of that best.
3. The simulator's median error on the measured points it did not see, from all the runs.

Then on the I/O-bound suite, ``--repeat auto --budget 120``: did it stop within its budget, and
did it reach the interval width? The end-to-end time of the first I/O scan is split into the
runs (and their fixed costs), benchlib between runs, and the analysis. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib.analyze.resultset import from_results
from benchlib.analyze.scan.pick import ScanResult, analyze
from benchlib.model.results import load_all

SUITES = Path(__file__).resolve().parent.parent / "tests" / "suites"
WORKERS = {"scan_cpu": "0,1,2,4", "scan_io": "0..8", "scan_tiny": "0,1,2,4"}
DISTS = {"scan_io": "load,worksteal"}
WITHIN = 0.10  # the recommendation's median may be this much above the exhaustive best
MAX_ERROR = 0.15  # the simulator's median error on held-out points
BUDGET_S = 120.0


def scan(target: Path, results: Path, *args: str) -> tuple[dict[str, Any], float]:
    argv = [sys.executable, "-m", "benchlib", "scan", "gate", "--target", str(target)]
    argv += ["--results", str(results), "--json", *args]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"scan failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout), took


def halves(results: Path) -> tuple[ScanResult, ScanResult]:
    """Return the scan of the even rounds and the scan of the odd rounds."""
    loaded = [r for r in load_all([results]).results if r.strategy.name.startswith("gate@")]
    first, second = (
        analyze(from_results([r for r in loaded if r.round % 2 == parity]))[0] for parity in (0, 1)
    )
    return first, second


def medians(found: ScanResult) -> dict[str, float]:
    return {p.variant: p.wall_s_median for p in found.points if p.wall_s_median is not None}


def check_suite(name: str, repeat: int, tmp: Path) -> list[str]:
    target = tmp / name
    shutil.copytree(SUITES / name, target)
    axes = ["--workers", WORKERS[name], "--repeat", str(2 * repeat)]
    axes += ["--dist", DISTS[name]] if name in DISTS else []
    data, took = scan(target, tmp / f"{name}-scan", *axes)
    first, truth = halves(tmp / f"{name}-scan")
    assert first.recommended is not None
    rec = first.recommended
    best_name, best = min(medians(truth).items(), key=lambda kv: kv[1])
    there = medians(truth)[rec.point.variant]
    print(f"\n== {name}: {len(data['points'])} variants x {2 * repeat} runs, {took:.0f} s")
    for p in data["points"]:
        print(
            f"  {p['variant']:<22} {p['wall_s_median']:6.2f} s "
            f"({p['ci_low']:.2f}-{p['ci_high']:.2f}, {p['ci_coverage']:.1%})  halves "
            f"{medians(first)[p['variant']]:.2f} / {medians(truth)[p['variant']]:.2f} s"
        )
    full = data["recommended"]
    print(f"  all runs: recommended {full['variant']} ({full['rule']}) {full['wall_s']:.2f} s; "
          f"against configured {full['speedup'] or 1:.2f}x [{full['speedup_ci_low']}, "
          f"{full['speedup_ci_high']}] {full['verdict']}")  # fmt: skip
    off = there / best - 1
    print(f"  first half recommends {rec.point.variant} ({rec.rule}); second half: best "
          f"{best_name} {best:.2f} s, recommended {there:.2f} s ({off:+.1%})")  # fmt: skip
    error = data["median_error"]
    for v in data["validation"]:
        shown = ", ".join(
            f"n{p['workers']}{'-' + p['dist'] if p['dist'] else ''} "
            f"{p['wall_s']:.2f}/{p['measured_s']:.2f} ({p['error']:+.0%})"
            + (" cal" if p["calibration"] else "")
            for p in v["points"]
        )
        print(f"  simulator (effective CPUs {v['effective_cpus']:.2f}): {shown}")
    print(f"  simulator median error on held-out points: {error:.1%}" if error is not None else "")
    if data["fit"]:
        f = data["fit"]
        print(
            f"  fit --dist {f['dist']}: {f['serial_s']:.2f} + {f['parallel_s']:.2f}/n + "
            f"{f['per_worker_s']:.3f}*n, R2 {f['r_squared']:.2f}, stops paying after "
            f"{f['stops_paying_after']}"
        )
    print("  predicted (on n idle CPUs): " + ", ".join(
        f"n{p['workers']}-{p['dist']} {p['wall_s']:.2f} s"
        for p in data["predicted"] if not p["on_this_machine"]
    ))  # fmt: skip
    if name == "scan_io":
        print(f"  time: {json.dumps(data['time'])}")
    problems = []
    if there > best * (1 + WITHIN):
        problems.append(f"{name}: recommended {there:.2f} s is over {WITHIN:.0%} above {best:.2f}")
    if error is None or error > MAX_ERROR:
        problems.append(f"{name}: simulator median error {error} is over {MAX_ERROR:.0%}")
    return problems


def check_auto(tmp: Path) -> list[str]:
    target = tmp / "scan_io_auto"
    shutil.copytree(SUITES / "scan_io", target)
    data, took = scan(
        target, tmp / "auto", "--workers", "0..8", "--repeat", "auto", "--budget", str(BUDGET_S)
    )
    runs = sum(p["runs"] for p in data["points"])
    print(
        f"\n== scan_io --repeat auto --budget {BUDGET_S:g}: {took:.0f} s end to end, {runs} runs,"
    )
    bench_s = data["time"]["total_s"] - data["time"]["analysis_s"]
    print(f"  stopped: {data['stopped']}; the bench took {bench_s:.1f} s")
    print(f"  recommended {data['recommended']['variant']} {data['recommended']['wall_s']:.2f} s")
    return (
        # The bench stops before a round that would overrun, judging by the rounds so far: a
        # round slower than those overruns a little, and the machine is probed first.
        [f"auto ran {bench_s:.1f} s on a {BUDGET_S:g} s budget"]
        if bench_s > BUDGET_S * 1.05
        else []
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--suites", default="scan_cpu,scan_io,scan_tiny")
    parser.add_argument("--no-auto", action="store_true")
    parser.add_argument("--keep", metavar="DIR", help="keep the suites and results here")
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.suites, args.no_auto = 1, "scan_tiny", True
        WORKERS["scan_tiny"] = "0,1"
    problems = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(args.keep or folder)
        tmp.mkdir(parents=True, exist_ok=True)
        for name in args.suites.split(","):
            problems += check_suite(name, args.repeat, tmp)
        if not args.no_auto:
            problems += check_auto(tmp)
    print("\n" + ("\n".join(problems) if problems else "all checks passed"))
    # One run a variant cannot hold a recommendation to 10%: quick checks the script runs.
    return 1 if problems and not args.quick else 0


if __name__ == "__main__":
    raise SystemExit(main())
