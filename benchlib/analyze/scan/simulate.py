"""What-if: replay a serial run's tests through models of xdist's schedulers at any worker count.

Pure. A model is built from measured runs: the tests' own durations in collection order (from
the serial runs, where no worker competes for a CPU), the share of that time that is CPU, and
the fixed costs the timeline measured (``timeline.breakdown`` and the per-worker ``Timeline``):
the controller's start-up, starting each worker (sequential in the controller: execnet starts
one gateway after another), each worker's boot and collection, each worker's and the
controller's shutdown, and pytest's own time per test. A simulation then plays one run:

    controller start-up -> worker i spawned -> worker i boots and collects -> (all collected)
    -> the scheduler hands out tests -> each worker runs its queue -> worker shutdown -> end

Every step is a job on a processor-sharing machine of ``cpus`` CPUs: a job of CPU share f is
slowed by contention only in its CPU part, 1 - f + f * g, where g = max(1, summed shares /
cpus). Sleeping tests (f ~ 0) overlap freely, CPU-bound ones share the CPUs, and boot and
shutdown (all CPU) queue behind each other when there are more workers than CPUs. On a shared
machine the CPUs the runs had are fewer than the usable ones: that one number is fitted.

The schedulers are ``schedulers``' models of xdist's own. Not modelled: module- and
class-scoped fixtures set up again on each worker that runs part of the module, and the
controller's CPU per test report. Every number out of this module is a prediction.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchlib.analyze import timeline
from benchlib.analyze.scan.schedulers import MODELLED, scheduler
from benchlib.model.results import RunResult

# The worker counts predicted beyond those measured: what a larger runner would offer.
PREDICT_COUNTS = (4, 8, 16, 32)
_EPS = 1e-12


@dataclass(frozen=True)
class Costs:
    """Fixed costs, in seconds of one process running alone (CPU-bound work)."""

    startup_s: float  # controller: interpreter, plugins, conftest files, until its session
    serial_startup_s: float  # the same for serial pytest
    spawn_s: float  # controller: starting one worker's process (sequential)
    worker_boot_s: float  # one worker: interpreter, plugins and collection
    worker_end_s: float  # one worker: session finish and exit
    end_s: float  # controller (or serial pytest): session finish, summary, exit
    per_test_s: float  # pytest's own time per test on an xdist worker
    serial_collection_s: float  # serial pytest: collection, until the first test
    serial_per_test_s: float  # serial pytest's own time per test


@dataclass(frozen=True)
class Model:
    """What a simulation replays: the tests, how CPU-bound they are, the fixed costs."""

    tests: tuple[tuple[str, float], ...]  # (node id, duration_s) in collection order
    cpu_fraction: float  # of the tests' own time, 0 (all waiting) .. 1 (all CPU)
    costs: Costs
    cpus: float  # CPUs the runs effectively had: the usable ones less the machine's other load
    usable_cpus: int  # the machine's usable CPUs
    calibration_workers: tuple[int, ...]  # the xdist worker counts the costs were taken from
    note: str | None = None  # said loudly: the calibration hit the physical floor of CPUs


@dataclass(frozen=True)
class Prediction:
    """A simulated wall time; measured_s is set where the same point was also measured."""

    workers: int
    dist: str | None  # None when serial
    cpus: float
    wall_s: float
    measured_s: float | None = None
    calibration: bool = False  # this point's runs gave the fixed costs: not a fair test
    on_this_machine: bool = True  # False: an idle machine with `cpus` CPUs like these
    bound_s: float = 0.0  # the least any run can take: fixed costs + max(sum / n, longest test)
    bounded: bool = False  # the simulation came out under bound_s and was raised to it
    label: str = "predicted"  # a prediction is never shown as a measurement

    @property
    def error(self) -> float | None:
        """Return (predicted - measured) / measured, or None when not measured."""
        if self.measured_s is None or self.measured_s <= 0:
            return None
        return (self.wall_s - self.measured_s) / self.measured_s


# --- calibration: measured runs -> a model ------------------------------------------------


def _median(values: Sequence[float], default: float = 0.0) -> float:
    return statistics.median(values) if values else default


@dataclass(frozen=True)
class _Serial:
    startup_s: float
    collection_s: float
    per_test_s: float
    end_s: float
    cpu_s: float
    share: float  # CPU share of the tests' own time


def _serial_parts(run: RunResult) -> _Serial | None:
    parts = timeline.breakdown(run)
    if parts is None or parts.workers != 1 or run.timeline.workers:
        return None
    tests = timeline.timed_tests(run)
    busy = sum(t.duration_s for t in tests)
    outside = run.wall_s - busy  # start-up, collection, between tests, shutdown: all CPU
    cpu = run.cpu_user_s + run.cpu_system_s
    share = min(max((cpu - outside) / busy, 0.0), 1.0) if busy > 0 else 1.0
    per_test = parts.between_s / len(tests)
    return _Serial(parts.startup_s, parts.collection_s, per_test, parts.shutdown_s, cpu, share)


def _tests(serial: Sequence[RunResult]) -> tuple[tuple[str, float], ...]:
    """Return each test's median duration over the serial runs, in collection order."""
    durations: dict[str, list[float]] = {}
    for run in serial:
        for t in sorted(timeline.timed_tests(run), key=lambda t: t.start_s or 0.0):
            durations.setdefault(t.nodeid, []).append(t.duration_s)
    return tuple((nodeid, statistics.median(d)) for nodeid, d in durations.items())


