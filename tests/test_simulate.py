"""Pure tests of the simulator: its scheduler models against pytest-xdist's own, and the machine.

The scheduler models are checked against xdist's real scheduler classes driven by fake workers:
both see the same collection and the same test durations, a worker always finishes the test at
the head of its queue, and every worker must run the same tests in the same order.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from types import SimpleNamespace
from typing import Any

import factories as f
import pytest
from xdist.scheduler import (
    LoadFileScheduling,
    LoadScheduling,
    LoadScopeScheduling,
    WorkStealingScheduling,
)

from benchlib.analyze.scan import schedulers, simulate
from benchlib.model.results import Timeline, WorkerTimes

pytestmark = pytest.mark.unit

XDIST = {
    "load": LoadScheduling,
    "worksteal": WorkStealingScheduling,
    "loadfile": LoadFileScheduling,
    "loadscope": LoadScopeScheduling,
}


class FakeNode:
    """An xdist worker as the scheduler sees it: a queue of test indices, FIFO."""

    def __init__(self, i: int, sched: Any) -> None:
        self.gateway = SimpleNamespace(id=f"gw{i}")
        self.shutting_down = False
        self.queue: list[int] = []
        self.sched = sched

    def send_runtest_some(self, indices: list[int]) -> None:
        self.queue += indices

    def send_runtest_all(self) -> None:  # pragma: no cover - "each" mode only
        raise AssertionError

    def shutdown(self) -> None:
        self.shutting_down = True

    def send_steal(self, indices: list[int]) -> None:
        self.steal = indices

    def answer(self) -> bool:
        """Answer a steal request with the tests not started (all but the head); False if none."""
        indices, self.steal = getattr(self, "steal", None), None
        if indices is None:
            return False
        given = [i for i in indices if i in self.queue[1:]]
        self.queue = [i for i in self.queue if i not in given or i == self.queue[0]]
        self.sched.remove_pending_tests_from_node(self, given)
        return True


def fake_config(workers: int) -> Any:
    return SimpleNamespace(
        getvalue=lambda name: [f"{workers}*popen"],
        getoption=lambda name: None,
        option=SimpleNamespace(loadscopereorder=True),
        hook=SimpleNamespace(pytest_collectreport=lambda report: None),
    )


def run_xdist(
    dist: str, nodeids: list[str], durations: list[float], workers: int
) -> list[list[int]]:
    """Drive xdist's scheduler with fake workers; return what each worker ran, in order."""
    sched = XDIST[dist](fake_config(workers))
    nodes = [FakeNode(i, sched) for i in range(workers)]
    for node in nodes:
        sched.add_node(node)
    for node in nodes:
        sched.add_node_collection(node, nodeids)
    sched.schedule()
    ran: list[list[int]] = [[] for _ in nodes]

    def complete(w: int, i: int, d: float) -> None:
        nodes[w].queue.pop(0)
        sched.mark_test_complete(nodes[w], i, d)
        while any(node.answer() for node in nodes):  # the model steals at once: so do we
            pass

    while any(node.answer() for node in nodes):
        pass
    return _play(lambda w: nodes[w].queue[0] if nodes[w].queue else None, complete, durations, ran)


def run_model(
    dist: str, nodeids: list[str], durations: list[float], workers: int
) -> list[list[int]]:
    sched = schedulers.scheduler(dist, nodeids, workers)
    sched.start()
    ran: list[list[int]] = [[] for _ in range(workers)]

    def head(w: int) -> int | None:
        h = sched.head(w)
        return h if isinstance(h, int) else None

    return _play(head, lambda w, i, d: sched.complete(w, d), durations, ran)


