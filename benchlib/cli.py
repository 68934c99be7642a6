"""The `benchlib` command: wires configuration, runs, summaries and comparisons together.

The only place that prints for the user and turns errors into exit codes: 2 for bad input,
130 for an interruption, otherwise the command's own code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from benchlib import __version__, config, machine, running, stats
from benchlib.errors import UsageError
from benchlib.strategy import resolve_workers

DEFAULT_BUDGET_S = 1800.0
# A bench succeeds when every run ended by pytest's own verdict; failing tests are a finding
# for the report, a timeout or crash is not a measurement.
COMPLETED = frozenset({"passed", "tests-failed"})
AUTO_MIN_ROUNDS = 4  # the exact 95% interval needs 4 runs a side (see stats)


def _results_dir(args: argparse.Namespace, cfg: config.Config) -> Path:
    if args.results:
        return Path(args.results)
    return cfg.target / cfg.results if cfg.results else Path("results")


def _interpreter(args: argparse.Namespace, cfg: config.Config) -> machine.Interpreter:
    python = args.python or cfg.python
    if python and ("/" in python or "\\" in python):
        python = str(cfg.target / python)  # relative to the target, like its other paths
    return machine.probe(python or sys.executable, cfg.target)


def _names(requested: Sequence[str], cfg: config.Config) -> list[str]:
    for name in requested:
        if name not in cfg.strategies:
            raise UsageError(
                f"unknown strategy {name!r}; known: {', '.join(cfg.strategies)} "
                "(`benchlib list` shows them)"
            )
    return list(dict.fromkeys(requested)) or list(cfg.strategies)


def _repeat(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 1, or auto")
    return n


def _plans(args: argparse.Namespace, cfg: config.Config) -> list[running.RunPlan]:
    interpreter = _interpreter(args, cfg)
    results_dir = _results_dir(args, cfg)
    running.check_results_dir(results_dir)
    plans = []
    for name in _names(args.strategies, cfg):
        s = cfg.strategies[name]
        workers = args.workers if args.workers is not None else resolve_workers(s.workers)
        if workers > 0 and interpreter.xdist is None:
            raise UsageError(
                f"strategy {name!r} runs {workers} xdist workers, but pytest-xdist is not "
                f"installed for {interpreter.path}; install it there "
                f"({interpreter.path} -m pip install pytest-xdist) or pass --workers 0"
            )
        plans.append(
            running.RunPlan(
                strategy=s,
                target=cfg.target,
                interpreter=interpreter,
                paths=cfg.paths,
                shared_args=(*cfg.args, *(f"--ignore={p}" for p in cfg.ignore)),
                workers=workers,
                timeout_s=args.timeout or s.timeout_s or cfg.timeout_s,
                results_dir=results_dir,
                interval_s=args.interval or cfg.interval_s,
                show_output=args.show_output,
            )
        )
    return plans


def cmd_run(args: argparse.Namespace) -> int:
    cfg = config.load(Path(args.target))
    plans = _plans(args, cfg)
    for warning in config.unregistered_markers(cfg, [p.strategy.name for p in plans]):
        print(f"benchlib: warning: {warning}", file=sys.stderr)
    results_dir = plans[0].results_dir
    bench_id = uuid.uuid4().hex[:12]
    rounds = args.warmup + (args.repeat or AUTO_MIN_ROUNDS)
    from benchlib.progress import Display  # it imports the summary: only `run` needs it

    display = Display(sys.stderr, len(plans) * rounds)
    walls: dict[str, list[float]] = {p.strategy.name: [] for p in plans}
    compare_to = {p.strategy.name: p.strategy.compare_to for p in plans}
    written: list[Path] = []
    worst = 0
    t0 = time.monotonic()
    with running.exclusive(results_dir):
        round_ = 0
        while True:
            warmup = round_ < args.warmup
            # Round-robin: drift in the machine hits every strategy alike.
            for plan in plans:
                plan = dataclasses.replace(plan, round=round_, warmup=warmup, bench_id=bench_id)
                display.start(plan.strategy.name, round_, warmup)
                result, path = running.run(plan, progress=display.update)
                display.finish(result, str(path))
                written.append(path)
                worst = max(worst, 0 if result.status in COMPLETED else 1)
                if not warmup:
                    walls[plan.strategy.name].append(result.wall_s)
            round_ += 1
            if not _another_round(args, round_, walls, compare_to, time.monotonic() - t0):
                break
            display.total = max(display.total, display.index + len(plans))
    if args.summary:
        _summarize(written, results_dir)
    return worst


def _another_round(
    args: argparse.Namespace,
    done: int,
    walls: dict[str, list[float]],
    compare_to: dict[str, str | None],
    elapsed_s: float,
) -> bool:
    if args.repeat is not None:
        return done < args.warmup + args.repeat
    measured = done - args.warmup
    if measured < AUTO_MIN_ROUNDS:
        return True
    # Stop before a round that would overrun the budget, judging by the last round's cost.
    per_round = elapsed_s / done
    if elapsed_s + per_round > args.budget:
        return False
    relevant = {k: v for k, v in compare_to.items() if v in walls}
    return stats.needs_more_runs(walls, relevant, max_width=args.width)


def cmd_list(args: argparse.Namespace) -> int:
    cfg = config.load(Path(args.target))
    if args.json:
        rows = [
            {**dataclasses.asdict(s), "session": f"bench-{s.name}"} for s in cfg.strategies.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for s in cfg.strategies.values():
        selection = " ".join(
            filter(None, [s.markers and f"-m {s.markers!r}", s.keyword and f"-k {s.keyword!r}"])
        )
        workers = "serial" if s.workers == 0 else f"-n {s.workers}"
        before = f"vs {s.compare_to}" if s.compare_to else "baseline"
        print(f"{s.name:14} {workers:9} {selection or 'all tests':22} {before:18} {s.description}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths or [args.results or "results"]]
    for path in paths:
        if not path.exists():
            raise UsageError(f"results path {str(path)!r} does not exist; run `benchlib run` first")
    out = Path(args.out) if args.out else (paths[0] if paths[0].is_dir() else paths[0].parent)
    _summarize(paths, out)
    return 0


def _summarize(paths: Sequence[Path], out: Path) -> None:
    from benchlib import report, summary

    s = summary.summarize(paths)
    for skipped in s.skipped:
        print(f"benchlib: warning: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    written = report.write_outputs(s, out)
    print(report.render_table(s))
    print("wrote " + ", ".join(str(p) for p in written))


def cmd_compare(args: argparse.Namespace) -> int:
    from benchlib import compare, report, resultset

    try:
        threshold = compare.parse_threshold(args.threshold)
    except ValueError as exc:
        raise UsageError(f"--threshold: {exc}") from None
    sides = []
    for folder in (args.base, args.current):
        if not Path(folder).is_dir():
            raise UsageError(f"{folder!r} is not a folder of result files")
        loaded = resultset.load([Path(folder)])
        for bad in loaded.skipped:
            print(f"benchlib: warning: skipped {bad.path}: {bad.reason}", file=sys.stderr)
        if not loaded.runs:
            raise UsageError(f"no result files in {folder!r}; give a folder `benchlib run` wrote")
        sides.append(loaded.results)
    # Budgets are the limits recorded in the current runs: no configuration is read.
    try:
        gate = compare.compare(sides[0], sides[1], threshold=threshold)
    except compare.NothingInCommon as exc:
        raise UsageError(str(exc)) from None
    print(report.render_gate(gate))
    return compare.exit_code(gate)


def cmd_init(args: argparse.Namespace) -> int:
    from benchlib import scaffold

    for line in scaffold.init(Path(args.target)):
        print(line)
    return 0


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        default=".",
        metavar="DIR",
        help="root of the project whose tests to bench; its pyproject.toml may hold "
        "[tool.benchlib] (default: the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchlib",
        description="Measure ways of running a pytest suite (serial, -m lanes, xdist) and "
        "report which is faster, with evidence.",
    )
    parser.add_argument("--version", action="version", version=f"benchlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run strategies and write one result file per run",
        description="Run each strategy (all of them when none is named) and write one "
        "result file per run into the results folder.",
    )
    run.add_argument("strategies", nargs="*", metavar="STRATEGY", help="names from `benchlib list`")
    _add_target(run)
    run.add_argument("--results", metavar="DIR", help="where result files go (default: results)")
    run.add_argument("--python", metavar="PY", help="the Python that runs the target's tests")
    run.add_argument("--workers", type=int, metavar="N", help="override xdist workers (0: serial)")
    run.add_argument("--timeout", type=float, metavar="S", help="stop a run after S seconds")
    run.add_argument("--interval", type=float, metavar="S", help="sampling interval (0.1)")
    run.add_argument("--show-output", action="store_true", help="stream pytest's output too")
    run.add_argument(
        "--repeat",
        type=_repeat,
        default=1,
        metavar="N|auto",
        help="measured rounds; auto: until each comparison's 95%% interval is narrow enough "
        "or --budget is spent (default: 1)",
    )
    run.add_argument("--warmup", type=int, default=0, metavar="K", help="rounds left out of stats")
    run.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET_S, metavar="S", help="time for --repeat auto"
    )
    run.add_argument(
        "--width",
        type=float,
        default=stats.STOP_WIDTH,
        metavar="W",
        help="--repeat auto stops when every interval is narrower than W (relative)",
    )
    run.add_argument(
        "--summary", action="store_true", help="then summarize this bench's runs into summary.md"
    )
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list the strategies", description="List the strategies.")
    _add_target(lst)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=cmd_list)

    summ = sub.add_parser(
        "summary",
        help="merge result files into summary.md and summary.json",
        description="Merge result files (folders are searched recursively, e.g. downloaded CI "
        "artifacts) into the report: baseline, before/after per strategy, recommendation.",
    )
    summ.add_argument("paths", nargs="*", metavar="PATH", help="result files or folders")
    summ.add_argument("--results", metavar="DIR", help="the results folder (default: results)")
    summ.add_argument("--out", metavar="DIR", help="where summary.md/json go (default: results)")
    summ.set_defaults(func=cmd_summary)

    cmp = sub.add_parser(
        "compare",
        help="regression gate: compare two result sets",
        description="Compare two result sets strategy by strategy; exit 1 if any is "
        "significantly slower by more than the threshold or breaks a budget.",
    )
    cmp.add_argument("base", metavar="BASE_DIR")
    cmp.add_argument("current", metavar="CURRENT_DIR")
    cmp.add_argument("--threshold", default="10%", help="allowed slowdown (default: 10%%)")
    _add_target(cmp)
    cmp.set_defaults(func=cmd_compare)

    init = sub.add_parser(
        "init",
        help="add [tool.benchlib] and a noxfile to a project",
        description="Add a [tool.benchlib] section and a noxfile.py to a project that has "
        "none. Existing files are never overwritten.",
    )
    _add_target(init)
    init.set_defaults(func=cmd_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"benchlib: error: {exc}", file=sys.stderr)
        return 2
    except running.Interrupted as exc:
        print(f"\nbenchlib: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nbenchlib: interrupted", file=sys.stderr)
        return 130
