"""The race: every candidate once, the clearly slower dropped, the survivors repeated in paired
rounds against the configured lane, until the leader is ahead with a 95% interval or the budget
ends; then the winners of different families combined and confirmed.

Each round is one bench (the lane and the survivors, interleaved, the order reversed every
other round), so each candidate's run pairs with the lane's run of the same round on the same
machine: judge.judge judges them as pairs (Wilcoxon signed-rank interval of the ratios).
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import stats
from benchlib.analyze import judge
from benchlib.analyze.judge import Judgement
from benchlib.errors import InputError
from benchlib.explore import candidates as cands
from benchlib.explore import facts as factsmod
from benchlib.explore import safety
from benchlib.explore.candidates import Candidate
from benchlib.explore.facts import Facts, Failed
from benchlib.measure import bench, running
from benchlib.measure.running import Progress
from benchlib.model.results import COMPLETED, RunResult
from benchlib.plan.machine import usable_cpus
from benchlib.plan.runplan import RunPlan
from benchlib.plan.strategy import Strategy

# "Clearly slower than the best": its median over the leader's by more than this, or by more
# than the lane's own A/A noise floor (stats.noise_floor) if that is wider.
DROP_MARGIN = 0.10
# With one run a side nothing shows the machine's noise yet: a wider margin for that round
# (a shared 2-CPU machine moved single runs by 20% and more).
DROP_MARGIN_FIRST = 0.25
PAIRS = stats.pairs_for_interval()  # 6: the fewest pairs that give a 95% interval
LANE_EVERY = 3  # in a long round, the lane runs again before every third candidate
# The default budget, sized to the suite: this many runs of the lane, within these bounds.
BUDGET_RUNS = 40
BUDGET_MIN_S, BUDGET_MAX_S = 120.0, 3600.0
RULE = (
    "Each round runs the lane and every surviving candidate once, interleaved; a candidate is "
    "judged against the lane's run of the same round as a pair (the ratio lane/candidate; "
    f"Hodges-Lehmann estimate, Wilcoxon signed-rank {stats.CONFIDENCE:.0%} interval, "
    f"{PAIRS} pairs at least; in the first round, against the median of the lane runs made "
    f"between every {LANE_EVERY} candidates). A candidate is dropped when its ratio to the "
    f"lane is below the best candidate's by more than {DROP_MARGIN:.0%} "
    f"({DROP_MARGIN_FIRST:.0%} after one run) or "
    "the lane's noise floor, whichever is wider, when its interval shows it slower than the "
    "lane, or when its interval includes no change; from the second round on only the "
    "fastest candidate of each family stays (levers of one family exclude each other). The "
    "pick is the fastest candidate whose whole interval is above 1 (faster than the lane); "
    "winners of different families are combined and the combination is picked only if it is "
    "judged faster than that candidate in the same paired rounds. No candidate shown faster: "
    "no change is recommended."
)


@dataclass(frozen=True)
class Entry:
    """One candidate's standing at the end."""

    candidate: Candidate
    judgement: Judgement | None = None  # against the lane, paired
    verdict: safety.Verdict | None = None
    dropped: str | None = None  # why it left the race (None: it stayed to the end)


@dataclass(frozen=True)
class Outcome:
    lane: str
    facts: Facts
    entries: tuple[Entry, ...]
    not_applicable: tuple[tuple[str, str], ...]
    pick: Entry | None
    combined: Entry | None
    rounds: int
    runs: int
    spent_s: float  # wall time of every timed run and preflight
    budget_s: float
    stopped: str  # "decided" or "budget"
    machine: RunResult | None  # a lane run: the machine it ran on
    load: tuple[float, float]  # 1-minute load average at the start and the end
    results_dir: Path
    rule: str = RULE
    lane_runs: tuple[RunResult, ...] = field(default_factory=tuple)
    lane_env: Mapping[str, str] = field(default_factory=dict)


def budget_for(lane_wall_s: float) -> float:
    """Return the default budget: BUDGET_RUNS runs of the lane, within bounds."""
    return min(max(BUDGET_RUNS * lane_wall_s, BUDGET_MIN_S), BUDGET_MAX_S)


def _plan(base: RunPlan, s: Strategy, cov_dir: Path | None) -> RunPlan:
    env = dict(s.env)
    if cov_dir is not None:  # each strategy's coverage data apart, to compare line by line
        env["COVERAGE_FILE"] = str(cov_dir / f"{s.name}.coverage")
    workers = s.workers if isinstance(s.workers, int) else usable_cpus()
    return dataclasses.replace(base, strategy=dataclasses.replace(s, env=env), workers=workers)


