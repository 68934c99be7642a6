"""The result file: one JSON document per measured run, versioned, written atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import orjson

from benchlib import typed

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
#    3.1: selection_sha256, the digest of the node ids a run selected.
SCHEMA_VERSION = 3
SCHEMA_MINOR = 1
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


class ResultError(Exception):
    """A result file that cannot be read: corrupt, not ours, or of an unknown version."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


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
_TEST_DEFAULTS: tuple[object, ...] = tuple(f.default for f in dataclasses.fields(TestRecord))


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
    # The selection's digest (selection_digest): runs of one strategy that selected different
    # tests time different work. None: the run never got as far as its selection (or 3.0).
    selection_sha256: str | None = None
    schema_version: int = SCHEMA_VERSION
    schema_minor: int = SCHEMA_MINOR
    format: str = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a newer minor version

    @property
    def cpu_utilization(self) -> float:
        """Return the tree's CPU time over the CPU time the usable CPUs offered."""
        offered = self.wall_s * self.machine.cpus_usable
        return (self.cpu_user_s + self.cpu_system_s) / offered if offered > 0 else 0.0


def selection_digest(nodeids: Iterable[str]) -> str:
    """Return the SHA-256 of a set of node ids, sorted, one a line (hex)."""
    return hashlib.sha256("\n".join(sorted(nodeids)).encode()).hexdigest()


def to_dict(result: RunResult) -> dict[str, Any]:
    """Return the result's JSON form, per-test records as rows (see TEST_FIELDS)."""
    data = dataclasses.asdict(dataclasses.replace(result, tests=(), extra={}))
    del data["extra"], data["outcome"]["warnings"]  # warnings: the categories' sum
    data["test_fields"] = list(TEST_FIELDS)
    data["tests"] = [record_row(t) for t in result.tests]
    return {**result.extra, **data}


def record_row(test: TestRecord) -> list[Any]:
    """Return one test as a row of TEST_FIELDS, trailing fields at their default left out."""
    row = [getattr(test, name) for name in TEST_FIELDS]
    # The type check keeps 0 (an int) from standing in for 0.0, or False for None.
    while type(row[-1]) is type(_TEST_DEFAULTS[len(row) - 1]) and (
        row[-1] == _TEST_DEFAULTS[len(row) - 1]
    ):
        row.pop()
    return row


def record_rows(data: dict[str, Any]) -> list[list[Any]]:
    """Return a checked document's per-test rows: TEST_FIELDS in order, possibly shortened.

    Rows stay lists: a summary needs only the node id (column 0) and outcome (column 1) of
    most tests, and building a TestRecord for each would cost more than parsing them.
    """
    fields = data["test_fields"]
    if not isinstance(fields, list) or fields != list(TEST_FIELDS[: len(fields)]):
        # Older versions have fewer columns (a prefix); another order is another format.
        raise ValueError(f"test_fields {fields!r} are not {list(TEST_FIELDS)!r} or a prefix")
    rows = data["tests"]
    if not isinstance(rows, list):
        raise TypeError("tests must be a JSON array of rows")
    return rows


_RUN_FIELDS = frozenset(f.name for f in dataclasses.fields(RunResult)) - {"extra"}
# Stored by version 2, computed since.
_DERIVED = frozenset({"cpu_utilization"})


def _known(cls: type[Any], data: Any) -> dict[str, Any]:
    """Return the keys of data that are fields of cls: a newer minor version's are ignored."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__.lower()} must be a JSON object")
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _timeline(data: Any) -> Timeline:
    fields = _known(Timeline, data)
    workers = fields.get("workers", ())
    fields["workers"] = tuple(WorkerTimes(**_known(WorkerTimes, w)) for w in workers)
    return Timeline(**fields)


def _array(value: Any, name: str) -> tuple[Any, ...]:
    if type(value) is not list:
        raise TypeError(f"{name} is {type(value).__name__}, not an array")
    return tuple(value)


def from_dict(data: dict[str, Any]) -> RunResult:
    """Build a result from its JSON form; raise ValueError or TypeError if malformed.

    Every field is checked against the type its dataclass declares (typed.check): what a reader
    accepts, the summary can use.
    """
    rows = record_rows(data)
    if not all(type(row) is list for row in rows):
        raise TypeError("each test must be a JSON array in the order of test_fields")
    typed.check_rows(rows, TestRecord, TEST_FIELDS)
    fields = {k: v for k, v in data.items() if k in _RUN_FIELDS}
    fields["extra"] = {
        k: v for k, v in data.items() if k not in _RUN_FIELDS | _DERIVED | {"test_fields"}
    }
    fields["tests"] = tuple(TestRecord(*row) for row in rows)
    strategy = _known(StrategyRecord, data["strategy"])
    fields["strategy"] = StrategyRecord(
        **{**strategy, "pytest_args": _array(strategy["pytest_args"], "strategy.pytest_args")}
    )
    fields["argv"] = _array(data["argv"], "argv")
    fields["target"] = Target(**_known(Target, data["target"]))
    categories = data["warning_categories"]
    outcome = _known(Counts, data["outcome"])
    fields["outcome"] = Counts(**{**outcome, "warnings": sum(categories.values())})
    samples = _known(Samples, data["samples"])
    fields["samples"] = Samples(**{k: _array(v, f"samples.{k}") for k, v in samples.items()})
    fields["machine"] = Machine(**_known(Machine, data["machine"]))
    fields["sampler"] = SamplerInfo(**_known(SamplerInfo, data["sampler"]))
    fields["timeline"] = _timeline(data.get("timeline", {}))
    fields["in_flight"] = tuple(InFlight(**_known(InFlight, f)) for f in data.get("in_flight", ()))
    fields["schema_version"] = SCHEMA_VERSION
    fields["schema_minor"] = data.get("schema_minor", 0) if data["schema_version"] == 3 else 0
    result = RunResult(**fields)
    typed.check(result, "", skip=frozenset({"tests", "extra"}))
    return result


def _json_loads(text: str | bytes) -> Any:
    """Decode JSON with orjson: 2-4x as fast as json on result files."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # json gives the message we report
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(f"not UTF-8 ({exc.reason})", "", 0) from None
    return json.loads(text)