def _play(
    head: Any, complete: Any, durations: list[float], ran: list[list[int]]
) -> list[list[int]]:
    """Finish tests in time order (ties by worker); a worker that had nothing is asked again."""
    clock: list[tuple[float, int, int]] = []
    idle = set(range(len(ran)))

    def start(w: int, now: float) -> None:
        i = head(w)
        if i is None:
            idle.add(w)
        else:
            idle.discard(w)
            heapq.heappush(clock, (now + durations[i], w, i))

    for w in range(len(ran)):
        start(w, 0.0)
    while clock:
        now, w, i = heapq.heappop(clock)
        ran[w].append(i)
        complete(w, i, durations[i])
        start(w, now)
        for other in sorted(idle - {w}):  # a steal can hand an idle worker tests
            start(other, now)
    return ran


def suite(rng: random.Random, files: int, tests: int) -> tuple[list[str], list[float]]:
    nodeids = []
    for i in range(tests):
        module = f"tests/test_{rng.randrange(files)}.py"
        cls = f"::TestC{rng.randrange(2)}" if rng.random() < 0.3 else ""
        nodeids.append(f"{module}{cls}::test_{i}")
    nodeids.sort(key=lambda n: n.split("::")[0])  # collection order: file by file
    return nodeids, [rng.expovariate(10) for _ in nodeids]


@pytest.mark.parametrize("dist", sorted(XDIST))
@pytest.mark.parametrize("seed", range(8))
def test_scheduler_models_run_what_xdist_runs(dist: str, seed: int) -> None:
    rng = random.Random(seed)
    workers = rng.choice([1, 2, 3, 4, 8])
    nodeids, durations = suite(rng, files=rng.choice([1, 3, 7]), tests=rng.choice([3, 17, 120]))
    expected = run_xdist(dist, nodeids, durations, workers)
    assert run_model(dist, nodeids, durations, workers) == expected
    assert sorted(i for w in expected for i in w) == list(range(len(nodeids)))


# --- the simulated machine ----------------------------------------------------------------

NO_COSTS = simulate.Costs(0, 0, 0, 0, 0, 0, 0, 0, 0)


def model(
    durations: list[float], share: float, costs: simulate.Costs = NO_COSTS, files: int = 4
) -> simulate.Model:
    tests = tuple((f"tests/test_{i % files}.py::t{i}", d) for i, d in enumerate(durations))
    return simulate.Model(tests, share, costs, cpus=2, usable_cpus=2, calibration_workers=(2,))


def test_sleeping_tests_overlap_beyond_the_cpus() -> None:
    m = model([0.1] * 64, share=0.0)
    walls = [simulate.predict(m, n, "load").wall_s for n in (1, 2, 4, 8)]
    assert walls == pytest.approx([6.4, 3.2, 1.6, 0.8])


def test_cpu_bound_tests_stop_at_the_cpus() -> None:
    m = model([0.1] * 64, share=1.0)
    walls = {n: simulate.predict(m, n, "worksteal").wall_s for n in (1, 2, 4, 8)}
    assert walls[2] == pytest.approx(walls[1] / 2)
    assert walls[4] == pytest.approx(walls[2])
    assert walls[8] == pytest.approx(walls[2])
    on_eight = simulate.predict(m, 8, "worksteal", cpus=8).wall_s
    assert on_eight == pytest.approx(0.8)  # a machine with 8 CPUs runs 8 workers apart


def test_worker_costs_queue_for_the_cpus() -> None:
    costs = simulate.Costs(0.2, 0.2, 0.05, 0.25, 0.1, 0.05, 0, 0.01, 0.01)
    m = model([0.01] * 10, share=1.0, costs=costs)
    two, eight = (simulate.predict(m, n, "load").wall_s for n in (2, 8))
    # Eight workers' boot and shutdown (0.35 s of CPU each) share two CPUs: at least 1.4 s.
    assert eight - two > 6 * 0.35 / 2 * 0.9
    serial = simulate.predict(m, 0, None).wall_s
    assert serial == pytest.approx(0.2 + 0.01 + 10 * (0.01 + 0.01) + 0.05)


def test_loadfile_cannot_split_one_file() -> None:
    m = model([0.1] * 20, share=0.0, files=1)
    assert simulate.predict(m, 4, "loadfile").wall_s == pytest.approx(2.0)
    assert simulate.predict(m, 4, "load").wall_s < 1.0


