"""The command line's argument types and shared option groups: parsing only, nothing printed.

cli.py builds the parser from these and is still the one place that prints and exits.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

from benchlib import stats
from benchlib.scanplan import parse_memory_budget

Command = Callable[[argparse.Namespace], int]


def _number(low: float, *, inclusive: bool, whole: bool) -> Callable[[str], float]:
    """Return an argparse type for a finite number above low (or at it, if inclusive)."""
    bound = f">= {low:g}" if inclusive else f"> {low:g}"
    kind = "a whole number" if whole else "a number"

    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"{text!r} is not valid; give {kind} {bound}")
        return value

    return parse


SECONDS = _number(0, inclusive=False, whole=False)
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


class Parser(argparse.ArgumentParser):
    """Report a bad argument in one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        default=".",
        metavar="DIR",
        help="root of the project whose tests to bench; its pyproject.toml may hold "
        "[tool.benchlib] (default: the current folder)",
    )


def add_bench_options(p: argparse.ArgumentParser) -> None:
    """Add the options of every command that runs the suite: where, how long, how often."""
    add_target(p)
    p.add_argument(
        "--results", metavar="DIR", help="where result files go (default: the target's results/)"
    )
    p.add_argument("--python", metavar="PY", help="the Python that runs the target's tests")
    p.add_argument("--timeout", type=SECONDS, metavar="S", help="stop a run after S seconds")
    p.add_argument("--interval", type=SECONDS, metavar="S", help="sampling interval (0.1)")
    p.add_argument("--show-output", action="store_true", help="stream pytest's output too")
    p.add_argument(
        "--repeat",
        type=_repeat,
        default=1,
        metavar="N|auto",
        help="measured rounds; auto: until each comparison's 95%% interval is narrow enough "
        "or --budget is spent (default: 1)",
    )
    p.add_argument("--warmup", type=COUNT, default=0, metavar="K", help="rounds left out of stats")
    p.add_argument(
        "--budget", type=SECONDS, default=1800.0, metavar="S", help="time for --repeat auto"
    )
    p.add_argument(
        "--width",
        type=SECONDS,
        default=stats.STOP_WIDTH,
        metavar="W",
        help="--repeat auto stops when every interval is narrower than W (relative)",
    )


def add_scan(sub: argparse._SubParsersAction[Parser], command: Command) -> None:
    """Add `benchlib scan` and its axes."""
    scan = sub.add_parser(
        "scan",
        help="find the fastest way to run one strategy: workers, --dist modes, other axes",
        description="Run a strategy's variants (worker counts, --dist modes, environment "
        "variables, argument sets) round-robin, fit the scaling curve, simulate larger "
        "machines, and recommend one variant with its interval.",
    )
    scan.add_argument("strategy", metavar="STRATEGY", help="a name from `benchlib list`")
    add_bench_options(scan)
    scan.add_argument(
        "--workers", dest="workers_axis", metavar="LIST|RANGE",
        help="worker counts: 0,1,2,4 or 0..auto or ..2*auto (default: 0, 1, 2, 4 ... 2*auto)",
    )  # fmt: skip
    scan.add_argument("--dist", metavar="MODES", help="xdist modes, e.g. load,worksteal")
    scan.add_argument(
        "--axis", action="append", default=[], metavar="AXIS",
        help="another axis: env:NAME=A,B  'args:ALT|ALT'  coverage  autoload[:PLUGIN,...]",
    )  # fmt: skip
    scan.add_argument(
        "--memory-budget", type=parse_memory_budget, metavar="BYTES|auto",
        help="recommend no more workers than fit this memory (4GiB, 512M; auto: the machine's)",
    )  # fmt: skip
    scan.add_argument(
        "--rule", choices=("fewest-within-noise", "fastest"), default="fewest-within-noise",
        help="the fewest workers shown (95%% interval) to be within the noise floor of the "
        "fastest variant (default), or the fastest",
    )  # fmt: skip
    scan.add_argument("--json", action="store_true", help="print scan.json's shape on stdout")
    scan.set_defaults(func=command)
