"""Paired against unpaired: the same CI job on a quiet runner and on a busy one.

Each "runner" runs `benchlib run unit --pair serial-full --repeat N` on a CPU-bound fixture suite
(tests/suites/cpubound) into its own results folder, one after the other; the busy one has
CPU-burning processes beside it (bounded in time, killed after). Printed: each runner's A/A
noise floor, the absolute
medians (which differ by far more than the floor), the ratio measured within each job (which
agree within it), the summary's paired verdict, and what an unpaired comparison across the two
runners says: the lane's time on the busy runner against the baseline's on the quiet one.

    python benchmarks/paired_runners.py [--repeat 8] [--work 4000000] [--burners 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import pipeline, stats
from benchlib.analyze import judge
from benchlib.explain.wording import verdict_words
from benchlib.model import results

SUITE = Path(__file__).parents[1] / "tests" / "suites" / "cpubound"
# A competing CPU-bound process that ends by itself even if this script is killed.
BURN = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


def bench(target: Path, out: Path, args: argparse.Namespace) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["SUITE_WORK"] = str(args.work)
    argv = [sys.executable, "-m", "benchlib", "run", "unit", "--pair", "serial-full"]
    argv += ["--repeat", str(args.repeat), "--target", str(target), "--results", str(out)]
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=3600)


def two_runners(target: Path, folders: tuple[Path, Path], args: argparse.Namespace) -> None:
    """Run the same job on a quiet runner, then on a busy one."""
    bench(target, folders[0], args)
    # Each burner in a session of its own: with Linux's autogroup scheduling, CPU is shared
    # between sessions first, and pytest runs in a session of its own.
    burners = [
        subprocess.Popen([sys.executable, "-c", BURN, "1800"], start_new_session=True)
        for _ in range(args.burners)
    ]
    try:
        bench(target, folders[1], args)
    finally:
        for p in burners:
            p.kill()
        for p in burners:
            p.wait(timeout=10)


def runs_of(folder: Path, name: str) -> list[results.RunResult]:
    """Return a strategy's runs in a folder: its result files, not its runs' traces."""
    found = [p for p in results.find_result_files([folder]) if p.name.startswith(f"{name}_")]
    return [results.load(p) for p in found]


def walls(folder: Path, name: str) -> list[float]:
    return [r.wall_s for r in judge.in_order(runs_of(folder, name))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument("--work", type=int, default=4_000_000)
    parser.add_argument("--burners", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.work, args.burners = 2, 20_000, 1
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(shutil.copytree(SUITE, Path(tmp) / "suite"))
        quiet, busy = Path(tmp) / "runner-a", Path(tmp) / "runner-b"
        two_runners(target, (quiet, busy), args)
        report(quiet, busy)


def report(quiet: Path, busy: Path) -> None:
    for label, folder in (("quiet runner A", quiet), ("busy runner B", busy)):
        base, lane = walls(folder, "serial-full"), walls(folder, "unit")
        print(
            f"{label}: serial-full median {stats.describe(base).median:.3f}s, "
            f"unit median {stats.describe(lane).median:.3f}s, "
            f"A/A noise floor of serial-full {stats.noise_floor(base):.1%}"
        )
    floor = stats.noise_floor(walls(quiet, "serial-full"))
    for name in ("serial-full", "unit"):
        a, b = stats.describe(walls(quiet, name)).median, stats.describe(walls(busy, name)).median
        print(f"absolute {name}: B / A = {b / a:.3f} ({b / a - 1:+.1%}; floor {floor:.1%})")
    s = pipeline.summarize([quiet, busy])
    j = s.strategy("unit").comparison
    assert j is not None
    for b in j.benches:
        print(f"ratio within job {b.bench_id}: {b.ratio:.3f} ({b.pairs} pairs)")
    ra, rb = (b.ratio for b in j.benches)
    print(f"ratios: B / A = {rb / ra:.3f} ({stats.relative_difference(rb / ra):.1%} apart)")
    print(f"paired verdict: {verdict_words(j)}")
    unpaired(quiet, busy)


def unpaired(quiet: Path, busy: Path) -> None:
    """Judge the busy runner's lane against the quiet runner's baseline, as separate jobs."""
    before, after = runs_of(quiet, "serial-full"), runs_of(busy, "unit")
    same_host = judge.judge("serial-full", "unit", before, after)
    print(f"unpaired, across jobs, same host name: {verdict_words(same_host)}")
    renamed = dataclasses.replace(after[0].machine, hostname="runner-b")
    after = [dataclasses.replace(r, machine=renamed) for r in after]
    other_host = judge.judge("serial-full", "unit", before, after)
    print(f"unpaired, across runners (host renamed): {verdict_words(other_host)}")
    print(f"  note: {other_host.note}")


if __name__ == "__main__":
    main()