@dataclass(frozen=True)
class _Parallel:
    workers: int
    startup_s: float
    spawn_s: float | None  # median gap between worker starts; None with one worker
    boot_s: float  # median of the workers' start to collected
    shutdown_s: float
    per_test_s: float
    cpu_s: float


def _parallel_parts(run: RunResult) -> _Parallel | None:
    parts = timeline.breakdown(run)
    starts = sorted(w.started_s for w in run.timeline.workers if w.started_s is not None)
    if parts is None or not starts:
        return None
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    per_test = parts.between_s * parts.workers / len(timeline.timed_tests(run))
    cpu = run.cpu_user_s + run.cpu_system_s
    spawn = statistics.median(gaps) if gaps else None
    boots = [
        w.collected_s - w.started_s
        for w in run.timeline.workers
        if w.collected_s is not None and w.started_s is not None
    ]
    boot = _median(boots)
    return _Parallel(len(starts), parts.startup_s, spawn, boot, parts.shutdown_s, per_test, cpu)


def calibrate(
    serial: Sequence[RunResult], parallel: Sequence[RunResult], cpus: int
) -> Model | None:
    """Build a model from serial runs and xdist runs (any worker counts); None if untimed.

    Wall-time parts are taken from the runs with the fewest workers (the least contended),
    each as the median over runs: one disturbed run moves nothing. The CPUs are then fitted.
    """
    s = [p for p in map(_serial_parts, serial) if p is not None]
    x = [p for p in map(_parallel_parts, parallel) if p is not None]
    tests = _tests(serial)
    if not s or not x or not tests:
        return None
    # The fewest workers are the least contended: their costs are the nearest to CPU time.
    calm = [p for p in x if p.workers == min(q.workers for q in x)]
    spawns = [p.spawn_s for p in x if p.spawn_s is not None]
    serial_end = _median([p.end_s for p in s])
    boot = _median([p.boot_s for p in calm])
    # Starting worker i+1 waits for worker i's interpreter: that part of its boot is serial.
    spawn = min(_median(spawns, boot / 2), boot)
    # The controller ends as serial pytest does; the rest of an xdist shutdown is the workers'.
    end = max(_median([p.shutdown_s for p in calm]) - serial_end, 0.0)
    costs = Costs(
        startup_s=_median([p.startup_s for p in x]),
        serial_startup_s=_median([p.startup_s for p in s]),
        spawn_s=spawn,
        worker_boot_s=boot - spawn,
        worker_end_s=end,
        end_s=serial_end,
        per_test_s=_median([p.per_test_s for p in calm]),
        serial_collection_s=_median([p.collection_s for p in s]),
        serial_per_test_s=_median([p.per_test_s for p in s]),
    )
    counts = tuple(sorted({p.workers for p in x}))
    raw = Model(tests, _median([p.share for p in s]), costs, cpus, cpus, counts)
    fitted = _effective_cpus(raw, parallel)
    if fitted >= CPU_FLOOR:
        return _at(raw, fitted)
    note = (
        f"the runs fit {fitted:.2f} effective CPUs, below the physical floor of {CPU_FLOOR:g} "
        "(a runnable process gets a whole CPU on an idle machine): the machine was busy or a "
        f"cost is missing from the model; predictions use {CPU_FLOOR:g}"
    )
    return dataclasses.replace(_at(raw, CPU_FLOOR), note=note)


# The effective CPUs are never fitted below one: python-dateutil's 2 CPUs "worked like 0.20"
# and 4 workers were predicted 9x faster than serial (issue 20). Below it, a loud note.
CPU_FLOOR = 1.0
# The effective CPUs are searched on this grid, as a share of the usable ones.
_SHARES = tuple(k / 40 for k in range(4, 41))


