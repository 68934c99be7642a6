"""The `benchlib` command: wires configuration, runs, summaries and comparisons together.

The only place that prints for the user and turns errors into exit codes: 2 for bad input,
130 for an interruption, otherwise the command's own code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from benchlib import __version__, cliargs, config
from benchlib.cliargs import COUNT, Parser, add_bench_options, add_target
from benchlib.errors import BenchlibError, InputError

UsageError = BenchlibError  # the summary and compare commands' errors

if TYPE_CHECKING:
    from benchlib import bench, machine, scan, summary


def _results_dir(args: argparse.Namespace, cfg: config.Config) -> Path:
    """Return the results folder: --results relative to here, else the config's (target's)."""
    return Path(args.results).resolve() if args.results else cfg.results


def _interpreter(args: argparse.Namespace, cfg: config.Config) -> machine.Interpreter:
    from benchlib import machine

    python = args.python or cfg.python
    if python and ("/" in python or "\\" in python) and not args.python:
        python = str(cfg.target / python)  # in the config: relative to the target
    return machine.probe(python or sys.executable, cfg.target)


def _names(requested: Sequence[str], cfg: config.Config) -> list[str]:
    for name in requested:
        if name not in cfg.strategies:
            raise InputError(
                "strategy", name, "is not configured",
                f"use one of: {', '.join(cfg.strategies)} (`benchlib list` shows them)",
            )  # fmt: skip
    return list(dict.fromkeys(requested)) or list(cfg.strategies)


def check_results_dir(path: Path) -> None:
    """Make the results folder, or raise InputError naming it."""
    try:
        (path / "logs").mkdir(parents=True, exist_ok=True)
        probe = path / ".benchlib-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InputError(
            "results", str(path), f"is not writable ({exc.strerror})", "give a folder you can write"
        ) from None


def _plans(args: argparse.Namespace, cfg: config.Config) -> list[bench.RunPlan]:
    from benchlib import bench
    from benchlib.machine import usable_cpus
    from benchlib.strategy import resolve_workers

    interpreter = _interpreter(args, cfg)
    results_dir = _results_dir(args, cfg)
    check_results_dir(results_dir)
    plans = []
    for name in _names(args.strategies, cfg):
        s = cfg.strategies[name]
        workers = (
            args.workers if args.workers is not None else resolve_workers(s.workers, usable_cpus())
        )
        if workers > 0 and interpreter.xdist is None:
            raise InputError(
                "python", interpreter.path,
                f"has no pytest-xdist, which strategy {name!r} needs for {workers} workers",
                f"install it there ({interpreter.path} -m pip install pytest-xdist) "
                "or pass --workers 0",
            )  # fmt: skip
        plans.append(
            bench.RunPlan(
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
    from benchlib import bench
    from benchlib.progress import Display  # it imports the summary: only `run` needs it

    cfg = config.load(Path(args.target))
    plans = _plans(args, cfg)
    for warning in config.unregistered_markers(cfg, [p.strategy.name for p in plans]):
        _warn(warning)
    schedule = bench.Schedule(args.repeat, args.warmup, args.budget, args.width)
    done = bench.bench(plans, schedule, Display(sys.stderr))
    if args.summary:
        # The whole folder, not only this bench's runs: never replace a fuller report.
        _summarize([plans[0].results_dir], plans[0].results_dir)
    return 0 if done.all_completed else 1


def _warn(text: str) -> None:
    print(f"benchlib: warning: {text}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    from benchlib.strategy import selection_text

    cfg = config.load(Path(args.target))
    if args.json:
        rows = [
            {**dataclasses.asdict(s), "session": f"bench-{s.name}"} for s in cfg.strategies.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = [("strategy", "workers", "selects", "compared to", "timeout", "description")]
    for s in cfg.strategies.values():
        workers = (
            "serial"
            if s.workers == 0
            else f"-n {s.workers}" + (f" --dist {s.dist}" if s.dist else "")
        )
        timeout = f"{s.timeout_s or cfg.timeout_s:g}s"
        paths = s.paths or cfg.paths
        selects = selection_text(dataclasses.replace(s, paths=paths))
        table.append(
            (s.name, workers, selects, s.compare_to or "(baseline)", timeout, s.description)
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
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
    from benchlib import resultset, scan, summary

    rs = resultset.load(paths)
    scans = scan.analyze(rs)
    s = summary.build(rs)
    _write(s, scans, out, scans[0] if len(scans) == 1 else None, sys.stdout, table=True)


def _write(
    s: summary.Summary, scans: Sequence[scan.ScanResult], out: Path,
    scan_file: scan.ScanResult | None, stream: TextIO, *, table: bool,
) -> None:  # fmt: skip
    from benchlib import report

    for skipped in s.skipped:
        print(f"benchlib: warning: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    written = report.write_outputs(s, out, scans=scans, scan_file=scan_file)
    if table:  # a scan prints its own table: one line per variant, not the lane report's
        print(report.render_table(s), file=stream)
    print("wrote " + ", ".join(str(p) for p in written), file=stream)


def cmd_scan(args: argparse.Namespace) -> int:
    from benchlib import bench, resultset, scan, scanjson, scanplan, scanreport, summary
    from benchlib.machine import usable_cpus
    from benchlib.progress import Display

    cfg = config.load(Path(args.target))
    args.strategies, args.workers = [args.strategy], None
    (base,) = _plans(args, cfg)
    grid = scanplan.grid(args.workers_axis, args.dist, args.axis, base.interpreter, usable_cpus())
    for note in grid.notes:
        _warn(note)
    found = scanplan.variants(base.strategy, grid, usable_cpus())
    scanplan.check_xdist(found, base.interpreter)
    schedule = bench.Schedule(args.repeat, args.warmup, args.budget, args.width)
    t0 = time.monotonic()
    done = bench.bench(scanplan.plans(base, found), schedule, Display(sys.stderr))
    t1 = time.monotonic()
    rs = resultset.load([base.results_dir])
    scans = scan.analyze(rs, rule=args.rule, memory_budget=args.memory_budget)
    split = scan.time_split(done.results, t1 - t0, time.monotonic() - t1)
    scans = tuple(
        dataclasses.replace(x, stopped=done.stopped, time=split) if x.strategy == args.strategy
        else x for x in scans
    )  # fmt: skip
    mine = next(x for x in scans if x.strategy == args.strategy)
    stream = sys.stderr if args.json else sys.stdout
    _write(summary.build(rs), scans, base.results_dir, mine, stream, table=False)
    print(scanreport.render_table(mine), file=stream, end="")
    for m in mine.mismatches:
        tests = f"{m.count} test{'s' if m.count != 1 else ''}"
        _warn(f"MISMATCH: {m.variant} ended {tests} differently from {m.against}")
    if args.json:
        print(scanjson.render(mine), end="")
    return 0 if done.all_completed else 1


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


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="benchlib",
        description="Measure ways of running a pytest suite (serial, -m lanes, xdist) and "
        "report which is faster, with evidence.",
    )
    parser.add_argument("--version", action="version", version=f"benchlib {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )

    run = sub.add_parser(
        "run",
        help="run strategies and write one result file per run",
        description="Run each strategy (all of them when none is named) and write one "
        "result file per run into the results folder.",
    )
    run.add_argument("strategies", nargs="*", metavar="STRATEGY", help="names from `benchlib list`")
    add_bench_options(run)
    run.add_argument(
        "--workers", type=COUNT, metavar="N", help="override xdist workers (0: serial)"
    )
    run.add_argument(
        "--summary", action="store_true", help="then summarize this bench's runs into summary.md"
    )
    run.set_defaults(func=cmd_run)
    cliargs.add_scan(sub, cmd_scan)

    lst = sub.add_parser("list", help="list the strategies", description="List the strategies.")
    add_target(lst)
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
    cmp.set_defaults(func=cmd_compare)

    init = sub.add_parser(
        "init",
        help="add [tool.benchlib] and a noxfile to a project",
        description="Add a [tool.benchlib] section and a noxfile.py to a project that has "
        "none. Existing files are never overwritten.",
    )
    add_target(init)
    init.set_defaults(func=cmd_init)
    return parser


POSITIONAL = frozenset({"strategy"})  # inputs given without a flag


def _message(exc: BenchlibError) -> str:
    """Word an error for this command line: an input is named by its option."""
    if isinstance(exc, InputError):
        name = exc.what if exc.what in POSITIONAL else f"--{exc.what}"
        return f"{name} {exc.value!r} {exc.problem}; {exc.fix}"
    return exc.message


def main(argv: Sequence[str] | None = None) -> int:
    # Inherited from `cmd &`, nohup or a supervisor, an ignored SIGINT would make Ctrl-C and
    # `kill -INT` do nothing: benchlib promises they stop the run and keep its result.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BenchlibError as exc:
        print(f"benchlib: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # bench.Interrupted is a KeyboardInterrupt raised after the run's result was saved.
        print(f"\nbenchlib: {exc or 'interrupted'}", file=sys.stderr)
        return 130
