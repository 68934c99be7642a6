"""The result file: one JSON document per measured run, versioned, written atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from benchlib.model import typed
from benchlib.model.records import (
    COMPLETED,
    FORMAT,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    STATUSES,
    TEST_FIELDS,
    Counts,
    InFlight,
    Machine,
    Outcome,
    Part,
    Phase,
    RunResult,
    SamplerInfo,
    Samples,
    Status,
    StrategyRecord,
    Target,
    TestRecord,
    Timeline,
    WorkerTimes,
    status_for_exit,
)

__all__ = [
    "COMPLETED",
    "FORMAT",
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "TEST_FIELDS",
    "Counts",
    "InFlight",
    "Machine",
    "Outcome",
    "Part",
    "Phase",
    "ResultError",
    "RunResult",
    "SamplerInfo",
    "Samples",
    "Status",
    "StrategyRecord",
    "Target",
    "TestRecord",
    "Timeline",
    "WorkerTimes",
    "dumps",
    "load",
    "load_all",
    "save",
    "selection_digest",
    "status_for_exit",
]

_TEST_DEFAULTS: tuple[object, ...] = tuple(f.default for f in dataclasses.fields(TestRecord))


class ResultError(Exception):
    """A result file that cannot be read: corrupt, not ours, or of an unknown version."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


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


# What a number read from a file may be, by field name, checked beside its type: a negative
# or unreachable time or count, read as true, was shown ("-5.00s", "-7 passed"). Times from the
# run's start (start_s, session_s) are left out: a stepped clock may put them before it.
# The longest wait a thread can be given (about 292 years), config's bound for timeout_s.
MAX_SECONDS = threading.TIMEOUT_MAX
MAX_COUNT = 2**53  # the largest whole number a JSON reader anywhere keeps exact
_SECONDS = (0.0, MAX_SECONDS, "a number of seconds")
_COUNT = (0.0, float(MAX_COUNT), "a count")
BOUNDS: typed.Bounds = {
    **dict.fromkeys(
        ("wall_s", "cpu_user_s", "cpu_system_s", "duration_s", "setup_s", "call_s",
         "teardown_s", "running_s", "interval_s", "mean_cost_s", "timeout_s", "predicted_s"),
        _SECONDS,
    ),
    **dict.fromkeys(
        (*(f.name for f in dataclasses.fields(Counts)), "workers", "peak_processes",
         "workers_observed", "collected", "not_run", "round", "count", "cpus_logical",
         "cpus_physical", "cpus_usable", "selection_size", "assigned", "peak_rss_bytes",
         "max_single_rss_bytes", "memory_bytes"),
        _COUNT,
    ),
}  # fmt: skip


def _check_times(data: dict[str, Any]) -> None:
    """Raise ValueError unless started_at and ended_at are ISO 8601 times."""
    for key in ("started_at", "ended_at"):
        try:
            datetime.fromisoformat(data[key])
        except (TypeError, ValueError):
            raise ValueError(f"{key} is {data[key]!r}, not an ISO 8601 time") from None


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
    typed.check_rows(rows, TestRecord, TEST_FIELDS, BOUNDS)
    _check_times(data)
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
    part = data.get("part")
    fields["part"] = Part(**_known(Part, part)) if part is not None else None
    fields["schema_version"] = SCHEMA_VERSION
    fields["schema_minor"] = data.get("schema_minor", 0) if data["schema_version"] == 3 else 0
    result = RunResult(**fields)
    typed.check(result, "", skip=frozenset({"tests", "extra"}), bounds=BOUNDS)
    if any(type(v) is int and v < 0 for v in result.warning_categories.values()):
        raise ValueError(f"warning_categories {result.warning_categories!r} holds a negative count")
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
    except IsADirectoryError:
        raise ResultError(path, "is a folder, not a result file") from None
    except FileNotFoundError:
        raise ResultError(path, "does not exist (a broken link?)") from None
    except OSError as exc:
        raise ResultError(path, f"cannot read ({exc.strerror})") from None
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
NOT_RUNS = frozenset({"summary.json", "compare.json", "scan.json", "project.json"})
# Each run's trace (benchlib.model.trace), written beside its result as RUNID.trace.json.
TRACE_SUFFIX = ".trace.json"


def is_result_name(name: str) -> bool:
    """Say whether a file name can be a run's result: not a summary, a gate, or a trace."""
    return name not in NOT_RUNS and not name.endswith(TRACE_SUFFIX)


def _is_run_file(path: Path) -> bool:
    # Hidden files are work in progress: a pending result, a temporary file being written.
    # A folder or a broken link named like a result is kept, to be skipped with its reason:
    # where a run's file should be, the gate must hear that it is not.
    return not path.name.startswith(".") and is_result_name(path.name)


def find_result_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield result files: given files as they are, folders searched recursively.

    Traces are left out even when named (a shell's `results/*.json` names them too).
    """
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if _is_run_file(p))
        elif not path.name.endswith(TRACE_SUFFIX):
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