def dumps(result: RunResult) -> str:
    """Return the file's text: indented and sorted, except one line per test row."""
    data = to_dict(result)
    rows = data["tests"]
    data["tests"] = None  # stands in for the rows below
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if rows:
        lines = ",\n  ".join(json.dumps(row, separators=(",", ":")) for row in rows)
        # Strings cannot hold a raw newline, so this top-level key occurs exactly once.
        text = text.replace('\n "tests": null', f'\n "tests": [\n  {lines}\n ]', 1)
    else:
        text = text.replace('\n "tests": null', '\n "tests": []', 1)
    return text


def parse(text: str | bytes, path: Path) -> dict[str, Any]:
    """Decode one result file's text and check its format and version; raise ResultError."""
    try:
        data = _json_loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ResultError(path, "not a benchlib result file")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS or type(version) is not int:
        raise ResultError(
            path,
            f"schema version {version!r} is not supported (this benchlib reads versions "
            f"{', '.join(map(str, sorted(READABLE_VERSIONS)))}); upgrade benchlib",
        )
    return data


def loads(text: str | bytes, path: Path) -> RunResult:
    """Parse one result file's text; raise ResultError naming the path."""
    data = parse(text, path)
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultError(path, f"malformed result ({exc})") from None


def read(path: Path) -> dict[str, Any]:
    """Read one result file as a checked dict, for readers that need only part of it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResultError(path, f"cannot read ({exc})") from None
    return parse(data, path)


def load(path: Path) -> RunResult:
    with gc_paused():
        data = read(path)
        try:
            return from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ResultError(path, f"malformed result ({exc})") from None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while reading result files.

    A file of 5,000 tests allocates 5,000 lists and as many TestRecords; every 700 allocations
    start a collection, and what survives makes the older generations' collections longer.
    None of it can be garbage: JSON holds no cycles. Measured: load_all of 200 such files took
    11.8 s with the collector on and 3.7 s with it paused; parsing alone took 2-3x as long.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_atomic(path: Path, text: str) -> None:
    """Write text so that readers see the old file or the whole new one, never a part.

    The file gets the mode every other file gets (0666 less the umask), as the logs do;
    mkstemp's 0600 would hide the results from the team that shares the folder.
    """
    tmp = str(path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp"))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(result: RunResult, results_dir: Path) -> Path:
    """Write the result under results_dir, named so that no two runs collide."""
    path = results_dir / f"{result.run_id}.json"
    write_atomic(path, dumps(result))
    return path


# Files benchlib itself writes beside the runs, which are not runs.
NOT_RUNS = frozenset({"summary.json", "compare.json"})


def find_result_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield result files: given files as they are, folders searched recursively."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*.json") if p.name not in NOT_RUNS and p.is_file()
            )
        else:
            yield path


@dataclass(frozen=True)
class Loaded:
    """Results read from a set of paths, with the files that were skipped and why."""

    results: tuple[RunResult, ...]
    skipped: tuple[ResultError, ...] = field(default=())


def load_all(paths: Iterable[Path]) -> Loaded:
    """Load every result under paths; unreadable files are skipped and reported."""
    results: list[RunResult] = []
    skipped: list[ResultError] = []
    with gc_paused():
        for path in find_result_files(paths):
            try:
                results.append(load(path))
            except ResultError as exc:
                skipped.append(exc)
    return Loaded(tuple(results), tuple(skipped))
