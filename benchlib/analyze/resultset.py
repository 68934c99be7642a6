"""Read many result files fast into runs whose per-test records are loaded only when asked.

A summary of 1,000 files of 5,000 tests needs each run's scalars, its node ids (what it ran)
and the few tests that did not pass; the full records of one run (the baseline's profile) and
nothing more. Reading is parallel when the files are large, and a file that cannot be used is
skipped with its reason, never raised.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from benchlib.model import results, typed
from benchlib.model.results import ResultError, RunResult, TestRecord
from benchlib.plan.machine import usable_cpus

# Reading in parallel pays only when parsing outweighs starting worker processes.
PARALLEL_MIN_BYTES = 64 * 2**20
_OUTCOMES = frozenset({"passed", "failed", "error", "skipped", "xfailed", "xpassed"})
_NUMBERS = ("wall_s", "cpu_user_s", "cpu_system_s")
_INTS = ("peak_rss_bytes", "max_single_rss_bytes", "peak_processes", "workers_observed", "round")
_STRINGS = ("run_id", "started_at", "log_path")


@dataclass(frozen=True)
class SkippedFile:
    """A result file left out, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Run:
    """One run: its scalars always in memory, its per-test records read when asked.

    `result.tests` is always empty here, whichever way the run was read; `tests()` returns the
    records, from memory or from the file. `nodeids` and `problems` are always complete.
    """

    result: RunResult  # scalars only: tests=()
    nodeids: frozenset[str]
    problems: tuple[TestRecord, ...]  # the tests that did not pass
    _tests: Callable[[], tuple[TestRecord, ...]] = field(repr=False, compare=False)
    # The whole run (tests and sampler series), for the charts of a representative run.
    _full: Callable[[], RunResult] | None = field(default=None, repr=False, compare=False)
    source: Path | None = None  # the file it was read from; None when built in memory

    def tests(self) -> tuple[TestRecord, ...]:
        """Return every per-test record; raise ResultError if the file cannot be read now."""
        return self._tests()

    def full(self) -> RunResult:
        """Return the run with its tests and samples; raise ResultError if unreadable now."""
        return self._full() if self._full else dataclasses.replace(self.result, tests=self.tests())


@dataclass(frozen=True)
class ResultSet:
    runs: tuple[Run, ...]
    skipped: tuple[SkippedFile, ...]

    @property
    def results(self) -> tuple[RunResult, ...]:
        """Return the runs' scalars (per-test records left out), for judge and the gate."""
        return tuple(r.result for r in self.runs)


def from_results(
    loaded: Iterable[RunResult], skipped: Iterable[ResultError | SkippedFile] = ()
) -> ResultSet:
    """Wrap results already in memory (from results.load_all, or built by tests)."""
    runs = tuple(_in_memory(r) for r in loaded)
    skips = tuple(
        s if isinstance(s, SkippedFile) else SkippedFile(str(s.path), s.reason) for s in skipped
    )
    return ResultSet(runs, skips)


def _in_memory(r: RunResult) -> Run:
    tests = r.tests
    problems = tuple(t for t in tests if t.outcome != "passed")
    stripped = _strip(r)
    return Run(stripped, frozenset(t.nodeid for t in tests), problems, lambda: tests, lambda: r)


def _strip(r: RunResult) -> RunResult:
    return dataclasses.replace(r, tests=()) if r.tests else r


def load(paths: Sequence[Path], *, workers: int | None = None) -> ResultSet:
    """Read every result file under paths; workers=None chooses by the files' size."""
    files = list(results.find_result_files(paths))
    n = _parallel_workers(files) if workers is None else workers
    return _assemble(_read_files(files, n))


def check(data: dict[str, Any]) -> None:
    """Raise TypeError naming the first field whose type the summary cannot use."""
    for key in _NUMBERS:
        if not _is_number(data.get(key)):
            raise TypeError(f"{key} is {data.get(key)!r}, not a number")
    for key in _INTS:
        if type(data.get(key)) is not int:
            raise TypeError(f"{key} is {data.get(key)!r}, not a whole number")
    for key in _STRINGS:
        if not isinstance(data.get(key), str):
            raise TypeError(f"{key} is {data.get(key)!r}, not a string")
    if data.get("status") not in results.STATUSES:
        raise TypeError(f"status {data.get('status')!r} is not one of {results.STATUSES}")
    if type(data.get("warmup")) is not bool:
        raise TypeError(f"warmup is {data.get('warmup')!r}, not true or false")
    if not isinstance(data.get("tests"), list):
        raise TypeError(f"tests is {data.get('tests')!r}, not a list")
    _check_mapping(data, "outcome", int)
    _check_mapping(data, "warning_categories", int)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_mapping(data: dict[str, Any], key: str, kind: type) -> None:
    value = data.get(key)
    if not isinstance(value, dict) or not all(type(v) is kind for v in value.values()):
        raise TypeError(f"{key} is {value!r}, not an object of whole numbers")


