"""A measured run as data: its status, outcome counts, tests, timeline and machine.

Frozen dataclasses with units in their field names. ``results`` owns how they are written to
and read from a result file (and re-exports them, so ``results.RunResult`` is the usual name).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

# Bump on any change a reader must know about, and say here what changed.
# 1: first format (benchlib 0.1, never released).
# 2: each test is a row, a JSON array of TestRecord's fields in the order "test_fields" names,
#    trailing fields at their default left out, one row a line; in 1 it was an object with all
#    nine keys, indented. Over benchmarks/summary_scale.py's 1,000 files of 5,000-5,900 tests,
#    orjson's parse fell from ~8.5 ms to ~3 ms a file and the files from 1.38 to 0.63 GiB;
#    reading them was most of a summary's time.
# 3: budgets (strategy.budgets) and the project's identity (target.project) recorded;
#    cpu_utilization and outcome.warnings are no longer stored but computed on read; keys a
#    reader does not know are kept in `extra` and ignored, so a minor version (schema_minor)
#    can add fields without breaking older readers. Version 2 files are still read.
#    3.1: `part`: the run is one part of a logical run (a CI shard, or a step of a gate made of
#    several invocations): which one, of how many, the logical run it belongs to, and the size
#    and digest of the whole selection, so that a merge can prove nothing was lost or run
#    twice. null for a whole run; absent (read as null) in 3.0 files.
#    3.2: selection_sha256, the digest of the node ids a run selected (every run, whole or
#    part): the summary warns when one strategy's runs selected different tests.
#    3.3: `load`, the machine's load during the run: the CPU time every process took on the
#    CPUs the run could use, the part benchlib and the run's tree took, and the time the
#    hypervisor stole, from /proc/stat; null where the kernel has no /proc/stat, absent (read
#    as null) before 3.3. How busy is too busy is the analysis' rule (analyze/busy.py).
#    Also in 3.3: in_flight[].phase, the phase a stopped test was in (setup, call or teardown;
#    null when pytest died before it could say), absent (read as null) before 3.3.
SCHEMA_VERSION = 3
SCHEMA_MINOR = 3
# Fields a minor version added: files of an older minor lack them, so the schema cannot
# require them (tests/test_compat.py holds the schema to this).
ADDED_IN_MINOR: dict[str, int] = {"part": 1, "selection_sha256": 2, "load": 3}
READABLE_VERSIONS = frozenset({2, 3})
FORMAT = "benchlib-run"

Status = Literal[
    "passed",  # pytest exit 0
    "tests-failed",  # 1
    "interrupted",  # 2 without collection errors, or benchlib was interrupted or killed
    "collection-error",  # 2 with errors during collection
    "internal-error",  # 3
    "usage-error",  # 4
    "no-tests",  # 5
    "timeout",  # benchlib stopped the tree at the strategy's time limit
    "killed",  # pytest ended by a signal benchlib did not send
    "crashed",  # any other exit code, or pytest never finished its session
]
STATUSES: tuple[str, ...] = get_args(Status)
# The runs that timed the suite: pytest gave its own verdict on every selected test. A timeout
# timed the limit, and an interrupted or crashed run stopped part-way.
COMPLETED: frozenset[Status] = frozenset({"passed", "tests-failed"})

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
Phase = Literal["setup", "call", "teardown", "collect"]

_EXIT_STATUS: dict[int, Status] = {
    0: "passed",
    1: "tests-failed",
    2: "interrupted",
    3: "internal-error",
    4: "usage-error",
    5: "no-tests",
}


def status_for_exit(exit_code: int, *, collection_errors: bool = False) -> Status:
    """Map a pytest exit code (negative: killed by that signal) to a status."""
    if exit_code < 0:
        return "killed"
    if exit_code == 2 and collection_errors:
        return "collection-error"  # pytest says "Interrupted: 1 error during collection"
    return _EXIT_STATUS.get(exit_code, "crashed")


@dataclass(frozen=True)
class Counts:
    """Outcome counts as pytest's terminal summary counts them."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    deselected: int = 0
    xfailed: int = 0
    xpassed: int = 0
    warnings: int = 0
    subtests_passed: int = 0  # pytest 9's subtests; failed ones count as failed


