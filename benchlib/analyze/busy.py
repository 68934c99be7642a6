"""When a run was taken on a busy machine: the one rule, and what it says of a set of runs.

A result file records the raw counters (model.MachineLoad); this module decides. Every output
marks a busy run through ``is_busy``, and the summary's verdict on the machine is ``finding``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from benchlib.model.results import RunResult

# A run is busy when other processes (and the hypervisor's other guests, as steal) took at
# least this share of the CPU time its CPUs offered while it ran. Why a quarter: a lane that
# keeps every CPU busy (xdist at -n auto) then has at most three quarters of them and can take
# up to a third longer, while a serial lane on 2 or more CPUs may lose nothing; a bias of that
# size turns the verdicts benchlib gives between serial and parallel lanes around (a 1.3x gain
# of xdist vanishes). On a 2-CPU machine it is half a CPU taken, on average, for the whole run.
# A desktop's or CI runner's background (a few percent) stays well below it.
BUSY_SHARE = 0.25


@dataclass(frozen=True)
class Load:
    """A run's load as shares of the CPU time its CPUs offered while it ran."""

    cpus: int
    others: float  # other processes' CPU time, as a share
    steal: float | None  # the hypervisor's, as a share; None: the kernel does not say

    @property
    def taken(self) -> float:
        """Return the share taken from the run's CPUs by anything but the run and benchlib."""
        return self.others + (self.steal or 0.0)

    @property
    def busy(self) -> bool:
        return self.taken >= BUSY_SHARE

    @property
    def cpus_left(self) -> float:
        """Return how many CPUs' worth the others left: what the run could have had."""
        return self.cpus * max(1.0 - self.taken, 0.0)


def load_of(run: RunResult) -> Load | None:
    """Return a run's load; None when it was not measured (or the run took no time)."""
    m = run.load
    if m is None or m.span_s <= 0 or m.cpus < 1:
        return None
    offered = m.span_s * m.cpus
    steal = None if m.steal_s is None else max(m.steal_s, 0.0) / offered
    return Load(m.cpus, m.others_cpu_s / offered, steal)


def is_busy(run: RunResult) -> bool:
    """Tell whether a run was taken on a busy machine (see BUSY_SHARE)."""
    load = load_of(run)
    return load is not None and load.busy


@dataclass(frozen=True)
class Finding:
    """What the runs that count say of the machine's load."""

    measured: int  # runs whose load was measured
    busy: int  # of which were taken on a busy machine
    worst: float | None  # the largest share taken from a run's CPUs
    cpus: int | None  # the CPUs of the worst run
    # Strategies at least half of whose measured runs were busy: their medians are busy
    # figures, and so is every comparison with them. Any of them: too busy to judge.
    too_busy: tuple[str, ...] = ()
    threshold: float = BUSY_SHARE

    @property
    def too_busy_to_judge(self) -> bool:
        return bool(self.too_busy)


def finding(by_strategy: Mapping[str, Sequence[RunResult]]) -> Finding:
    """Judge the machine's load over each strategy's runs that count."""
    loads = {name: _measured(runs) for name, runs in by_strategy.items()}
    every = [x for found in loads.values() for x in found]
    worst = max(every, key=lambda x: x.taken, default=None)
    too_busy = tuple(
        name for name, found in loads.items() if found and 2 * _busy(found) >= len(found)
    )
    return Finding(
        measured=len(every),
        busy=_busy(every),
        worst=None if worst is None else worst.taken,
        cpus=None if worst is None else worst.cpus,
        too_busy=too_busy,
    )


def _measured(runs: Iterable[RunResult]) -> list[Load]:
    return [x for r in runs if (x := load_of(r)) is not None]


def _busy(loads: Iterable[Load]) -> int:
    return sum(1 for x in loads if x.busy)
