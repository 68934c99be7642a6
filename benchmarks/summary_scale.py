"""Time `summarize` and rendering over 1,000 result files of 5,000+ tests each.

Usage: python benchmarks/summary_scale.py [--files N] [--dir DIR] [--plain]

Generates the files in a temporary folder (or in --dir, reused when they are there in the
current format), then prints how long the summary takes. --plain times the unoptimized path
instead: every file through results.load_all into full RunResults, then analyze. The target is
5 s on 2 cores. CPU time (this process and its reader processes) is printed beside the wall
time because it moves less when something else shares the machine. Run the script again for
another figure: repeats inside one process measured 20-80% slower each time (cause not found;
separate processes were steady), and a CLI user summarizes once per process.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import factories

from benchlib import pipeline, report
from benchlib.analyze import summary
from benchlib.model import results
from benchlib.model.results import Counts, TestRecord, Timeline, WorkerTimes

FULL_TESTS = 5_900
UNIT_TESTS = 5_000  # the unit lanes run 5,000 of the 5,900: every file has at least 5,000
VARIANTS = 6  # distinct per-test payloads per strategy; parsing cost does not depend on values
FLAKY = "tests/docker/test_containers.py::test_teardown_exit_event"
EMPTY = '\n "tests": []'
START_S = 0.8  # the first test's start: start-up and collection before it

LANES = {
    "serial-full": {"compare_to": None, "scope": "full", "workers": 0, "wall_s": 216.0},
    "unit": {"compare_to": "serial-full", "scope": "subset", "workers": 0, "wall_s": 115.0},
    "xdist-unit": {"compare_to": "unit", "scope": "subset", "workers": 2, "wall_s": 56.0},
    "gate": {"compare_to": "serial-full", "scope": "full", "workers": 2, "wall_s": 129.0},
}


def _nodeid(i: int) -> str:
    if i == 0:
        return FLAKY
    return f"tests/area_{i % 12}/sub_{i % 7}/test_module_{i % 180}.py::test_case_{i}[param-{i}]"


def _tests(lane: str, variant: int, rng: random.Random) -> tuple[TestRecord, ...]:
    ids = range(FULL_TESTS) if LANES[lane]["scope"] == "full" else range(UNIT_TESTS)
    parallel = LANES[lane]["workers"] != 0
    out = []
    clock = {w: START_S for w in ("gw0", "gw1", None)}  # each worker's tests back to back
    # Durations average 32.5 ms before scaling; scaled, the tests fill 90% of the lane's wall.
    lanes = max(int(LANES[lane]["workers"] or 1), 1)
    scale = 0.9 * float(LANES[lane]["wall_s"]) * lanes / (len(ids) * 0.0325)
    for i in ids:
        setup, call, teardown = (scale * rng.random() * x for x in (0.01, 0.05, 0.005))
        flake = parallel and i == 0 and variant == 0
        worker = f"gw{i % 2}" if parallel else None
        start, clock[worker] = clock[worker], clock[worker] + setup + call + teardown + 0.0003
        out.append(
            TestRecord(
                nodeid=_nodeid(i),
                outcome="error" if flake else "passed",
                duration_s=round(setup + call + teardown, 6),  # running.py rounds to 1 µs
                setup_s=round(setup, 6),
                call_s=round(call, 6),
                teardown_s=round(teardown, 6),
                phase="teardown" if flake else None,
                message="APIError: did not receive an exit event" if flake else None,
                worker=worker,
                start_s=round(start, 4),  # format 3: as events.py keeps it, to 0.1 ms
            )
        )
    return tuple(out)


def _timeline(workers: int) -> Timeline:
    """Milestones as a run records them: start-up, then (under xdist) each worker's boot."""
    nodes = tuple(WorkerTimes(f"gw{i}", 0.45, 0.6, 0.75, 0.78) for i in range(workers))
    return Timeline(session_s=0.4, collected_s=0.75, end_s=None, workers=nodes)


