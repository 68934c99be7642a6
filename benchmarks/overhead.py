"""How much benchlib perturbs what it measures, side by side in one run.

1. The sampler's own CPU per sample on a 6-process tree: benchlib's /proc walk against
   psutil's children(recursive=True) walk with oneshot() reads, interleaved.
2. The same suite of tiny tests run bare and under benchlib (sampler, observer plugin, events
   file), interleaved in pairs: median ratio of wall times. Tiny tests are where benchlib's
   per-test cost shows most: the observer writes a "started" and a "test" event per test.
   Target: <= 1.03 on 2,000 tests.

    python benchmarks/overhead.py [--pairs 7] [--samples 2000] [--tests 2000] [--skip-sampler]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchlib.measure import bench
from benchlib.measure.sampling import Sampler
from benchlib.plan import machine
from benchlib.plan.runplan import RunPlan
from benchlib.plan.strategy import Strategy

TREE = (
    "import subprocess, sys, time\n"
    "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])"
    " for _ in range(5)]\n"
    "time.sleep(600)\n"
)
TARGET_RATIO = 1.03


def suite(tests: int) -> str:
    """Return a module of `tests` tiny tests: pytest's own per-test work dominates."""
    return (
        "import pytest\n"
        f"@pytest.mark.parametrize('i', range({tests}))\n"
        "def test_tiny(i):\n"
        "    assert i >= 0\n"
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


def _plan(target: Path) -> RunPlan:
    return RunPlan(
        strategy=Strategy("overhead"),
        target=target,
        interpreter=machine.probe(sys.executable, target),
        paths=(),
        shared_args=("-q", "-p", "no:cacheprovider"),
        workers=0,
        timeout_s=600,
        results_dir=target / "results",
    )


def wall_ratio(pairs: int, tests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        (target / "test_tiny.py").write_text(suite(tests))
        (target / "pytest.ini").write_text("[pytest]\n")
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
        plan = _plan(target)
        if plan.interpreter.xdist is None:
            argv = argv[:-2]
        bare, under, cpu_ratios = [], [], []
        for i in range(pairs + 1):  # the first pair warms the file cache and is dropped
            c0, t0 = _children_cpu(), time.perf_counter()
            subprocess.run(argv, cwd=target, stdout=subprocess.DEVNULL, check=True)
            b, b_cpu = time.perf_counter() - t0, _children_cpu() - c0
            (result,) = bench.bench([plan], bench.Schedule(), bench.Quiet()).results
            assert result.status == "passed", result.message
            if i:
                bare.append(b)
                under.append(result.wall_s)
                cpu_ratios.append((result.cpu_user_s + result.cpu_system_s) / b_cpu)
        ratios = [u / b for u, b in zip(under, bare, strict=True)]
        print(f"suite of {tests} tiny tests, {pairs} interleaved pairs:")
        print(f"  bare pytest wall         : median {statistics.median(bare):.3f} s")
        print(f"  under benchlib (wall_s)  : median {statistics.median(under):.3f} s")
        print(f"  ratios                   : {' '.join(f'{r:.3f}' for r in ratios)}")
        print(
            f"  median ratio             : {statistics.median(ratios):.3f} "
            f"(target <= {TARGET_RATIO})"
        )
        # The pytest tree's own CPU (the observer's cost, without benchlib's threads): steadier
        # than wall time when other work shares the machine.
        print(f"  median CPU ratio (tree)  : {statistics.median(cpu_ratios):.3f}")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--tests", type=int, default=2000, help="tiny tests in the suite")
    parser.add_argument("--skip-sampler", action="store_true", help="only the wall ratio")
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.samples, args.tests = 1, 100, 20  # samples: in blocks of 100
    if not args.skip_sampler:
        sampler_cost(args.samples)
    wall_ratio(args.pairs, args.tests)


if __name__ == "__main__":
    main()
