"""A bench: strategies run in rounds, round-robin, each run's result saved as it ends.

Rounds, warm-ups, the stopping rule of ``--repeat auto`` and the results folder's lock live here;
``running`` runs one process tree, ``recording`` turns it into a result, and the command line only
wires these together and shows progress through a ``Listener``.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from benchlib import stats
from benchlib.measure import events, recording
from benchlib.measure._observer import benchlib_protocol as protocol
from benchlib.measure.lock import Held, exclusive
from benchlib.measure.running import Launch, Progress, run, signals_ignored
from benchlib.model import results, trace
from benchlib.model.results import Machine, Part, RunResult, Target
from benchlib.plan.machine import describe, target_info
from benchlib.plan.runplan import OBSERVER_PLUGIN, RunPlan
from benchlib.plan.strategy import Strategy

OBSERVER_DIR = Path(__file__).parent / "_observer"
# Removed from pytest's environment: each would change the run behind the strategy's back.
# The last four are set by pytest and xdist for their own processes: inherited (benchlib run
# from a test, or from an xdist worker), they make the target believe it is a worker.
ENV_NEUTRALISED = (
    "PYTEST_ADDOPTS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
)
AUTO_MIN_ROUNDS = 4  # the exact 95% interval needs 4 runs a side (see stats)
DEFAULT_BUDGET_S = 1800.0
# The budget sized to the suite (Schedule.budget_s None, `benchlib run`'s default): after the
# warm-ups, the AUTO_MIN_ROUNDS rounds an interval needs, whatever they take up to
# DEFAULT_BUDGET_S (a default run is something a person waits for); then more, while an
# interval is wide, only as long as the bench has taken under SIZED_MORE_S and at most
# SIZED_ROUNDS rounds: a small suite narrows its intervals, a large one stops at what settles
# large differences. A suite whose 4 rounds do not fit in DEFAULT_BUDGET_S stops short, and
# the advice then says how many runs would settle it, and how long they would take.
SIZED_MORE_S = 180.0
SIZED_ROUNDS = 10


@dataclass(frozen=True)
class Schedule:
    """How many rounds: a fixed number, or (repeat None) until the intervals are narrow.

    budget_s None sizes the budget to the suite (SIZED_ROUNDS); a budget given in seconds
    still runs AUTO_MIN_ROUNDS rounds, however long they take.
    """

    repeat: int | None = 1
    warmup: int = 0
    budget_s: float | None = DEFAULT_BUDGET_S
    width: float = stats.STOP_WIDTH
    # The rounds an interval needs: 4 runs a side for two samples; a bench judged as pairs (a
    # pull request's head against its base) needs stats.pairs_for_interval() of them.
    min_rounds: int = AUTO_MIN_ROUNDS

    def over_budget(self, rounds: int, elapsed_s: float) -> bool:
        """Tell whether another round would overrun the budget, judging by the rounds so far."""
        next_end_s = elapsed_s + elapsed_s / rounds
        if self.budget_s is not None:
            return next_end_s > self.budget_s
        # Sized by the rounds as they go, not by the first one's time: a machine that gets
        # busier must not cut a default run short of its interval.
        if next_end_s > DEFAULT_BUDGET_S:
            return True
        measured = rounds - self.warmup
        enough = measured >= self.min_rounds
        return enough and (next_end_s > SIZED_MORE_S or measured >= SIZED_ROUNDS)

    def first_rounds(self) -> int:
        return self.warmup + (self.repeat or self.min_rounds)


class Listener(Protocol):
    """What a bench tells the person watching it."""

    def expect(self, total: int) -> None: ...
    def note(self, text: str) -> None: ...
    def start(self, name: str, round_: int, warmup: bool) -> None: ...
    def update(self, progress: Progress) -> None: ...
    def finish(self, result: RunResult, path: str) -> None: ...


class Quiet:
    """A listener that shows nothing: for benches run by code, not watched by a person."""

    def expect(self, total: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def start(self, name: str, round_: int, warmup: bool) -> None:
        pass

    def update(self, progress: Progress) -> None:
        pass

    def finish(self, result: RunResult, path: str) -> None:
        pass


class Interrupted(KeyboardInterrupt):
    """The bench was interrupted during a run; that run's result was written all the same."""

    def __init__(self, result: RunResult, path: Path) -> None:
        super().__init__(f"interrupted; the run's result is in {path}")
        self.result, self.path = result, path