def _coverage_lines(plan: RunPlan) -> safety.CoverageLines | None:
    """Read a run's coverage per file and line with the project's own `coverage json`."""
    data = Path(plan.strategy.env["COVERAGE_FILE"])
    out = data.with_suffix(".json")
    logs = plan.results_dir / "logs"
    argv = (plan.interpreter.path, "-m", "coverage", "json", "-q", f"--data-file={data}",
            "-o", str(out))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_FILE"}
    log, events = logs / f"coverage-{data.stem}.log", logs / f".coverage-{data.stem}.events"
    launch = running.Launch(argv, plan.target, env, log, events, plan.timeout_s, 1.0)
    if running.run(launch).exit_code != 0 or not out.is_file():
        return None
    report = json.loads(out.read_text(encoding="utf-8"))
    files = {f: frozenset(v["executed_lines"]) for f, v in report["files"].items()}
    return files, float(report["totals"]["percent_covered"])


class _Rounds:
    """Show the race's own round numbers and run count, each round being a bench of its own."""

    def __init__(self, inner: bench.Listener) -> None:
        self.inner, self.round, self.done = inner, 0, 0

    def expect(self, total: int) -> None:
        self.inner.expect(self.done + total)

    def note(self, text: str) -> None:
        self.inner.note(text)

    def start(self, name: str, round_: int, warmup: bool) -> None:
        self.inner.start(name, self.round, warmup)

    def update(self, progress: Progress) -> None:
        self.inner.update(progress)

    def finish(self, result: RunResult, path: str) -> None:
        self.done += 1
        self.inner.finish(result, path)


class _Race:
    """The state of one race: plans, runs so far, who is still in and why others left."""

    def __init__(self, base: RunPlan, listener: bench.Listener, budget_s: float | None) -> None:
        self.base, self.listener, self.asked_budget = base, _Rounds(listener), budget_s
        self.runs: dict[str, list[RunResult]] = {}
        self.spent_s = 0.0
        self.rounds = 0
        self.t0 = time.monotonic()

    def bench_round(self, plans: Sequence[RunPlan]) -> None:
        order = list(plans) if self.rounds % 2 == 0 else [plans[0], *reversed(plans[1:])]
        if len(order) > LANE_EVERY + 1:
            # A long round (the first: every candidate) runs the lane again every LANE_EVERY
            # candidates: each is screened against lane runs near it in time, not one made
            # minutes earlier on a machine whose load has moved since.
            lane, rest = order[0], order[1:]
            order = [x for i in range(0, len(rest), LANE_EVERY)
                     for x in (lane, *rest[i : i + LANE_EVERY])]  # fmt: skip
        self.listener.round = self.rounds
        done = bench.bench(order, bench.Schedule(repeat=1), self.listener)
        for r in done.results:
            self.runs.setdefault(r.strategy.name, []).append(r)
            self.spent_s += r.wall_s
        self.rounds += 1

    def judged(self, lane: str, name: str) -> Judgement:
        return judge.judge(lane, name, self.runs.get(lane, []), self.runs.get(name, []))

    def median(self, name: str) -> float:
        walls = [r.wall_s for r in self.runs.get(name, []) if r.status in COMPLETED]
        return statistics.median(walls) if walls else float("inf")