@pytest.mark.parametrize("dist", schedulers.MODELLED)
def test_more_cpus_are_never_slower(dist: str) -> None:
    rng = random.Random(11)
    m = model([rng.expovariate(5) for _ in range(50)], share=0.7)
    for n in (2, 4, 8):
        walls = [simulate.predict(m, n, dist, cpus=c).wall_s for c in (1, 2, 4, 8)]
        assert walls == sorted(walls, reverse=True)


# --- calibration from runs ----------------------------------------------------------------


def serial_run(wall: float, tests: list[tuple[str, float]]) -> Any:
    t = 0.3
    records = []
    for nodeid, d in tests:
        records.append(f.TestRecord(nodeid, "passed", d, call_s=d, start_s=t))
        t += d + 0.001
    return f.result(
        "gate@n0", wall_s=wall, tests=tuple(records), timeline=Timeline(0.25, 0.3, t),
        cpu_user_s=0.4, cpu_system_s=0.0,
    )  # fmt: skip


def xdist_run(workers: int, wall: float, tests: list[tuple[str, float]]) -> Any:
    starts = [0.3 + 0.1 * i for i in range(workers)]
    ready = max(starts) + 0.3
    times = tuple(
        WorkerTimes(f"gw{i}", s, s + 0.25, s + 0.3, s + 0.3) for i, s in enumerate(starts)
    )
    records, ends = [], [ready] * workers
    for i, (nodeid, d) in enumerate(tests):
        w = i % workers
        records.append(
            f.TestRecord(nodeid, "passed", d, call_s=d, worker=f"gw{w}", start_s=ends[w])
        )
        ends[w] += d + 0.002
    kw = {"workers": workers, "dist": "load", "compare_to": "gate@n0"}
    return f.result(
        f"gate@n{workers}-load", wall_s=wall, tests=tuple(records), strategy_kw=kw,
        timeline=Timeline(0.25, ready, max(ends), times),
    )  # fmt: skip


TESTS = [(f"tests/test_a.py::t{i}", 0.1) for i in range(20)]


def test_calibration_reads_the_timeline() -> None:
    serial = [serial_run(2.45, TESTS)]
    m = simulate.calibrate(serial, [xdist_run(2, 1.9, TESTS)], cpus=2)
    assert m is not None
    assert [d for _, d in m.tests] == [0.1] * 20
    assert m.costs.startup_s == pytest.approx(0.25)
    assert m.costs.spawn_s == pytest.approx(0.1)
    assert m.costs.worker_boot_s == pytest.approx(0.2)  # start to collected, less the spawn
    assert m.cpu_fraction == pytest.approx(0.0, abs=0.01)  # 0.4 s of CPU is all outside tests
    assert m.calibration_workers == (2,)
    assert 0 < m.cpus <= 2  # fitted: the CPUs the runs effectively had


def test_validation_leaves_each_worker_count_out() -> None:
    serial = [serial_run(2.45, TESTS)]
    parallel = [xdist_run(2, 1.9, TESTS), xdist_run(4, 1.5, TESTS)]
    found = {(p.workers, p.calibration) for p in simulate.validate(serial, parallel, cpus=2)}
    assert found == {(0, True), (2, False), (4, False)}
    only = simulate.validate(serial, parallel[:1], cpus=2)
    assert {(p.workers, p.calibration) for p in only} == {(0, True), (2, True)}
    assert simulate.median_error(only) is None  # nothing was held out