def _effective_cpus(model: Model, parallel: Sequence[RunResult]) -> float:
    """Return the CPU count that best explains the xdist runs the model was built from.

    On a shared machine other processes take part of the CPUs: boot and shutdown, CPU-bound,
    then take longer than the usable CPUs would allow. One number, fitted on the runs given
    (least squares of log wall times), absorbs that; a point left out of them never informs it.
    """
    walls: dict[tuple[int, str | None], list[float]] = {}
    for r in parallel:
        walls.setdefault(key(r), []).append(r.wall_s)
    points = [(k, statistics.median(v)) for k, v in walls.items() if k[1] in MODELLED]

    def misfit(cpus: float) -> float:
        at = _at(model, cpus)
        return sum(math.log(predict(at, n, dist).wall_s / wall) ** 2 for (n, dist), wall in points)

    return min((share * model.usable_cpus for share in _SHARES), key=misfit)


def _at(raw: Model, cpus: float) -> Model:
    """Return the model on `cpus` effective CPUs, its measured costs turned into work.

    A cost measured while k processes were busy took max(1, k / cpus) times its work: serial
    costs and the tests' CPU part had one process busy, the workers' costs as many as the
    fewest workers measured. Without this, fewer CPUs would slow what was measured slow twice.
    """
    one, few = max(1.0, 1.0 / cpus), max(1.0, raw.calibration_workers[0] / cpus)
    c, f = raw.costs, raw.cpu_fraction
    costs = Costs(
        c.startup_s / one, c.serial_startup_s / one, c.spawn_s / few, c.worker_boot_s / few,
        c.worker_end_s / few, c.end_s / one, c.per_test_s / few, c.serial_collection_s / one,
        c.serial_per_test_s / one,
    )  # fmt: skip
    tests = tuple((n, d * (1 - f) + d * f / one) for n, d in raw.tests)
    share = (f / one) / ((1 - f) + f / one)  # of the tests' work, no longer of their wall
    return dataclasses.replace(raw, tests=tests, cpu_fraction=share, costs=costs, cpus=cpus)


# --- the processor-sharing machine --------------------------------------------------------


@dataclass
class _Job:
    left_s: float  # seconds of work left, as if alone
    share: float  # CPU share when alone
    done: Callable[[], None]


class _Machine:
    """Jobs progress together; contention slows only their CPU part."""

    def __init__(self, cpus: float) -> None:
        self.cpus = max(cpus, 0.1)
        self.now_s = 0.0
        self.jobs: dict[int, _Job] = {}
        self.next_id = 0

    def add(self, work_s: float, share: float, done: Callable[[], None]) -> None:
        self.jobs[self.next_id] = _Job(max(work_s, 0.0), min(max(share, 0.0), 1.0), done)
        self.next_id += 1

    def run(self) -> float:
        while self.jobs:
            g = max(1.0, sum(j.share for j in self.jobs.values()) / self.cpus)
            rates = {k: 1.0 / (1.0 - j.share + j.share * g) for k, j in self.jobs.items()}
            step = min(j.left_s / rates[k] for k, j in self.jobs.items())
            for k, j in self.jobs.items():
                j.left_s -= step * rates[k]
            self.now_s += step
            finished = sorted(k for k, j in self.jobs.items() if j.left_s <= _EPS)
            for k in finished:
                self.jobs.pop(k).done()
        return self.now_s


# --- one simulated run --------------------------------------------------------------------


def _serial_wall(model: Model, cpus: float) -> float:
    """Return serial pytest's wall: one process, slowed only when it has less than a CPU."""
    c, g, f = model.costs, max(1.0, 1.0 / cpus), model.cpu_fraction
    fixed = c.serial_startup_s + c.serial_collection_s + c.end_s
    fixed += len(model.tests) * c.serial_per_test_s
    return fixed * g + sum(d * (1 - f) + d * f * g for _, d in model.tests)


