"""A quiet machine for the tests that need one: the suite's own workers held off, and a wait
for the rest of the machine to calm down.

Under xdist every test holds the machine shared (a read lock); a test that asks for
`quiet_machine` holds it alone (the write lock), so no test of this suite runs beside it. A gate
lock in front gives the writer precedence: readers queue behind it instead of starving it.
What runs outside the suite cannot be held off: the fixture waits for a quiet second, and skips
(saying why) when the machine stays busy.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from benchlib.analyze import busy
from benchlib.measure import cpuload

QUIET_SHARE = busy.BUSY_SHARE / 3  # what others may take of the CPUs for a second to be quiet
QUIET_WAIT_S = 90.0


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases its lock


def _locks(factory: pytest.TempPathFactory) -> tuple[Path, Path] | None:
    """Return the gate and machine lock files the suite's workers share; None when serial."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return None
    shared = factory.getbasetemp().parent  # one folder for every worker of this session
    return shared / "machine.gate", shared / "machine.lock"


@pytest.fixture(autouse=True)
def _machine_shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    locks = _locks(tmp_path_factory)
    if locks is None or "quiet_machine" in request.fixturenames:
        yield
        return
    gate, machine = locks
    with ExitStack() as held:
        with _flock(gate, fcntl.LOCK_SH):  # waits while a quiet test is queued or running
            held.enter_context(_flock(machine, fcntl.LOCK_SH))
        yield


def others_share(seconds: float = 1.0) -> float | None:
    """Return the share of the usable CPUs other processes took over the next seconds."""
    before = cpuload.read(time.monotonic())
    time.sleep(seconds)
    load = cpuload.between(before, cpuload.read(time.monotonic()))
    if load is None:
        return None
    return (load.others_cpu_s + (load.steal_s or 0.0)) / (load.span_s * load.cpus)


@pytest.fixture
def quiet_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hold the machine alone among this suite's tests, and wait for it to be quiet."""
    locks = _locks(tmp_path_factory)
    with ExitStack() as held:
        if locks is not None:
            gate, machine = locks
            held.enter_context(_flock(gate, fcntl.LOCK_EX))
            held.enter_context(_flock(machine, fcntl.LOCK_EX))
        deadline = time.monotonic() + QUIET_WAIT_S
        while (share := others_share()) is not None and share >= QUIET_SHARE:
            if time.monotonic() > deadline:
                pytest.skip(f"the machine stayed busy from outside this suite ({share:.0%})")
        if share is None:
            pytest.skip("no /proc/stat here: the machine's load is not measured")
        yield
