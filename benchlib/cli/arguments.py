"""The command line's grammar: commands, options, and the checks of each option's value.

A value that is not valid is refused here, in one line, before anything runs.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Literal, NoReturn

from benchlib import __version__, stats
from benchlib.errors import one_line
from benchlib.plan.config import INTERVAL_RANGE_S, MAX_SECONDS
from benchlib.plan.strategy import CROWDED, MAX_WORKERS


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


SECONDS = _number(0, inclusive=False, whole=False, high=MAX_SECONDS)
COUNT = _number(0, inclusive=True, whole=True)
INTERVAL = _number(INTERVAL_RANGE_S[0], inclusive=True, whole=False, high=INTERVAL_RANGE_S[1])
WORKERS = _number(0, inclusive=True, whole=True, high=MAX_WORKERS)


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


def _shard(text: str) -> tuple[int, int]:
    i, _, k = text.partition("/")
    if not (i.isdigit() and k.isdigit() and 1 <= int(i) <= int(k)):
        raise argparse.ArgumentTypeError(f"{text!r} is not valid; give I/K with 1 <= I <= K")
    return int(i), int(k)


def _shards(text: str) -> int:
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid; give a whole number >= 2")
    return int(text)


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


def _add_bench_options(p: argparse.ArgumentParser, *, settle: bool = False) -> None:
    """Add the options of every command that runs the suite: where, how long, how often.

    settle: `run`'s defaults, which give a 95% interval where differences are large: a
    warm-up round, then rounds until the intervals are narrow, within a budget sized to the
    suite. scan multiplies every round by its variants, and keeps one round by default.
    """
    _add_target(p)
    p.add_argument(
        "--results", metavar="DIR", help="where result files go (default: the target's results/)"
    )
    p.add_argument("--python", metavar="PY", help="the Python that runs the target's tests")
    p.add_argument("--timeout", type=SECONDS, metavar="S", help="stop a run after S seconds")
    p.add_argument(
        "--interval", type=INTERVAL, metavar="S",
        help=f"sampling interval in seconds, {INTERVAL_RANGE_S[0]:g} to {INTERVAL_RANGE_S[1]:g} "
        "(default: 0.1)",
    )  # fmt: skip
    p.add_argument("--show-output", action="store_true", help="stream pytest's output too")
    p.add_argument(
        "--repeat",
        type=_repeat,
        default=None if settle else 1,
        metavar="N|auto",
        help="measured rounds; auto: at least 4 (a 95%% interval), then until each "
        "comparison's interval is narrower than --width or --budget is spent "
        f"(default: {'auto' if settle else 1})",
    )
    p.add_argument(
        "--warmup", type=COUNT, default=1 if settle else 0, metavar="K",
        help=f"rounds run first and left out of the statistics (default: {1 if settle else 0})",
    )  # fmt: skip
    sized = "sized to the suite, at most 1800" if settle else "1800"
    p.add_argument(
        "--budget", type=SECONDS, default=None if settle else 1800.0, metavar="S",
        help=f"seconds --repeat auto may spend (default: {sized})",
    )  # fmt: skip
    p.add_argument(
        "--width",
        type=SECONDS,
        default=stats.STOP_WIDTH,
        metavar="W",
        help="--repeat auto stops when every interval is narrower than W (relative)",
    )


def _memory_budget(text: str) -> int | Literal["auto"]:
    from benchlib.plan.scanplan import (
        parse_memory_budget,  # the bench machinery: only scan needs it
    )

    return parse_memory_budget(text)


def _add_scan(sub: argparse._SubParsersAction[_Parser]) -> None:
    """Add `benchlib scan` and its axes."""
    scan = sub.add_parser(
        "scan",
        help="find the fastest way to run one strategy: workers, --dist modes, other axes",
        description="Run a strategy's variants (worker counts, --dist modes, environment "
        "variables, argument sets) round-robin, fit the scaling curve, simulate larger "
        "machines, and recommend one variant with its interval.",
    )
    scan.add_argument("strategy", metavar="STRATEGY", help="a name from `benchlib list`")
    _add_bench_options(scan)
    scan.add_argument(
        "--workers", dest="workers_axis", metavar="LIST|RANGE",
        help="worker counts: 0,1,2,4 or 0..auto or ..2*auto (default: 0, 1, 2, 4 ... 2*auto); "
        f"each 0 to {MAX_WORKERS}, more than {CROWDED} a usable CPU warns",
    )  # fmt: skip
    scan.add_argument("--dist", metavar="MODES", help="xdist modes, e.g. load,worksteal")
    scan.add_argument(
        "--axis", action="append", default=[], metavar="AXIS",
        help="another axis: env:NAME=A,B  'args:ALT|ALT'  coverage  autoload[:PLUGIN,...]",
    )  # fmt: skip
    scan.add_argument(
        "--memory-budget", type=_memory_budget, metavar="BYTES|auto",
        help="recommend no more workers than fit this memory (4GiB, 512M; auto: the machine's)",
    )  # fmt: skip
    scan.add_argument(
        "--rule", choices=("fewest-within-noise", "fastest"), default="fewest-within-noise",
        help="the fewest workers shown (95%% interval) to be within the noise floor of the "
        "fastest variant (default), or the fastest",
    )  # fmt: skip
    scan.add_argument("--json", action="store_true", help="print scan.json's shape on stdout")


def _add_explore(sub: argparse._SubParsersAction[_Parser]) -> None:
    """Add `benchlib explore`: the catalogue's levers raced against one strategy."""
    ex = sub.add_parser(
        "explore",
        help="try the known accelerations that apply (workers, coverage core, plugins, ...)",
        description="Race the catalogue's levers that apply to a strategy (default: ci, else "
        "gate) in paired rounds against it, within a budget; write explore.md, a patch and "
        "strategies.toml. See docs/explore.md.",
    )
    ex.add_argument("strategy", nargs="?", metavar="STRATEGY", help="a name from `benchlib list`")
    _add_target(ex)
    ex.add_argument("--results", metavar="DIR", help="where results go (default: results/)")
    ex.add_argument("--python", metavar="PY", help="the Python that runs the target's tests")
    ex.add_argument("--timeout", type=SECONDS, metavar="S", help="stop a run after S seconds")
    ex.add_argument("--interval", type=SECONDS, metavar="S", help="sampling interval (0.1)")
    ex.add_argument("--show-output", action="store_true", help="stream pytest's output too")
    ex.add_argument(
        "--budget", type=SECONDS, metavar="MINUTES",
        help="time for the race (default: 40 runs of the lane, between 2 and 60 minutes)",
    )  # fmt: skip
    ex.add_argument("--apply", action="store_true", help="apply the patch to the project's files")


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
    _add_bench_options(run, settle=True)
    run.add_argument(
        "--workers", type=WORKERS, metavar="N",
        help=f"override xdist workers: 0 (serial) to {MAX_WORKERS}; more than {CROWDED} a "
        "usable CPU warns",
    )  # fmt: skip
    run.add_argument(
        "--summary", action="store_true", help="then summarize this bench's runs into summary.md"
    )
    run.add_argument("--shard", type=_shard, metavar="I/K", help="run shard I of K (a CI job)")
    run.add_argument(
        "--pair", action="append", default=[], metavar="NAME|auto",
        help="also run NAME (auto: compare_to) round-robin here, for ratios on one machine",
    )  # fmt: skip
    run.add_argument(
        "--base", metavar="DIR",
        help="also bench the checkout in DIR (a pull request's base), interleaved with the "
        "target round by round and paired with it, for `benchlib compare`",
    )  # fmt: skip
    run.add_argument(
        "--base-results", metavar="DIR", help="--base's results (default: DIR/results)"
    )
    run.add_argument("--base-python", metavar="PY", help="the Python of --base (default: --python)")
    run.add_argument(
        "--durations", metavar="DIR",
        help="split shards by the baseline run in DIR (default: the results folder)",
    )  # fmt: skip

    _add_scan(sub)
    _add_explore(sub)

    lst = sub.add_parser("list", help="list the strategies", description="List the strategies.")
    _add_target(lst)
    lst.add_argument("--python", metavar="PY", help="the Python that runs the target's tests")
    lst.add_argument("--json", action="store_true", help="machine-readable output")

    summ = sub.add_parser(
        "summary",
        help="merge result files into summary.md and summary.json",
        description="Merge result files (folders are searched recursively, e.g. downloaded CI "
        "artifacts) into the report: baseline, before/after per strategy, recommendation.",
    )
    summ.add_argument("paths", nargs="*", metavar="PATH", help="result files or folders")
    summ.add_argument("--results", metavar="DIR", help="the results folder (default: results)")
    summ.add_argument("--out", metavar="DIR", help="where summary.md/json go (default: results)")

    cmp = sub.add_parser(
        "compare",
        help="regression gate: compare two result sets",
        description="Compare two result sets strategy by strategy; exit 1 if any is "
        "significantly slower by more than the threshold or breaks a budget; exit 3 if a "
        "strategy whose runs count in base has none that counts in current (a result file "
        "missing, unreadable, of a newer format, or a run that timed out).",
    )
    cmp.add_argument("base", metavar="BASE_DIR")
    cmp.add_argument("current", metavar="CURRENT_DIR")
    cmp.add_argument("--threshold", default="10%", help="allowed slowdown (default: 10%%)")
    cmp.add_argument(
        "--allow-missing", action="append", default=[], metavar="NAME",
        help="strategy NAME may be missing from current (repeatable): warn, do not fail",
    )  # fmt: skip

    trc = sub.add_parser("trace", help="write a run's trace for Perfetto or chrome://tracing")
    trc.add_argument("result", metavar="RESULT_FILE")
    trc.add_argument("--out", metavar="PATH", help="default: RUNID.trace.json beside it")

    exp = sub.add_parser(
        "export",
        help="write the baseline's timings for other CI engines",
        description="From the newest baseline run in a results folder, write pytest-split's "
        ".test_durations, JUnit XML with per-test times and files (CircleCI, Buildkite, "
        "GitLab), and with --shards K the shard plan: one file of node ids per shard.",
    )
    exp.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR")
    exp.add_argument("--out", metavar="DIR", help="where the files go (default: RESULTS_DIR)")
    exp.add_argument("--shards", type=_shards, metavar="K", help="also write a K-shard plan")

    init = sub.add_parser(
        "init",
        help="add [tool.benchlib] and a noxfile to a project",
        description="Add a [tool.benchlib] section and a noxfile.py to a project that has "
        "none. Existing files are never overwritten.",
    )
    _add_target(init)
    init.add_argument(
        "--python", metavar="PY", help="the Python that runs the target's tests (default: found)"
    )
    init.add_argument(
        "--benchlib",
        metavar="SPEC",
        help="where the noxfile installs benchlib from: a path, a git URL or a requirement "
        "(default: this benchlib's origin, never an absolute path of this machine)",
    )
    init.add_argument(
        "--ci", action="store_true",
        help=".github/workflows/benchlib-gate.yml too: pull requests benched against their base",
    )  # fmt: skip
    return parser
