"""Start-up cost of the interface: `nox -s bench-unit` overhead beside `nox -l` and `--version`.

The overhead of a bench session is its wall time less the wall time of the run it measured
(read from the result file it wrote): nox's start-up, its check of the reused venv, benchlib's
start-up, set-up and result writing. The three are measured interleaved, so that the machine's
drift hits each alike. Run from the checkout, after one `nox -s bench-unit` has created the venv:

    python benchmarks/startup.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib.model.results import find_result_files

ROOT = Path(__file__).resolve().parent.parent


def _timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def _bench_overhead(results: Path) -> float:
    before = set(find_result_files([results]))
    wall = _timed(["nox", "-s", "bench-unit", "--", "--results", str(results)])
    (new,) = set(find_result_files([results])) - before  # not the run's trace
    return wall - float(json.loads(new.read_text())["wall_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true",
        help="one round, without the bench session (it needs nox's venv, made once by hand)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    samples: dict[str, list[float]] = {
        "nox -s bench-unit overhead": [],
        "nox -l": [],
        "benchlib --version": [],
    }
    if args.quick:
        del samples["nox -s bench-unit overhead"]
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            if not args.quick:
                samples["nox -s bench-unit overhead"].append(_bench_overhead(Path(tmp)))
            samples["nox -l"].append(_timed(["nox", "-l"]))
            samples["benchlib --version"].append(
                _timed([sys.executable, "-m", "benchlib", "--version"])
            )
    for name, values in samples.items():
        print(
            f"{name:28} median {statistics.median(values):.3f} s  ({len(values)} runs: "
            + ", ".join(f"{v:.3f}" for v in values)
            + ")"
        )


if __name__ == "__main__":
    main()