def _fragment(tests: tuple[TestRecord, ...]) -> str:
    """Return the "tests" member as results.dumps writes it, to splice into many files."""
    text = results.dumps(factories.result(tests=tests))
    start = text.index('\n "tests": [')
    return text[start : text.index("\n ]", start) + 3]


def _with_tests(r: results.RunResult, fragment: str) -> str:
    text = results.dumps(dataclasses.replace(r, tests=()))
    assert text.count(EMPTY) == 1
    return text.replace(EMPTY, fragment)


def generate(folder: Path, files: int) -> int:
    """Write `files` result files into folder; return how many test records they hold."""
    rng = random.Random(4)
    fragments = {lane: [_fragment(_tests(lane, v, rng)) for v in range(VARIANTS)] for lane in LANES}
    lanes = list(LANES)
    total = 0
    for n in range(files):
        lane = lanes[n % len(lanes)]
        spec = LANES[lane]
        round_ = n // len(lanes)
        wall = spec["wall_s"] * (1 + rng.gauss(0, 0.02))
        r = factories.result(
            lane,
            wall_s=wall,
            outcome=Counts(passed=UNIT_TESTS, warnings=11),
            strategy_kw={k: spec[k] for k in ("compare_to", "scope", "workers")},
            run_id=f"{lane}_{n:05d}",
            round=round_,
            warmup=round_ == 0,
            log_path=f"logs/{lane}-{n:05d}.log",
            timeline=_timeline(spec["workers"]),
        )
        fragment = fragments[lane][n % VARIANTS]
        (folder / f"{r.run_id}.json").write_text(_with_tests(r, fragment))
        total += FULL_TESTS if spec["scope"] == "full" else UNIT_TESTS
    return total


def _check_format() -> None:
    """Make sure the spliced files are what results.dumps writes."""
    tests = factories.tests_(("t.py::a", "passed", 0.5), ("t.py::b", "failed", 0.25))
    r = factories.result(tests=tests)
    assert _with_tests(r, _fragment(tests)) == results.dumps(r)


def _reusable(folder: Path, files: int) -> bool:
    found = sorted(folder.glob("*.json"))
    if len(found) != files:
        return False
    try:
        results.read(found[0])
    except results.ResultError:
        return False  # an older format, most likely
    return True


def _cpu_s() -> float:
    """Return the CPU time of this process and of its waited-for children (the readers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(folder: Path, plain: bool) -> tuple[float, float, summary.Summary]:
    """Return wall seconds, CPU seconds and the summary of one summarize-and-render."""
    cpu = _cpu_s()
    start = time.perf_counter()
    if plain:
        loaded = results.load_all([folder])
        s = summary.analyze(loaded.results, loaded.skipped)
    else:
        s = pipeline.summarize([folder])
    report.render_markdown(s)
    report.render_json(s)
    report.render_table(s)
    return time.perf_counter() - start, _cpu_s() - cpu, s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--dir", type=Path, help="keep the generated files here and reuse them")
    parser.add_argument("--plain", action="store_true", help="time load_all + analyze instead")
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.quick:
        args.files = 4
    _check_format()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not _reusable(folder, args.files):
            for old in folder.glob("*.json"):
                old.unlink()
            start = time.perf_counter()
            generate(folder, args.files)
            print(f"generated {args.files} files in {time.perf_counter() - start:.1f}s")
        size = sum(p.stat().st_size for p in folder.glob("*.json"))
        elapsed, cpu, s = measure(folder, args.plain)
        path = "load_all + analyze" if args.plain else "summarize"
        print(
            f"{path} + render over {len(s.runs)} files ({size / 2**30:.2f} GiB, "
            f"{UNIT_TESTS:,}-{FULL_TESTS:,} tests each): {elapsed:.2f}s (CPU {cpu:.2f}s)"
        )
        print(report.render_table(s), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
