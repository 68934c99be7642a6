"""Scan three suites of different shapes; hold each recommendation against an exhaustive scan.

    python benchmarks/scan_shapes.py [--repeat 5] [--suites scan_cpu,scan_io,scan_tiny]

For each fixture suite (tests/suites/scan_*: CPU-bound tests, sleeping I/O-bound tests, a few
hundred near-empty tests), copied into a temporary folder:

1. ``benchlib scan gate --repeat N`` gives a recommendation and the simulator's median error on
   the measured points it did not see.
2. A second, independent scan of the same variants (its own results folder, the same repeats)
   stands in for the exhaustive truth: its best median is the best there is. The first scan's
   recommended variant must have a median there within 10% of that best.

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


def medians(data: dict[str, Any]) -> dict[str, float]:
    return {p["variant"]: p["wall_s_median"] for p in data["points"] if p["wall_s_median"]}


def check_suite(name: str, repeat: int, tmp: Path) -> list[str]:
    target = tmp / name
    shutil.copytree(SUITES / name, target)
    axes = ["--workers", WORKERS[name], "--repeat", str(repeat)]
    axes += ["--dist", DISTS[name]] if name in DISTS else []
    first, took = scan(target, tmp / f"{name}-scan", *axes)
    truth, _ = scan(target, tmp / f"{name}-exhaustive", *axes)
    rec = first["recommended"]
    best_name, best = min(medians(truth).items(), key=lambda kv: kv[1])
    there = medians(truth)[rec["variant"]]
    error = first["median_error"]
    print(f"\n== {name}: {len(first['points'])} variants x {repeat} runs, {took:.0f} s")
    for p in first["points"]:
        print(
            f"  {p['variant']:<22} {p['wall_s_median']:6.2f} s  "
            f"({p['ci_low']:.2f}-{p['ci_high']:.2f}, {p['ci_coverage']:.1%})  "
            f"exhaustive {medians(truth)[p['variant']]:6.2f} s"
        )
    print(f"  recommended {rec['variant']} ({rec['rule']}): {rec['wall_s']:.2f} s; speed-up "
          f"over configured {rec['speedup'] or 1:.2f} [{rec['speedup_ci_low']}, "
          f"{rec['speedup_ci_high']}] {rec['verdict']}")  # fmt: skip
    print(f"  exhaustive best {best_name} {best:.2f} s; recommended there {there:.2f} s "
          f"({there / best - 1:+.1%})")  # fmt: skip
    for v in first["validation"]:
        shown = ", ".join(
            f"n{p['workers']}{'-' + p['dist'] if p['dist'] else ''} "
            f"{p['wall_s']:.2f}/{p['measured_s']:.2f} ({p['error']:+.0%})"
            + (" cal" if p["calibration"] else "")
            for p in v["points"]
        )
        print(f"  simulator (effective CPUs {v['effective_cpus']:.2f}): {shown}")
    print(f"  simulator median error on held-out points: {error:.1%}" if error is not None else "")
    if first["fit"]:
        f = first["fit"]
        print(
            f"  fit --dist {f['dist']}: {f['serial_s']:.2f} + {f['parallel_s']:.2f}/n + "
            f"{f['per_worker_s']:.3f}*n, R2 {f['r_squared']:.2f}, stops paying after "
            f"{f['stops_paying_after']}"
        )
    print("  predicted (on n idle CPUs): " + ", ".join(
        f"n{p['workers']}-{p['dist']} {p['wall_s']:.2f} s"
        for p in first["predicted"] if not p["on_this_machine"]
    ))  # fmt: skip
    problems = []
    if there > best * (1 + WITHIN):
        problems.append(f"{name}: recommended {there:.2f} s is over {WITHIN:.0%} above {best:.2f}")
    if error is None or error > MAX_ERROR:
        problems.append(f"{name}: simulator median error {error} is over {MAX_ERROR:.0%}")
    if name == "scan_io":
        print(f"  time: {json.dumps(first['time'])}")
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
    print(f"  stopped: {data['stopped']}; the bench took {bench_s:.0f} s")
    print(f"  recommended {data['recommended']['variant']} {data['recommended']['wall_s']:.2f} s")
    return (
        [] if bench_s <= BUDGET_S else [f"auto ran {bench_s:.0f} s over its {BUDGET_S:g} s budget"]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--suites", default="scan_cpu,scan_io,scan_tiny")
    parser.add_argument("--no-auto", action="store_true")
    args = parser.parse_args()
    problems = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name in args.suites.split(","):
            problems += check_suite(name, args.repeat, tmp)
        if not args.no_auto:
            problems += check_auto(tmp)
    print("\n" + ("\n".join(problems) if problems else "all checks passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