Stopped = Literal["rounds", "width", "budget"]


@dataclass(frozen=True)
class Bench:
    """What a bench wrote, and why it stopped (--repeat auto: interval narrow, or budget spent)."""

    results: tuple[RunResult, ...]
    paths: tuple[Path, ...]
    stopped: Stopped = "rounds"

    @property
    def all_completed(self) -> bool:
        return all(r.status in results.COMPLETED for r in self.results)


# How a run ends when pytest cannot start on this selection: the same in every round.
NEVER_STARTS: frozenset[str] = frozenset(
    {"usage-error", "internal-error", "collection-error", "no-tests"}
)


def child_env(
    strategy: Strategy, events_path: Path, *, command: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """Return pytest's environment, and the variables taken out of it."""
    env = dict(os.environ)
    ignored = {k: env.pop(k) for k in ENV_NEUTRALISED if k in env}
    env.update(strategy.env)
    env[protocol.OUT_ENV] = str(events_path)
    if command:
        # A command step starts pytest (if it does) itself: the observer joins through the
        # variable pytest reads plugins from, since no -p can be added to the command.
        env["PYTEST_PLUGINS"] = ",".join(
            filter(None, [env.get("PYTEST_PLUGINS"), OBSERVER_PLUGIN[1]])
        )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(OBSERVER_DIR), env.get("PYTHONPATH")]))
    return env, ignored


@dataclass(frozen=True)
class _Where:
    """What is the same for every run of a bench: measured once, not once a run."""

    machine: Machine
    target: Target
    bench_id: str


def run_once(
    plan: RunPlan, where: _Where, held: Held, round_: int, warmup: bool, listener: Listener
) -> tuple[RunResult, Path]:
    """Run one strategy once and save its result; the watchdog saves it if we die meanwhile."""
    started = datetime.now(UTC)
    run_id = recording.run_id(plan.strategy.name, started)
    logs = plan.results_dir / "logs"
    events_path = logs / f".{run_id}.events.jsonl"
    env, ignored = child_env(plan.strategy, events_path, command=bool(plan.command))
    ctx = recording.Context(
        run_id, plan.record(), plan.argv(), where.target, where.machine, f"logs/{run_id}.log",
        env, ignored, plan.interval_s, round_, warmup, where.bench_id,
        part=_part(plan, where.bench_id, round_), command=bool(plan.command),
    )  # fmt: skip
    if plan.selection:
        results.write_atomic(plan.argfile(), "".join(f"{n}\n" for n in plan.selection))
    final = plan.results_dir / f"{run_id}.json"
    pending = logs / f".{run_id}.pending.json"
    results.write_atomic(pending, results.dumps(recording.pending(ctx, started)))
    token = uuid.uuid4().hex
    held.running(token)
    launch = Launch(
        plan.argv(), plan.target, env, logs / f"{run_id}.log", events_path, plan.timeout_s,
        plan.interval_s, token, plan.show_output, pending, final,
    )  # fmt: skip
    measured = run(launch, progress=listener.update)
    with signals_ignored():
        observed = events.read(
            events_path, t0=measured.t0_epoch, end=measured.end_epoch, stop=measured.stop_epoch
        )
        if ctx.command and measured.exit_code:
            tail = _log_tail(launch.log_path)
            ctx = dataclasses.replace(ctx, last_line=recording.last_line(tail))
        result = recording.build(ctx, measured, observed)
        if result.exit_code in recording.PYTEST_ERRORS:
            result = recording.with_pytest_reason(result, _log_tail(logs / f"{run_id}.log"))
        results.write_atomic(final, results.dumps(result))
        pending.unlink(missing_ok=True)
        events_path.unlink(missing_ok=True)
        # The trace is derived from the saved result: written after it, so nothing is lost
        # if it fails, and remade at any time by `benchlib trace`.
        results.write_atomic(trace.path_for(final), trace.dumps(result))
    if measured.ending == "interrupted":
        raise Interrupted(result, final)
    return result, final