@dataclass(frozen=True)
class TestRecord:
    """One test as it ended: the first phase that did not pass decides the outcome."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: Outcome
    duration_s: float
    setup_s: float = 0.0
    call_s: float = 0.0
    teardown_s: float = 0.0
    phase: Phase | None = None  # where it failed, errored or skipped
    message: str | None = None  # first line of the error or skip reason
    worker: str | None = None  # xdist worker id ("gw0"), None when serial
    # When its setup began, in seconds from the run's start; each phase follows the last, so
    # a phase's slice of the timeline is exact in length and off by the gaps between phases
    # (microseconds). None in version 2 files and for collection errors.
    start_s: float | None = None

    @property
    def end_s(self) -> float | None:
        return None if self.start_s is None else self.start_s + self.duration_s


# The columns of a per-test row in the file: TestRecord's fields in order, so the required
# ones (nodeid, outcome, duration_s) come first and a row may stop after them.
TEST_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TestRecord))


@dataclass(frozen=True)
class StrategyRecord:
    """The strategy as it was run (after configuration and overrides)."""

    name: str
    description: str
    pytest_args: tuple[str, ...]
    workers: int  # resolved: "auto" is recorded as the number it became
    dist: str | None
    env: dict[str, str]
    compare_to: str | None
    scope: Literal["full", "subset"]
    timeout_s: float | None = None
    budgets: dict[str, float] = field(default_factory=dict)  # budgets.KINDS key -> limit


@dataclass(frozen=True)
class Target:
    """The project benched: runs of different projects are never compared silently."""

    path: str
    git_commit: str | None
    git_dirty: bool | None
    # Who the project is, whichever folder it was checked out in: the git remote's URL, else
    # the git root, else the folder. None in files before version 3 (their path stands in).
    project: str | None = None

    @property
    def identity(self) -> str:
        return self.project or self.path


@dataclass(frozen=True)
class Machine:
    """What makes two runs comparable, and the versions that ran."""

    hostname: str
    os: str
    python: str
    cpu_model: str
    cpus_logical: int
    cpus_physical: int | None
    cpus_usable: int
    memory_bytes: int
    versions: dict[str, str | None]

    def fingerprint(self) -> tuple[object, ...]:
        """Return the fields that must agree for timings to be compared.

        The host name is left out on purpose: CI runners of one class get a new name every
        job, and are as comparable as the hardware they report.
        """
        return (
            self.os,
            self.cpu_model,
            self.cpus_usable,
            self.memory_bytes,
            self.python,
        )


@dataclass(frozen=True)
class Samples:
    """A downsampled timeline of the process tree; columns of equal length."""

    t_s: tuple[float, ...] = ()
    rss_bytes: tuple[int, ...] = ()
    processes: tuple[int, ...] = ()
    cpu_s: tuple[float, ...] = ()  # cumulative sampled CPU of the live tree


@dataclass(frozen=True)
class WorkerTimes:
    """One xdist worker's fixed costs, in seconds from the run's start (None: not seen)."""

    id: str
    started_s: float | None = None  # the controller began starting its process
    configured_s: float | None = None  # its interpreter and plugins were up
    collected_s: float | None = None  # it finished collecting the suite
    ready_s: float | None = None  # the controller saw it ready


@dataclass(frozen=True)
class Timeline:
    """The run's milestones, in seconds from the run's start (None: the run never got there)."""

    session_s: float | None = None  # start-up done: plugins and conftest files loaded
    collected_s: float | None = None  # the selection known (under xdist: the first worker's)
    end_s: float | None = None  # pytest finished its session
    workers: tuple[WorkerTimes, ...] = ()


@dataclass(frozen=True)
class InFlight:
    """A test that had started and not finished when the run ended: where a hang is."""

    nodeid: str
    worker: str | None
    started_s: float  # from the run's start
    running_s: float  # how long it had run when the run ended
    phase: Phase | None = None  # the phase it was stopped in; None: pytest died, unknown


PartKind = Literal["shard", "step"]


@dataclass(frozen=True)
class Part:
    """Which part of a logical run this run was: shards run side by side, steps in turn."""

    kind: PartKind
    index: int  # from 1
    of: int
    logical_run_id: str  # shared by the parts of one logical run (and one round)
    selection_size: int  # tests in the whole logical run's selection, collected once
    selection_digest: str  # sha256 of the selection's node ids, sorted, one a line
    assigned: int | None = None  # tests given to this part by node id; None for a step
    predicted_s: float | None = None  # from the baseline's durations; None without one


@dataclass(frozen=True)
class MachineLoad:
    """What every process took of the CPUs the run could use, from the run's start to its end.

    Raw counters only (/proc/stat's, in CPU seconds): the share other processes took, and
    whether that is busy, are computed on read (analyze/busy.py), so the rule can change and old
    files be judged by it.
    """

    cpus: int  # the CPUs counted: those the run could use (its affinity)
    span_s: float  # the time between the two readings: the run's wall and its stop
    busy_cpu_s: float  # CPU time every process took on them (user, nice, system, irq)
    own_cpu_s: float  # of which benchlib and the run's tree (rusage: exact)
    steal_s: float | None  # taken by the hypervisor for other guests; None: not reported

    @property
    def others_cpu_s(self) -> float:
        """Return the CPU time processes outside benchlib and the run's tree took."""
        # /proc/stat counts in clock ticks and rusage exactly: a quiet run can come out a
        # tick or two below its own CPU time.
        return max(self.busy_cpu_s - self.own_cpu_s, 0.0)


@dataclass(frozen=True)
class SamplerInfo:
    interval_s: float
    count: int  # samples taken (before downsampling)
    mean_cost_s: float  # the sampler's own CPU time per sample


@dataclass(frozen=True)
class RunResult:
    """Everything measured about one pytest invocation of one strategy."""

    run_id: str
    strategy: StrategyRecord
    argv: tuple[str, ...]
    target: Target
    started_at: str  # UTC ISO 8601
    ended_at: str
    status: Status
    exit_code: int | None  # None when benchlib could not reap pytest
    wall_s: float
    cpu_user_s: float
    cpu_system_s: float
    cpu_source: Literal["rusage", "sampled"]  # rusage is exact; sampled misses orphans
    peak_rss_bytes: int  # sum over the tree; shared pages count once per process
    max_single_rss_bytes: int
    peak_processes: int
    workers_observed: int
    outcome: Counts
    collected: int | None
    tests: tuple[TestRecord, ...]
    warning_categories: dict[str, int]
    samples: Samples
    log_path: str
    machine: Machine
    sampler: SamplerInfo
    env: dict[str, str]  # allow-listed variables the pytest process saw
    ignored_env: dict[str, str]  # allow-listed variables benchlib removed (PYTEST_ADDOPTS)
    message: str | None = None  # why it ended, when that is not pytest's own exit
    round: int = 0  # repeat number within one bench invocation
    warmup: bool = False  # warm-up runs are kept but left out of statistics
    bench_id: str | None = None  # shared by the runs of one bench invocation
    timeline: Timeline = field(default_factory=Timeline)
    in_flight: tuple[InFlight, ...] = ()
    not_run: int = 0  # collected tests that never started (a crash, a timeout)
    part: Part | None = None  # None: a whole run, not a shard or a step
    # The selection's digest (results.selection_digest): runs of one strategy that selected
    # different tests time different work. None: the run never got its selection (before 3.2).
    selection_sha256: str | None = None
    load: MachineLoad | None = None  # None: not measured (no /proc/stat, or before 3.3)
    schema_version: int = SCHEMA_VERSION
    schema_minor: int = SCHEMA_MINOR
    format: str = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a newer minor version

    @property
    def cpu_utilization(self) -> float:
        """Return the tree's CPU time over the CPU time the usable CPUs offered."""
        offered = self.wall_s * self.machine.cpus_usable
        return (self.cpu_user_s + self.cpu_system_s) / offered if offered > 0 else 0.0
