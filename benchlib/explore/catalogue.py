"""The catalogue: every acceleration explore may try, when it applies, and where it comes from.

`benchlib explore`: known accelerations tried safely on a project, ending in a change. The
package: catalogue (what may be tried, and why) -> facts (what the project's pytest loads) ->
candidates (the levers that apply, as strategies) -> preflight (each starts and selects the
same tests) -> race (paired rounds against the configured lane, within a budget) -> safety
(same outcomes, same coverage, the same work) -> writeout (explore.md, a patch, TOML).

One table, rendered into docs/explore.md (tests/test_explore.py checks they agree). A lever is
data: the candidates module decides from the project's facts which apply and builds the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["workers", "coverage", "plugins", "capture", "gc"]


@dataclass(frozen=True)
class Lever:
    """One known acceleration: a row of the catalogue."""

    name: str
    family: Family  # levers of one family exclude each other; winners of different ones combine
    applies: str  # when explore tries it
    change: str  # what it adds: arguments, environment, ini, a conftest hook
    risk: str  # what it may break, and how explore checks it
    source: str  # the public evidence it rests on


CATALOGUE: tuple[Lever, ...] = (
    Lever(
        "xdist-workers", "workers",
        "pytest-xdist is installed in the project's interpreter",
        "`-n N` for N = the usable CPUs and twice that (more workers than CPUs pays where tests "
        "wait on I/O); serial (`-p no:xdist` is never needed: no `-n 0` where xdist is not "
        "loaded) when the lane is parallel",
        "tests sharing state or ports fail or flake in parallel: outcomes are compared per test",
        "machwave #388 (worker table, plateau at the longest chain); dspy #10162 (more workers "
        "than CPUs for I/O-bound suites); alphagov #4567 (`-n auto` chose 1 worker, `-n "
        "logical` 2)",
    ),
    Lever(
        "xdist-dist", "workers",
        "pytest-xdist is installed; tried at the usable CPUs",
        "`--dist worksteal` or `--dist loadfile` instead of `load`",
        "loadfile keeps a module on one worker (slower with one long module); outcomes compared",
        "synthorg #750 and daiv #1425 (`--dist worksteal` -20 to -26%)",
    ),
    Lever(
        "coverage-core", "coverage",
        "coverage is measured (`--cov`, `coverage run`) and coverage's own rules allow the core: "
        "sysmon on Python >= 3.12 without branch coverage, >= 3.14 with it (coverage falls back "
        "to its tracer with a warning otherwise), no dynamic contexts, no gevent/eventlet/"
        "greenlet; ctrace where the lane runs the Python tracer (COVERAGE_CORE=pytrace, timid)",
        "`COVERAGE_CORE=sysmon` (or `ctrace`); in the patch `[tool.coverage.run] core = ...`",
        "coverage may differ by a line (sysmon sees some lines differently): coverage is "
        "compared per file and line within a stated tolerance; a warning that the core was "
        "ignored is reported as 'did not take effect'",
        "Pillow #7820 (sysmon -26%); strands-labs/robots #3149 (567 -> 347 s, one line of "
        "coverage differs); coveragepy #1724 (1.6x slower with branch coverage on an early core)",
    ),
    Lever(
        "autoload-off", "plugins",
        "plugin autoload is on and third-party plugins load",
        "`PYTEST_DISABLE_PLUGIN_AUTOLOAD=1` with `-p MODULE` for each plugin the lane needs "
        "(xdist when parallel, pytest-cov when coverage is measured, any named in the arguments)",
        "a fixture or marker of a plugin left out is missing: outcomes are compared per test",
        "anyio's CI (runs with autoload off); pytest docs, 'Plugin discovery at tool startup'",
    ),
    Lever(
        "unused-plugins-off", "plugins",
        "third-party plugins load that the lane does not need",
        "`-p no:NAME` for each, every NAME checked to name a plugin that loaded",
        "a plugin the suite does use is switched off: outcomes compared; a test whose duration "
        "collapses marks the gain suspect",
        "PostHog #69941 (`-p no:NAME` that silently matched no plugin)",
    ),
    Lever(
        "capture-sys", "capture",
        "the lane captures at file-descriptor level (pytest's default `--capture=fd`)",
        "`--capture=sys`",
        "output written by C code or subprocesses is no longer captured (shows in the log)",
        "pypa/packaging #1389 (`--capture=sys` and `-p no:logging`: 16.5 -> 11.6 s, 62,000 tests)",
    ),
    Lever(
        "logging-off", "capture",
        "pytest's logging plugin is loaded",
        "`-p no:logging` (no caplog, no log capture per test)",
        "tests using `caplog` error: outcomes compared per test",
        "pypa/packaging #1389",
    ),
    Lever(
        "gc-freeze", "gc",
        "always (Python >= 3.7): the collected test items live for the whole session",
        "a conftest.py hook: `gc.freeze()` at `pytest_collection_finish`",
        "none known for results; memory freed at the end instead of during the run",
        "pypa/packaging #1385 (-9 to -11% of process wall, invisible in pytest's printed time)",
    ),
)  # fmt: skip

BY_NAME: dict[str, Lever] = {lever.name: lever for lever in CATALOGUE}


def markdown_table() -> str:
    """Render the catalogue as the Markdown table docs/explore.md carries."""
    rows = ["| lever | applies when | the change | risk (and the check) | source |"]
    rows.append("|---|---|---|---|---|")
    for lever in CATALOGUE:
        cells = (lever.name, lever.applies, lever.change, lever.risk, lever.source)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