def _split(rows: list[Any]) -> tuple[tuple[str, ...], tuple[TestRecord, ...]]:
    """Return the node ids of all tests and the records of those that did not pass.

    The checks run at C speed (set of types): 5,000 rows a file are most of a file's work.
    """
    if set(map(type, rows)) - {list}:
        raise TypeError("each test must be a JSON array in the order of test_fields")
    nodeids = tuple(map(itemgetter(0), rows))  # columns as in results.TEST_FIELDS
    if set(map(type, nodeids)) - {str} or set(map(itemgetter(1), rows)) - _OUTCOMES:
        raise TypeError("a test's node id is not a string or its outcome is unknown")
    for value in (min(map(itemgetter(2), rows)), max(map(itemgetter(2), rows))) if rows else ():
        typed.in_bounds(value, "a test's duration_s", results.BOUNDS["duration_s"])
    failing = [row for row in rows if row[1] != "passed"]
    # The few rows the summary turns into records get every column checked (a message that is
    # a list would reach the renderers); the rest are checked when their file is loaded whole.
    typed.check_rows(failing, TestRecord, results.TEST_FIELDS, results.BOUNDS)
    return nodeids, tuple([TestRecord(*row) for row in failing])


@dataclass(frozen=True)
class _Read:
    """A run read in a worker process; the node ids travel once per distinct test list."""

    path: str
    result: RunResult
    key: bytes
    nodeids: tuple[str, ...] | None  # None when this process already sent the list for key
    problems: tuple[TestRecord, ...]


class _Reader:
    """Read result files into _Read values, sending each distinct node id list once."""

    def __init__(self) -> None:
        self.sent: set[bytes] = set()

    def __call__(self, path: Path) -> _Read | SkippedFile:
        try:
            data = results.read(path)
            check(data)
            nodeids, problems = _split(results.record_rows(data))
            # Only the scalars become a RunResult: 5,000 TestRecords per file would cost
            # more than everything else the summary does.
            result = results.from_dict({**data, "tests": [], "samples": {}})
        except ResultError as exc:
            return SkippedFile(str(exc.path), exc.reason)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            return SkippedFile(str(path), f"malformed result ({exc})")
        # SHA-256 runs on CPU instructions on most x86 and ARM machines: 2.5x BLAKE2b here.
        key = hashlib.sha256("\n".join(nodeids).encode()).digest()
        first = key not in self.sent
        self.sent.add(key)
        return _Read(str(path), result, key, nodeids if first else None, problems)


_worker_reader: _Reader | None = None


def _init_worker() -> None:
    global _worker_reader
    _worker_reader = _Reader()
    gc.disable()  # the worker only reads (see results.gc_paused) and ends with the pool


def _read_in_worker(path: Path) -> _Read | SkippedFile:
    assert _worker_reader is not None
    return _worker_reader(path)


def _parallel_workers(files: Sequence[Path]) -> int:
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # spawn would re-import everything per worker: not worth it
    size = sum(p.stat().st_size for p in files if p.is_file())
    return min(usable_cpus(), len(files)) if size >= PARALLEL_MIN_BYTES else 1


def _read_files(files: Sequence[Path], workers: int) -> list[_Read | SkippedFile]:
    if workers <= 1:
        reader = _Reader()
        with results.gc_paused():
            return [reader(p) for p in files]
    ctx = multiprocessing.get_context("fork")
    chunk = max(1, len(files) // (workers * 8))
    with (
        results.gc_paused(),  # unpickling the reads allocates as parsing does
        ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool,
    ):
        return list(pool.map(_read_in_worker, files, chunksize=chunk))


def _assemble(reads: Sequence[_Read | SkippedFile]) -> ResultSet:
    lists = {r.key: frozenset(r.nodeids) for r in reads if isinstance(r, _Read) and r.nodeids}
    runs: list[Run] = []
    skipped: list[SkippedFile] = []
    for r in reads:
        if isinstance(r, SkippedFile):
            skipped.append(r)
        else:
            nodeids = lists.get(r.key, frozenset())
            loader = _Loader(Path(r.path))
            runs.append(Run(r.result, nodeids, r.problems, loader, loader.full, loader.path))
    return ResultSet(tuple(runs), tuple(skipped))


@dataclass(frozen=True)
class _Loader:
    """Read one file's per-test records when they are asked for."""

    path: Path

    def __call__(self) -> tuple[TestRecord, ...]:
        return results.load(self.path).tests

    def full(self) -> RunResult:
        return results.load(self.path)
