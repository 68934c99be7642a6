"""Explore's pick against the best of an exhaustive run of the same candidates, and its cost.

    python benchmarks/explore_vs_exhaustive.py [--quick] [--suites scan_cpu,scan_io,tracer_lever]

For each fixture suite (tests/suites: CPU-bound tests, sleeping I/O-bound tests, and one run
under coverage's Python tracer, where the tracer is the lever), copied into a temporary folder:

1. ``benchlib explore LANE`` races the candidates that apply; its cost is the wall time of every
   run it made (preflights aside: a few collect-only runs).
2. The exhaustive run: ``benchlib run`` of the lane and every candidate explore wrote into
   strategies.toml (the same set, the combination included), ROUNDS rounds each: as many as
   explore needs for its pick's paired interval. The best is the lowest median there.
3. The pick (the lane, when explore picked nothing) must have a median in the exhaustive runs
   within 10% of that best, at no more than 40% of the exhaustive cost.

--quick makes each suite smaller and the exhaustive run 2 rounds: a test runs it in CI to show
the benchmark works; the 10% and 40% are checked without --quick only. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from benchlib.model.results import load_all

SUITES = Path(__file__).resolve().parent.parent / "tests" / "suites"
LANES = {"scan_cpu": "serial-full", "scan_io": "serial-full", "tracer_lever": "ci"}
SHAPES = {"scan_cpu": "CPU-bound", "scan_io": "sleep-bound", "tracer_lever": "coverage tracer"}
QUICK_ENV = {"SCAN_CPU_S": "0.03", "SCAN_IO_S": "0.03", "TRACER_LEVER_N": "3000"}
ROUNDS, QUICK_ROUNDS = 6, 2
WITHIN, COST = 0.10, 0.40


def _benchlib(args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "benchlib", *args], capture_output=True,
                          text=True, env=env, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"benchlib {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def _walls(folder: Path) -> dict[str, list[float]]:
    walls: dict[str, list[float]] = {}
    for r in load_all([folder]).results:
        if not r.warmup and r.status in ("passed", "tests-failed"):
            walls.setdefault(r.strategy.name, []).append(r.wall_s)
    return walls


def one(suite: str, work: Path, quick: bool) -> dict[str, object]:
    target = work / suite
    shutil.copytree(SUITES / suite, target)
    env = {**os.environ, **(QUICK_ENV if quick else {})}
    lane = LANES[suite]
    budget = "1" if quick else "15"
    _benchlib(["explore", lane, "--target", str(target), "--budget", budget], env)
    md = (target / "results" / "explore.md").read_text()
    found = re.search(r"^\*\*(.+?)\*\*", md, re.MULTILINE)
    toml = tomllib.loads((target / "results" / "strategies.toml").read_text())
    tables = toml["tool"]["benchlib"]["strategies"]
    names = [n for n in tables if n != f"{lane}.pick"]
    pick = next((n for n in names if found and tables[n]["description"] == found.group(1)
                 .replace("`", "`")), lane)  # fmt: skip
    explore_cost = sum(sum(v) for v in _walls(target / "results" / "explore").values())
    rounds = QUICK_ROUNDS if quick else ROUNDS
    out = work / f"{suite}-exhaustive"
    _benchlib(["run", lane, *names, "--target", str(target), "--results", str(out),
               "--repeat", str(rounds)], env)  # fmt: skip
    walls = _walls(out)
    medians = {n: statistics.median(v) for n, v in walls.items()}
    best = min(medians, key=medians.__getitem__)
    return {
        "suite": suite, "shape": SHAPES[suite], "pick": pick, "best": best,
        "pick_s": medians.get(pick, float("nan")), "best_s": medians[best],
        "explore_cost_s": explore_cost, "exhaustive_cost_s": sum(sum(v) for v in walls.values()),
        "candidates": len(names),
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small suites, 2 rounds, no checks")
    parser.add_argument("--suites", default=None, help="default: all; with --quick, one")
    args = parser.parse_args(argv)
    # CI runs --quick to show the script works: one suite is enough for that.
    args.suites = args.suites or ("tracer_lever" if args.quick else ",".join(LANES))
    failed = False
    print("| shape | pick | exhaustive best | pick / best | explore cost / exhaustive cost |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="explore-bench-") as tmp:
        for suite in args.suites.split(","):
            r = one(suite, Path(tmp), args.quick)
            ratio = float(r["pick_s"]) / float(r["best_s"])  # type: ignore[arg-type]
            cost = float(r["explore_cost_s"]) / float(r["exhaustive_cost_s"])  # type: ignore[arg-type]
            print(f"| {r['shape']} | `{r['pick']}` {r['pick_s']:.2f} s | `{r['best']}` "
                  f"{r['best_s']:.2f} s | {ratio:.2f} | {r['explore_cost_s']:.0f} s / "
                  f"{r['exhaustive_cost_s']:.0f} s = {cost:.0%} ({r['candidates']} candidates) |",
                  flush=True)  # fmt: skip
            if not args.quick and (ratio > 1 + WITHIN or cost > COST):
                failed = True
    if not args.quick:
        print(f"checks: pick within {WITHIN:.0%} of the best, cost at most {COST:.0%}: "
              + ("FAILED" if failed else "passed"))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