def explore(base: RunPlan, budget_s: float | None, listener: bench.Listener) -> Outcome:
    """Race the candidates that apply to the base plan's strategy; return the standings."""
    load0 = os.getloadavg()[0]
    out_dir = base.results_dir
    lane_facts = factsmod.lane(base)
    if isinstance(lane_facts, Failed):
        raise InputError(
            "strategy", base.strategy.name,
            f"could not start (pytest exit {lane_facts.exit_code}: {lane_facts.last_line})",
            f"see {lane_facts.log}",
        )  # fmt: skip
    found = cands.find(base.strategy, base.workers, lane_facts,
                       base.interpreter.xdist is not None, usable_cpus())  # fmt: skip
    cov_dir = out_dir / "explore-coverage" if lane_facts.coverage else None
    if cov_dir is not None:
        cov_dir.mkdir(parents=True, exist_ok=True)
    race = _Race(base, listener, budget_s)
    entries: dict[str, Entry] = {}
    cand_facts: dict[str, Facts] = {}
    for c in found.candidates:
        name = c.strategy.name
        got = factsmod.ask(_plan(base, c.strategy, None), f"preflight-{name}")
        if isinstance(got, Failed):
            why = f"cannot start: pytest exit {got.exit_code}: {got.last_line} (see {got.log})"
            entries[name] = Entry(c, dropped=why)
            continue
        differ = safety.selection(lane_facts, got)
        if differ:
            entries[name] = Entry(c, dropped=f"rejected: {differ}")
            continue
        cand_facts[name] = got
        entries[name] = Entry(c)
    lane_plan = _plan(base, base.strategy, cov_dir)
    plans = {n: _plan(base, e.candidate.strategy, cov_dir) for n, e in entries.items()
             if e.dropped is None}  # fmt: skip
    _first_round(race, lane_plan, plans, entries, lane_facts, cand_facts)
    budget = budget_s if budget_s is not None else budget_for(race.median(base.strategy.name))
    stopped = _repeat(race, lane_plan, plans, entries, budget)
    pick = _pick(race, lane_plan.strategy.name, entries)
    combined = None
    if pick is not None:
        pick, combined, stopped = _combine(race, base, lane_plan, pick, entries, lane_facts,
                                           cov_dir, budget, stopped)  # fmt: skip
    lane_runs = tuple(race.runs.get(base.strategy.name, []))
    return Outcome(
        base.strategy.name, lane_facts, tuple(entries.values()), found.not_applicable, pick,
        combined, race.rounds, sum(len(v) for v in race.runs.values()), race.spent_s, budget,
        stopped, lane_runs[0] if lane_runs else None, (load0, os.getloadavg()[0]), out_dir,
        lane_runs=lane_runs, lane_env=dict(base.strategy.env),
    )  # fmt: skip


def _first_round(
    race: _Race, lane_plan: RunPlan, plans: dict[str, RunPlan], entries: dict[str, Entry],
    lane_facts: Facts, cand_facts: Mapping[str, Facts],
) -> None:  # fmt: skip
    """Run every candidate once beside the lane; reject those that did not run the same."""
    race.bench_round([lane_plan, *plans.values()])
    for name, plan in list(plans.items()):
        run = race.runs[name][-1]
        e = entries[name]
        if run.status not in COMPLETED:
            entries[name] = dataclasses.replace(e, dropped=f"its run ended {run.status}")
            del plans[name]
            continue
        v = _check_one(race, lane_plan, plan, e.candidate, lane_facts, cand_facts[name])
        entries[name] = dataclasses.replace(e, verdict=v)
        if not v.safe:
            entries[name] = dataclasses.replace(e, verdict=v, dropped=_rejected(v))
            del plans[name]


def _rejected(v: safety.Verdict) -> str:
    if v.reasons:
        return "rejected: " + "; ".join(v.reasons)
    return f"did not take effect: {v.no_effect}"


def _repeat(
    race: _Race, lane_plan: RunPlan, plans: dict[str, RunPlan], entries: dict[str, Entry],
    budget_s: float,
) -> str:  # fmt: skip
    """Repeat the survivors' paired rounds until each is decided or the budget ends."""
    lane = lane_plan.strategy.name
    while True:
        _drop(race, lane, plans, entries)
        if not plans or all(_decided(race.judged(lane, n)) for n in plans):
            return "decided"
        # The next round: the lane and the survivors, at their medians so far.
        next_s = race.median(lane) + sum(race.median(n) for n in plans)
        if time.monotonic() - race.t0 + next_s > budget_s:
            return "budget"
        race.bench_round([lane_plan, *plans.values()])


def _decided(j: Judgement) -> bool:
    return j.ci_low is not None and j.word == "faster"


def _drop(race: _Race, lane: str, plans: dict[str, RunPlan], entries: dict[str, Entry]) -> None:
    walls = [r.wall_s for r in race.runs[lane]]
    first = DROP_MARGIN_FIRST if race.rounds < 2 else DROP_MARGIN
    margin = max(first, stats.noise_floor(walls))
    judged = {n: race.judged(lane, n) for n in plans}
    # Each candidate as its ratio to the lane runs beside it: the machine's drift cancels.
    speed = {n: j.speedup or 0.0 for n, j in judged.items()}
    best = max(speed.values(), default=0.0)
    for name, j in judged.items():
        entries[name] = dataclasses.replace(entries[name], judgement=j)
        why = None
        if speed[name] * (1 + margin) < best:
            why = f"clearly slower than the best candidate (over {margin:.0%} behind)"
        elif j.word == "slower" and j.ci_low is not None:
            why = "slower than the lane (95% interval below 1)"
        elif j.ci_low is not None and j.word != "faster":
            why = f"not shown faster than the lane ({j.word})"
        if why:
            entries[name] = dataclasses.replace(entries[name], dropped=why)
            del plans[name]
    if race.rounds >= 2:
        _one_per_family(plans, entries, speed)