def _log_tail(path: Path, size: int = 65536) -> str:
    """Return the end of a run's log, where pytest prints why it stopped."""
    try:
        with path.open("rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - size, 0))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def bench(plans: Sequence[RunPlan], schedule: Schedule, listener: Listener) -> Bench:
    """Run the plans round-robin (A B C A B C ...), so that drift hits every strategy alike."""
    results_dir = plans[0].results_dir
    (results_dir / "logs").mkdir(parents=True, exist_ok=True)
    where = _Where(
        describe(plans[0].interpreter),
        target_info(plans[0].target, plans[0].project),
        uuid.uuid4().hex[:12],
    )
    done: list[tuple[RunResult, Path]] = []
    walls: dict[str, list[float]] = {p.strategy.name: [] for p in plans}
    listener.expect(len(plans) * schedule.first_rounds())
    t0 = time.monotonic()
    with exclusive(results_dir) as held:
        for text in held.stale:
            listener.note(text)
        round_ = 0
        live = list(plans)
        while True:
            warmup = round_ < schedule.warmup
            for plan in list(live):
                listener.start(plan.label(), round_, warmup)
                result, path = run_once(plan, where, held, round_, warmup, listener)
                listener.finish(result, str(path))
                done.append((result, path))
                # A part is not the strategy: --repeat auto judges whole runs only.
                if not warmup and result.status in results.COMPLETED and plan.part is None:
                    walls[plan.strategy.name].append(result.wall_s)
                if result.status in NEVER_STARTS:
                    live.remove(plan)
                    listener.note(
                        f"{plan.label()} ended {result.status} (see {result.log_path}): another "
                        "round would end the same, so it is not run again in this bench"
                    )
            round_ += 1
            if not live or not _another_round(schedule, live, round_, walls, time.monotonic() - t0):
                break
            listener.expect(len(done) + len(live))
    stopped = _why_stopped(schedule, plans, walls)
    return Bench(tuple(r for r, _ in done), tuple(p for _, p in done), stopped)


def _part(plan: RunPlan, bench_id: str, round_: int) -> Part | None:
    """Return the plan's part with its logical run named: the parts of one round share it."""
    if plan.part is None:
        return None
    prefix = plan.part.logical_run_id or f"{plan.strategy.name}-{bench_id}"
    return dataclasses.replace(plan.part, logical_run_id=f"{prefix}-r{round_}")


def _another_round(
    schedule: Schedule,
    plans: Sequence[RunPlan],
    done: int,
    walls: dict[str, list[float]],
    elapsed_s: float,
) -> bool:
    if schedule.repeat is not None:
        return done < schedule.warmup + schedule.repeat
    measured = done - schedule.warmup
    over = schedule.over_budget(done, elapsed_s)
    counted = _counted(schedule, walls)
    # A cold first run the summary will leave out (coldstart) costs one round more.
    least = schedule.min_rounds
    short = any(0 < len(v) < least for v in counted.values())
    if measured < least or (short and measured == least):
        # A budget sized to the suite holds even here (one measured round at least); one given
        # in seconds was asked for with the rounds an interval needs.
        return measured < 1 or not (over and schedule.budget_s is None)
    return not over and _pending(schedule, plans, counted)


def _counted(schedule: Schedule, walls: dict[str, list[float]]) -> dict[str, list[float]]:
    """Return the walls the summary will count: without a first run that was cold.

    Without warm-ups, the first measured run is the bench's first, which coldstart leaves out
    when it stands out (stats.first_run_much_slower); after a warm-up it is not.
    """
    if schedule.warmup:
        return walls
    return {k: v[1:] if stats.first_run_much_slower(v) else v for k, v in walls.items()}


def _pending(schedule: Schedule, plans: Sequence[RunPlan], walls: dict[str, list[float]]) -> bool:
    compare_to = {p.strategy.name: p.strategy.compare_to for p in plans}
    relevant = {k: v for k, v in compare_to.items() if v in walls}
    return stats.needs_more_runs(walls, relevant, max_width=schedule.width)


def _why_stopped(
    schedule: Schedule, plans: Sequence[RunPlan], walls: dict[str, list[float]]
) -> Stopped:
    if schedule.repeat is not None:
        return "rounds"
    return "budget" if _pending(schedule, plans, _counted(schedule, walls)) else "width"
