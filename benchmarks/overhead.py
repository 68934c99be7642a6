"""How much benchlib perturbs what it measures, side by side in one run.

1. The sampler's own CPU per sample on a 6-process tree: benchlib's /proc walk against
   psutil's children(recursive=True) walk with oneshot() reads, interleaved.
2. The same suite run bare and under benchlib, interleaved in pairs: median ratio of wall
   times (target <= 1.02).

    python benchmarks/overhead.py [--pairs 7] [--samples 2000]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchlib import machine, running
from benchlib.sampling import Sampler
from benchlib.strategy import Strategy

TREE = (
    "import subprocess, sys, time\n"
    "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])"
    " for _ in range(5)]\n"
    "time.sleep(600)\n"
)
SUITE = (
    "import time, pytest\n"
    "@pytest.mark.parametrize('i', range(300))\n"
    "def test_work(i):\n"
    "    time.sleep(0.002)\n"
    "    sum(range(20000))\n"
)


def naive_walk(root: psutil.Process) -> int:
    total = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                p.cpu_times()
        except psutil.NoSuchProcess:
            pass
    return total


def sampler_cost(samples: int) -> None:
    tree = subprocess.Popen([sys.executable, "-c", TREE], start_new_session=True)
    try:
        time.sleep(1.5)  # let the five children start
        sampler = Sampler(tree.pid, 0.1)
        root = psutil.Process(tree.pid)
        sampler.tick()  # the first tick reads every pid on the system once
        ours, naive = [], []
        for _ in range(samples // 100):
            c0 = time.thread_time()
            for _ in range(100):
                sampler.tick()
            ours.append((time.thread_time() - c0) / 100)
            c0 = time.thread_time()
            for _ in range(100):
                naive_walk(root)
            naive.append((time.thread_time() - c0) / 100)
        procs = len(sampler.tree.read())
        o, n = statistics.median(ours) * 1e3, statistics.median(naive) * 1e3
        print(f"sampler, {procs}-process tree, CPU per sample ({len(ours)} blocks of 100):")
        print(f"  benchlib /proc walk : {o:.3f} ms")
        print(f"  psutil recursive    : {n:.3f} ms")
        print(f"  ratio               : {n / o:.1f}x cheaper")
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()


def wall_ratio(pairs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        (target / "test_work.py").write_text(SUITE)
        (target / "pytest.ini").write_text("[pytest]\n")
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        plan = running.RunPlan(
            strategy=Strategy("overhead", args=("-q", "-p", "no:cacheprovider")),
            target=target,
            interpreter=machine.probe(sys.executable, target),
            paths=(),
            shared_args=(),
            workers=0,
            timeout_s=600,
            results_dir=target / "results",
        )
        bare, under, calls = [], [], []
        for i in range(pairs + 1):  # the first pair warms the file cache and is dropped
            t0 = time.perf_counter()
            subprocess.run(argv, cwd=target, stdout=subprocess.DEVNULL, check=True)
            b = time.perf_counter() - t0
            t0 = time.perf_counter()
            result, _ = running.run(plan)
            c = time.perf_counter() - t0
            if i:
                bare.append(b)
                under.append(result.wall_s)
                calls.append(c)
        ratios = [u / b for u, b in zip(under, bare, strict=True)]
        print(f"suite of 300 tests, {pairs} interleaved pairs:")
        print(f"  bare pytest wall         : median {statistics.median(bare):.3f} s")
        print(f"  under benchlib (wall_s)  : median {statistics.median(under):.3f} s")
        print(f"  median ratio             : {statistics.median(ratios):.3f} (target <= 1.02)")
        print(f"  whole run() call         : median {statistics.median(calls):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    sampler_cost(args.samples)
    wall_ratio(args.pairs)


if __name__ == "__main__":
    main()
