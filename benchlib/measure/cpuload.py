"""Read what every process took of the CPUs a run can use: /proc/stat before and after it.

Together with benchlib's own CPU time and its children's (rusage: the run's tree, exact), the
difference is what other processes took while the run ran, and the kernel's steal is what the
hypervisor gave other guests. No thread, no sampling: two readings a run. Elsewhere than Linux
there is no /proc/stat, and the load is not measured.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from benchlib.model.results import MachineLoad

PROC_STAT = Path("/proc/stat")
_TICK_S = 1 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
# The columns of a cpuN line, in order (proc(5)); guest time is already inside user and nice.
_BUSY = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq
_STEAL = 7


@dataclass(frozen=True)
class Reading:
    """One reading: the counters of the CPUs the run can use, and benchlib's own CPU time."""

    cpus: int
    busy_s: float
    steal_s: float | None  # None: the kernel reports no steal column
    own_s: float  # this process and its waited-for children (user + system)
    at_s: float  # time.monotonic()


def _own_cpu_s() -> float:
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _usable() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # no affinity here: every CPU counts
        return None


def parse(text: str, usable: set[int] | None) -> tuple[int, float, float | None] | None:
    """Return (CPUs, busy seconds, steal seconds) summed over the usable CPUs' lines."""
    cpus, busy, steal, has_steal = 0, 0, 0, True
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        if usable is not None and int(name[3:]) not in usable:
            continue
        ticks = [int(x) for x in rest.split()]
        cpus += 1
        busy += sum(ticks[i] for i in _BUSY if i < len(ticks))
        has_steal = has_steal and len(ticks) > _STEAL
        steal += ticks[_STEAL] if len(ticks) > _STEAL else 0
    if not cpus:
        return None
    return cpus, busy * _TICK_S, steal * _TICK_S if has_steal else None


def read(monotonic_s: float) -> Reading | None:
    """Take one reading; None where there is no /proc/stat to read."""
    own = _own_cpu_s()
    try:
        text = PROC_STAT.read_text()
    except OSError:
        return None
    found = parse(text, _usable())
    if found is None:
        return None
    cpus, busy, steal = found
    return Reading(cpus, busy, steal, own, monotonic_s)


def between(
    start: Reading | None, end: Reading | None, *, tree_extra_s: float = 0.0
) -> MachineLoad | None:
    """Return the load from start to end; tree_extra_s is tree CPU rusage never saw (orphans)."""
    if start is None or end is None or start.cpus != end.cpus:
        return None
    steal = None
    if start.steal_s is not None and end.steal_s is not None:
        steal = round(end.steal_s - start.steal_s, 3)
    return MachineLoad(
        cpus=end.cpus,
        span_s=round(end.at_s - start.at_s, 6),
        busy_cpu_s=round(end.busy_s - start.busy_s, 3),
        own_cpu_s=round(end.own_s - start.own_s + tree_extra_s, 3),
        steal_s=steal,
    )
