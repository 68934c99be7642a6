"""The `benchlib` command: wires configuration, runs, summaries and comparisons together.

The only place that prints for the user and turns errors into exit codes: 2 for bad input,
130 for an interruption, otherwise the command's own code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from benchlib import __version__, config, stats
from benchlib.errors import BenchlibError, InputError, one_line

UsageError = BenchlibError  # the summary and compare commands' errors

if TYPE_CHECKING:
    from benchlib import bench, machine


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
    from benchlib.running import become_subreaper

    cfg = config.load(Path(args.target))
    plans = _plans(args, cfg)
    for warning in config.unregistered_markers(cfg, [p.strategy.name for p in plans]):
        _warn(warning)
    become_subreaper()  # this process only runs benches: it may adopt the tree's orphans
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
    from benchlib import report, summary

    s = summary.summarize(paths)
    for skipped in s.skipped:
        print(f"benchlib: warning: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    if not s.runs:
        # As compare says: an empty report would pass for a summary of nothing in CI.
        where = ", ".join(repr(str(p)) for p in paths)
        raise UsageError(
            f"no result files in {where}; give the files or folders `benchlib run` wrote"
        )
    written = report.write_outputs(s, out, note=_warn)
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


def cmd_trace(args: argparse.Namespace) -> int:
    from benchlib import results, trace

    try:
        result = results.load(Path(args.result))
    except results.ResultError as exc:
        raise UsageError(f"{exc}; give a result file `benchlib run` wrote") from None
    out = Path(args.out) if args.out else trace.path_for(Path(args.result))
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: its folder does not exist")
    results.write_atomic(out, trace.dumps(result))
    print(f"wrote {out} (open it in https://ui.perfetto.dev or chrome://tracing)")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from benchlib import scaffold

    for line in scaffold.init(Path(args.target)):
        print(line)
    return 0


def _number(
    low: float, *, inclusive: bool, whole: bool, high: float = math.inf
) -> Callable[[str], float]:
    """Return an argparse type for a finite number above low (or at it, if inclusive)."""
    bound = f">= {low:g}" if inclusive else f"> {low:g}"
    bound += f" and <= {high:g}" if high < math.inf else ""
    kind = "a whole number" if whole else "a number"

    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = math.nan
        low_ok = value > low or (inclusive and value == low)
        if not (math.isfinite(value) and low_ok and value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is not valid; give {kind} {bound}")
        return value

    return parse


SECONDS = _number(0, inclusive=False, whole=False, high=config.MAX_SECONDS)
COUNT = _number(0, inclusive=True, whole=True)


def _repeat(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not valid; give a whole number >= 1, or auto"
        )
    return n


class _Parser(argparse.ArgumentParser):
    """Report a bad argument in one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        default=".",
        metavar="DIR",
        help="root of the project whose tests to bench; its pyproject.toml may hold "
        "[tool.benchlib] (default: the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="benchlib",
        description="Measure ways of running a pytest suite (serial, -m lanes, xdist) and "
        "report which is faster, with evidence.",
    )
    parser.add_argument("--version", action="version", version=f"benchlib {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    run = sub.add_parser(
        "run",
        help="run strategies and write one result file per run",
        description="Run each strategy (all of them when none is named) and write one "
        "result file per run into the results folder.",
    )
    run.add_argument("strategies", nargs="*", metavar="STRATEGY", help="names from `benchlib list`")
    _add_target(run)
    run.add_argument(
        "--results", metavar="DIR", help="where result files go (default: the target's results/)"
    )
    run.add_argument("--python", metavar="PY", help="the Python that runs the target's tests")
    run.add_argument(
        "--workers", type=COUNT, metavar="N", help="override xdist workers (0: serial)"
    )
    run.add_argument("--timeout", type=SECONDS, metavar="S", help="stop a run after S seconds")
    run.add_argument("--interval", type=SECONDS, metavar="S", help="sampling interval (0.1)")
    run.add_argument("--show-output", action="store_true", help="stream pytest's output too")
    run.add_argument(
        "--repeat",
        type=_repeat,
        default=1,
        metavar="N|auto",
        help="measured rounds; auto: until each comparison's 95%% interval is narrow enough "
        "or --budget is spent (default: 1)",
    )
    run.add_argument(
        "--warmup", type=COUNT, default=0, metavar="K", help="rounds left out of stats"
    )
    run.add_argument(
        "--budget", type=SECONDS, default=1800.0, metavar="S", help="time for --repeat auto"
    )
    run.add_argument(
        "--width",
        type=SECONDS,
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
    cmp.set_defaults(func=cmd_compare)

    trc = sub.add_parser("trace", help="write a run's trace for Perfetto or chrome://tracing")
    trc.add_argument("result", metavar="RESULT_FILE")
    trc.add_argument("--out", metavar="PATH", help="default: RUNID.trace.json beside it")
    trc.set_defaults(func=cmd_trace)

    init = sub.add_parser(
        "init",
        help="add [tool.benchlib] and a noxfile to a project",
        description="Add a [tool.benchlib] section and a noxfile.py to a project that has "
        "none. Existing files are never overwritten.",
    )
    _add_target(init)
    init.set_defaults(func=cmd_init)
    return parser


POSITIONAL = frozenset({"strategy"})  # inputs given without a flag


def _message(exc: BenchlibError) -> str:
    """Word an error for this command line: an input is named by its option."""
    if isinstance(exc, InputError):
        name = exc.what if exc.what in POSITIONAL else f"--{exc.what}"
        return one_line(f"{name} {exc.value!r} {exc.problem}; {exc.fix}")
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