class _Run:
    """One simulated xdist run: a machine, a scheduler, and the flow between their events."""

    def __init__(self, model: Model, workers: int, dist: str, cpus: float) -> None:
        self.model, self.workers = model, workers
        self.machine = _Machine(cpus)
        self.sched = scheduler(dist, [n for n, _ in model.tests], workers)
        self.booted = self.stopped = 0
        self.parked: set[int] = set()

    def wall_s(self) -> float:
        self.machine.add(self.model.costs.startup_s, 1.0, lambda: self._spawn(0))
        return self.machine.run()

    def _spawn(self, i: int) -> None:
        if i < self.workers:
            self.machine.add(self.model.costs.spawn_s, 1.0, lambda: self._spawned(i))

    def _spawned(self, i: int) -> None:
        self.machine.add(self.model.costs.worker_boot_s, 1.0, self._booted)
        self._spawn(i + 1)

    def _booted(self) -> None:
        self.booted += 1
        if self.booted == self.workers:  # xdist schedules once every worker has collected
            self.sched.start()
            for w in range(self.workers):
                self._next(w)

    def _next(self, w: int) -> None:
        head = self.sched.head(w)
        if head == "wait":
            self.parked.add(w)
        elif head == "stop":
            self.machine.add(self.model.costs.worker_end_s, 1.0, self._stopped)
        else:
            self._test(w, head)

    def _test(self, w: int, index: int) -> None:
        duration = self.model.tests[index][1]
        overhead = self.model.costs.per_test_s
        work = duration + overhead
        share = (self.model.cpu_fraction * duration + overhead) / work if work > 0 else 1.0
        self.machine.add(work, share, lambda: self._tested(w, duration))

    def _tested(self, w: int, duration_s: float) -> None:
        self.sched.complete(w, duration_s)
        self._next(w)
        for other in sorted(self.parked):  # a steal may have given a parked worker work
            if self.sched.head(other) != "wait":
                self.parked.discard(other)
                self._next(other)

    def _stopped(self) -> None:
        self.stopped += 1
        if self.stopped == self.workers:
            self.machine.add(self.model.costs.end_s, 1.0, lambda: None)


def predict(model: Model, workers: int, dist: str | None, cpus: float | None = None) -> Prediction:
    """Simulate one run: serial when workers is 0, else xdist with this --dist mode."""
    on = cpus or model.cpus
    bound = physical_bound_s(model, workers)
    if workers == 0:
        wall = _serial_wall(model, on)
        return Prediction(0, None, on, max(wall, bound), bound_s=bound, bounded=wall < bound)
    wall = _Run(model, workers, dist or "load", on).wall_s()
    return Prediction(workers, dist or "load", on, max(wall, bound), bound_s=bound,
                      bounded=wall < bound)  # fmt: skip


def physical_bound_s(model: Model, workers: int) -> float:
    """Return the least wall any run can take: fixed costs + max(sum / workers, longest test).

    The fixed costs are one process's start-up, collection and end (serial), or the
    controller's and one worker's (xdist); no scheduler beats the longest test.
    """
    c = model.costs
    durations = [d for _, d in model.tests] or [0.0]
    if workers == 0:
        return c.serial_startup_s + c.serial_collection_s + c.end_s + sum(durations)
    fixed = c.startup_s + c.spawn_s + c.worker_boot_s + c.worker_end_s + c.end_s
    return fixed + max(sum(durations) / workers, max(durations))


def key(r: RunResult) -> tuple[int, str | None]:
    workers = r.strategy.workers
    return workers, (r.strategy.dist or "load") if workers else None


def validate(
    serial: Sequence[RunResult], parallel: Sequence[RunResult], cpus: int
) -> tuple[Prediction, ...]:
    """Predict every measured point (workers, dist) from a model that did not see its runs.

    Leave one worker count out: the point at n workers is predicted from a model calibrated on
    the serial runs and the xdist runs at other counts. Where no other count was measured, the
    model saw the point, and the prediction is marked as calibration (not a fair test); so is
    the serial point, whose runs give the tests' durations.
    """
    groups: dict[tuple[int, str | None], list[float]] = {}
    for r in (*serial, *parallel):
        groups.setdefault(key(r), []).append(r.wall_s)
    found = []
    for (workers, dist), walls in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if dist is not None and dist not in MODELLED:
            continue
        others = [r for r in parallel if r.strategy.workers != workers]
        model = calibrate(serial, others if workers and others else parallel, cpus)
        if model is None:
            continue
        p = predict(model, workers, dist)
        held_out = bool(workers and others)
        measured = statistics.median(walls)
        found.append(Prediction(workers, dist, p.cpus, p.wall_s, measured, not held_out))
    return tuple(found)


def median_error(predictions: Sequence[Prediction], *, held_out: bool = True) -> float | None:
    """Return the median |error| over the measured points (held out: not the calibration's)."""
    errors = [
        abs(p.error)
        for p in predictions
        if p.error is not None and not (held_out and p.calibration)
    ]
    return statistics.median(errors) if errors else None