def test_a_shared_machine_is_fitted_as_fewer_cpus() -> None:
    serial = [serial_run(2.45, TESTS)]
    # Worker costs measured at one worker; eight workers took 2.2 s or, with the CPUs shared
    # with other work, 4.5 s.
    quiet = simulate.calibrate(serial, [xdist_run(1, 2.9, TESTS), xdist_run(8, 2.2, TESTS)], 2)
    busy = simulate.calibrate(serial, [xdist_run(1, 2.9, TESTS), xdist_run(8, 4.5, TESTS)], 2)
    assert quiet is not None
    assert busy is not None
    assert busy.cpus < quiet.cpus <= 2
    # The fitted machine explains the slow run better than the idle one would.
    slow = simulate.predict(busy, 8, "load").wall_s
    assert abs(slow - 4.5) < abs(simulate.predict(busy, 8, "load", cpus=2).wall_s - 4.5)


@pytest.mark.parametrize("busy", [0.2, 0.5, 1.5])  # seconds of CPU a test (of 0.1 s) took
def test_the_serial_runs_predict_themselves_whatever_the_cpus_fitted(busy: float) -> None:
    serial = serial_run(2.45, TESTS)
    serial = f.replace(serial, cpu_user_s=busy + (2.45 - 2.0))  # outside the tests: all CPU
    m = simulate.calibrate([serial], [xdist_run(1, 2.9, TESTS), xdist_run(8, 9.0, TESTS)], 2)
    assert m is not None
    assert simulate.predict(m, 0, None).wall_s == pytest.approx(2.45, rel=0.02)


# --- predictions that are physically possible (issue 20) -----------------------------------


@pytest.mark.unit
def test_a_calibration_below_one_cpu_is_held_at_the_floor_with_a_loud_note() -> None:
    serial = [f.replace(serial_run(2.45, TESTS), cpu_user_s=2.45)]  # CPU-bound
    # Eight workers 4x slower than one: fitted freely, "the 2 CPUs worked like 0.2".
    m = simulate.calibrate(serial, [xdist_run(1, 2.9, TESTS), xdist_run(8, 12.0, TESTS)], 2)
    assert m is not None
    assert m.cpus == simulate.CPU_FLOOR
    assert m.note is not None and "below the physical floor" in m.note


@pytest.mark.unit
@pytest.mark.parametrize("workers", [0, 1, 2, 4, 8, 16])
@pytest.mark.parametrize("cpus", [1.0, 2.0, 8.0, 64.0])
def test_no_prediction_beats_the_bound_from_the_measured_parts(workers: int, cpus: float) -> None:
    costs = simulate.Costs(0.2, 0.2, 0.05, 0.25, 0.1, 0.05, 0, 0.01, 0.01)
    m = model([3.0] + [0.05] * 40, share=0.5, costs=costs)
    p = simulate.predict(m, workers, "load" if workers else None, cpus=cpus)
    assert p.wall_s >= p.bound_s == simulate.physical_bound_s(m, workers)
    assert p.label == "predicted"
    if workers:  # no scheduler beats the longest test
        assert p.wall_s >= 3.0 + 0.2 + 0.05 + 0.25 + 0.1 + 0.05


@pytest.mark.unit
def test_a_prediction_under_the_bound_is_raised_to_it_and_says_so() -> None:
    # Tests' work shrunk by a calibration on a fraction of a CPU: what the floor prevents.
    m = simulate._at(model([1.0] * 8, share=1.0), 0.2)
    m = dataclasses.replace(m, tests=tuple((n, 1.0) for n, _ in m.tests))
    shrunk = dataclasses.replace(m, tests=tuple((n, 0.2) for n, _ in m.tests))
    p = simulate.predict(shrunk, 4, "load", cpus=4)
    bound = simulate.physical_bound_s(m, 4)
    assert simulate.predict(m, 4, "load", cpus=4).wall_s >= bound
    assert not p.bounded or p.wall_s == p.bound_s


@pytest.mark.unit
def test_a_fit_that_cannot_be_made_says_why() -> None:
    from benchlib.analyze.scan import fitting

    why = fitting.no_fit_reason([(0, 5.0), (2, 3.0), (4, 2.5)])
    assert why is not None and "three worker counts" in why and "2, 4" in why
    assert fitting.no_fit_reason([(1, 5.0), (2, 3.0), (4, 2.5)]) is None
