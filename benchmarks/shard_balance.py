"""How even three shards are: split by file (no baseline) against split by the baseline's durations.

The 60-test fixture suite with skewed durations (tests/suites/shards: 3 long, 6 medium, 51
short, ~4.9 s in all) split into 3 shards, each shard run as its own `benchlib run sharded
--shard I/3`, as three CI jobs would. Printed per split: each shard's predicted and measured
seconds, the predicted and measured imbalance (slowest / mean - 1), the makespan against the
CI time paid, and the node-id check; then the check again after one test is dropped from a
shard's result file.

    python benchmarks/shard_balance.py [--rounds 3] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import pipeline
from benchlib.analyze.parts import LogicalRun
from benchlib.explain.composite import check_words

SUITE = Path(__file__).parents[1] / "tests" / "suites" / "shards"
SCALE = 1.0  # multiplies every test's duration (the suite's SUITE_SCALE); --scale sets it
PYPROJECT = """\
[tool.benchlib]
args = ["-q", "-p", "no:cacheprovider"]
[tool.benchlib.strategies.sharded]
shards = 3
compare_to = "serial-full"
"""


def benchlib(target: Path, out: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["SUITE_SCALE"] = str(SCALE)
    argv = [sys.executable, "-m", "benchlib", "run", *args, "--target", str(target)]
    subprocess.run([*argv, "--results", str(out)], env=env, check=True, capture_output=True)


def shards(target: Path, out: Path, rounds: int) -> None:
    for _ in range(rounds):
        for i in (1, 2, 3):  # three CI jobs
            benchlib(target, out, "sharded", "--shard", f"{i}/3")


def show(title: str, runs: tuple[LogicalRun, ...]) -> None:
    print(f"\n{title}")
    for run in runs:
        predicted = ", ".join(f"{p.predicted_s:.2f}" for p in run.parts if p.predicted_s)
        measured = ", ".join(f"{p.wall_s:.2f}" for p in run.parts)
        pi = f"{run.predicted_imbalance:.1%}" if run.predicted_imbalance is not None else "-"
        mi = f"{run.imbalance:.1%}" if run.imbalance is not None else "-"
        print(
            f"  tests {[p.assigned for p in run.parts]}; predicted s [{predicted or '-'}] "
            f"imbalance {pi}; measured s [{measured}] imbalance {mi}; makespan "
            f"{run.wall_s:.2f}s of {run.total_s:.2f}s CI time; node ids: "
            f"{check_words(run.check, run.kind)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="of every test's duration")
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.scale = 1, 0.02
    global SCALE
    SCALE = args.scale
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(shutil.copytree(SUITE, Path(tmp) / "suite"))
        (target / "pyproject.toml").write_text(PYPROJECT)
        by_file, by_time = Path(tmp) / "by-file", Path(tmp) / "by-time"
        shards(target, by_file, args.rounds)
        show("split by file (no baseline):", pipeline.summarize([by_file]).logical)
        benchlib(target, by_time, "serial-full")
        shards(target, by_time, args.rounds)
        logical = pipeline.summarize([by_time]).logical
        show("split by the baseline's durations:", logical)
        drop_one(by_time, logical[0])


def drop_one(folder: Path, run: LogicalRun) -> None:
    """Drop one test from the second shard's file, as a shard that lost it would record it."""
    path = folder / f"{run.parts[1].run_id}.json"
    data = json.loads(path.read_text())
    dropped = data["tests"].pop(0)[0]
    path.write_text(json.dumps(data))
    again = next(
        r for r in pipeline.summarize([folder]).logical if r.logical_run_id == run.logical_run_id
    )
    print(f"\nafter dropping {dropped} from shard 2: {check_words(again.check, again.kind)}")


if __name__ == "__main__":
    main()