def _one_per_family(
    plans: dict[str, RunPlan], entries: dict[str, Entry], speed: Mapping[str, float]
) -> None:
    """Keep the fastest candidate of each family: levers of one family exclude each other."""
    best: dict[frozenset[str], str] = {}
    for name in sorted(plans, key=lambda n: -speed[n]):
        family = frozenset(entries[name].candidate.families)
        if family in best:
            why = f"behind {best[family]}, the fastest of its family (one of them can be used)"
            entries[name] = dataclasses.replace(entries[name], dropped=why)
            del plans[name]
        else:
            best[family] = name


def _pick(race: _Race, lane: str, entries: dict[str, Entry]) -> Entry | None:
    shown = [e for e in entries.values() if e.dropped is None and e.judgement is not None
             and _decided(e.judgement)]  # fmt: skip
    return max(shown, key=_speedup, default=None)


def _speedup(e: Entry) -> float:
    return (e.judgement.speedup if e.judgement else None) or 0.0


def _combine(
    race: _Race, base: RunPlan, lane_plan: RunPlan, pick: Entry, entries: dict[str, Entry],
    lane_facts: Facts, cov_dir: Path | None, budget_s: float, stopped: str,
) -> tuple[Entry, Entry | None, str]:  # fmt: skip
    """Combine the best winner of each family; pick the combination only if shown faster."""
    lane = lane_plan.strategy.name
    winners: dict[str, Entry] = {}
    for e in sorted(entries.values(), key=_speedup, reverse=True):
        if e.dropped is None and e.judgement is not None and _decided(e.judgement):
            for family in e.candidate.families:
                winners.setdefault(family, e)
    chosen = list({id(e): e for e in winners.values()}.values())
    if len(chosen) < 2:
        return pick, None, stopped
    combo = cands.combine(base.strategy, [e.candidate for e in chosen])
    got = factsmod.ask(_plan(base, combo.strategy, None), "preflight-combined")
    if isinstance(got, Failed) or safety.selection(lane_facts, got):
        why = got.last_line if isinstance(got, Failed) else "selects other tests"
        return pick, Entry(combo, dropped=f"rejected: {why}"), stopped
    combo_plan = _plan(base, combo.strategy, cov_dir)
    pick_plan = _plan(base, pick.candidate.strategy, cov_dir)
    name = combo.strategy.name
    while True:
        race.bench_round([lane_plan, pick_plan, combo_plan])
        if len(race.runs[name]) == 1:
            verdict = _check_one(race, lane_plan, combo_plan, combo, lane_facts, got)
            if not verdict.safe:
                return pick, Entry(combo, verdict=verdict, dropped=_rejected(verdict)), stopped
        versus_pick = race.judged(pick.candidate.strategy.name, name)
        if versus_pick.ci_low is not None:
            break
        next_s = sum(race.median(p.strategy.name) for p in (lane_plan, pick_plan, combo_plan))
        if time.monotonic() - race.t0 + next_s > budget_s:
            stopped = "budget"
            break
    j = race.judged(lane, name)
    entry = Entry(combo, judgement=j)
    if versus_pick.word == "faster" and _decided(j):
        return entry, entry, stopped
    why = f"not shown faster than {pick.candidate.strategy.name} ({versus_pick.word})"
    pick = dataclasses.replace(pick, judgement=race.judged(lane, pick.candidate.strategy.name))
    return pick, dataclasses.replace(entry, dropped=why), stopped


def _check_one(
    race: _Race, lane_plan: RunPlan, plan: RunPlan, cand: Candidate, lane_facts: Facts,
    facts: Facts,
) -> safety.Verdict:  # fmt: skip
    lane_run, run = race.runs[lane_plan.strategy.name][-1], race.runs[plan.strategy.name][-1]
    cover = None
    if "COVERAGE_FILE" in lane_plan.strategy.env:
        a, b = _coverage_lines(lane_plan), _coverage_lines(plan)
        cover = (a, b) if a is not None and b is not None else None
    log = (plan.results_dir / run.log_path).read_text(errors="replace")
    return safety.check(cand, (lane_facts, facts), (lane_run, run), cover, log)
