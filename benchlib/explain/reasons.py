"""Say where the time went, why a strategy won or lost, where runs hung, and what unstable
tests are: the words for runfacts' and pertest's numbers, in Markdown, for every renderer.

Everything from the suite (node ids, worker ids, strategy names) goes through wording's escapes.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchlib.analyze.pertest import Kind, Profile, UnstableTest
from benchlib.analyze.runfacts import Hang, PartChange, TimeFacts, Why
from benchlib.analyze.summary import StrategySummary, Summary
from benchlib.explain.wording import cell, code, count, first_line, seconds, text

NAMED_IN_FLIGHT = 5
PART_LABELS = {
    "startup": "start-up",
    "boot": "booting workers",
    "collection": "collection",
    "execution": "test execution (per worker)",
    "between": "between tests",
    "idle_tail": "idle tail",
    "shutdown": "shutdown",
}
FIXES: dict[Kind, str] = {
    "parallel-only": "isolate the state it shares with tests on other workers (files, ports, "
    "a database), or mark it for a serial step run after the parallel one",
    "flaky": "quarantine it (skip it in the gate, or rerun it) until its cause is fixed",
    "failing everywhere": "it is broken, not unstable: fix it, or mark it xfail with the reason",
    "selection-dependent": "isolate it: it passes or fails by which tests run with it, or "
    "their order",
}
# A part that moved less than this share of the largest move is left out of a sentence.
MENTION = 0.1


def _signed(value: float) -> str:
    return f"{value:+.2f}s".replace("-", "\N{MINUS SIGN}")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --- why one strategy is faster or slower than its compare_to -----------------------------


def _noun(c: PartChange, w: Why) -> str:
    a = w.after
    if c.name == "boot+collection":
        workers = count(a.workers, "worker")
        return f"starting {workers} that collected the suite {_times(a.collections)}"
    if c.name == "boot":
        return f"booting {count(a.workers, 'worker')}" if a.parallel else "booting workers"
    if c.name == "collection" and a.collections > 1:
        return f"collecting the suite {_times(a.collections)}"
    if c.name == "execution":
        if w.after_tests != w.before_tests:
            return f"running {count(w.after_tests, 'test')} instead of {w.before_tests}"
        if a.workers != w.before_workers:
            return (
                f"running the tests on {count(a.workers, 'worker')}"
                if a.parallel
                else "running serially"
            )
        return "running the tests"
    return {"between": "the gaps between tests", "idle_tail": "workers idle at the end"}.get(
        c.name, PART_LABELS[c.name]
    )


def term_words(t: TimeFacts) -> str:
    """Say what binds a run's lower bound."""
    if t.term == "sum / workers":
        over = f"over {count(t.workers, 'worker')}" if t.workers > 1 else "run one after another"
        return f"the tests' summed time {over}"
    if t.term == "longest test":
        return f"its longest test, {code(t.longest)} ({seconds(t.longest_s)})"
    if t.term == "longest group":
        return f"{code(t.longest)} ({seconds(t.longest_s)}), which --dist keeps on one worker"
    return "the tree's CPU time over the usable CPUs"


def bound_words(t: TimeFacts) -> str:
    at = f"at {count(t.workers, 'worker')}" if t.parallel else "serially"
    return (
        f"its bound {at} is {seconds(t.bound_s)} (bound by {term_words(t)}), "
        f"efficiency {t.efficiency:.0%}"
    )


def why_sentence(w: Why, significant: bool = True) -> str:
    """Say in one sentence why a strategy took more or less than its compare_to, by median.

    Hedged when the verdict beside it is not significant: no flat "gained" or "lost" then.
    """
    name, before, delta = code(w.strategy), code(w.before), w.delta_s
    if abs(delta) < max(0.01 * w.before_wall_s, 0.005):
        return f"{name} took as long as {before} ({_signed(delta)}); {bound_words(w.after)}."
    sign = 1.0 if delta > 0 else -1.0
    changes = _merged(w)
    largest = max(abs(c.delta_s) for c in changes)
    moved = sorted(
        (c for c in changes if abs(c.delta_s) >= MENTION * largest), key=lambda c: -abs(c.delta_s)
    )
    drivers = [c for c in moved if c.delta_s * sign > 0][:3]
    counter = [c for c in moved if c.delta_s * sign < 0][:2]
    listed = _and([f"{_noun(c, w)} ({_signed(c.delta_s)})" for c in drivers])
    head = (
        f"{name} lost {seconds(delta)} to {before}"
        if delta > 0
        else f"{name} gained {seconds(-delta)} on {before}"
    )
    if not significant:
        more = "longer" if delta > 0 else "less"
        head = (
            f"{name} took {seconds(abs(delta))} {more} than {before} by median, which is no "
            "significant difference"
        )
        return f"{head}; the parts that moved most: {listed}; {bound_words(w.after)}."
    if not counter:
        return f"{head}, mostly {listed}; {bound_words(w.after)}."
    against = _and([f"{_noun(c, w)} ({_signed(c.delta_s)})" for c in counter])
    verb, other = ("cost", "saved") if delta > 0 else ("saved", "cost")
    # Every part moving the run's way outweighs every part moving against it: when the ones
    # named do not, the smaller ones are said to be there too, so "more than" stays true.
    named = sum(abs(c.delta_s) for c in drivers)
    rest = " and smaller parts" if named <= sum(abs(c.delta_s) for c in counter) else ""
    return f"{head}: {listed}{rest} {verb} more than {against} {other}; {bound_words(w.after)}."


def _merged(w: Why) -> list[PartChange]:
    """Return the changes, booting and collecting as one when every worker collected."""
    if w.after.collections < 2:
        return list(w.changes)
    fixed = [c for c in w.changes if c.name in ("boot", "collection")]
    both = PartChange(
        "boot+collection", sum(c.before_s for c in fixed), sum(c.after_s for c in fixed)
    )
    return [both, *(c for c in w.changes if c not in fixed)]


def own_sentence(s: StrategySummary) -> str | None:
    """Say where the time of a strategy with nothing to compare to went."""
    t = s.time
    if t is None:
        return None
    tests = t.part("execution") * t.workers
    return (
        f"In its run closest to the median, {code(s.name)} spent {seconds(t.fixed_s)} of "
        f"{seconds(t.wall_s)} starting, "
        f"collecting and shutting down, and ran {seconds(tests)} of tests; {bound_words(t)}."
    )


def late_sentence(s: StrategySummary) -> str | None:
    """Say which tests kept the last worker busy after the others had finished."""
    t = s.time
    if t is None or t.last_worker is None or not t.late_tests or t.late_by_s < 0.01:
        return None
    tests = _and([f"{code(x.nodeid)} ({seconds(x.seconds)})" for x in t.late_tests])
    longest = t.last_worker_longest
    # The tests it ran at the end are the symptom; a long test earlier on it is often the cause.
    cause = (
        f"; its longest test was {code(longest.nodeid)} ({seconds(longest.seconds)})"
        if longest and longest.nodeid not in {x.nodeid for x in t.late_tests}
        else ""
    )
    return (
        f"{code(s.name)}: worker {code(t.last_worker)} finished {seconds(t.late_by_s)} after "
        f"the others, running {tests} after they were done{cause}."
    )


def strategy_why(s: StrategySummary) -> str | None:
    """The one sentence for a strategy: against its compare_to, else its own time."""
    if s.why is None:
        return own_sentence(s)
    c = s.comparison
    return why_sentence(s.why, c is not None and c.word in ("faster", "slower"))


# --- where the time went: the section ------------------------------------------------------


def where_section(summary: Summary) -> str:
    shown = [s for s in summary.strategies if s.time is not None]
    if not shown:
        return ""
    lines = [
        "## Where the Time Went",
        "",
        "Each strategy's representative run, its wall time cut into parts that add up to it. "
        "The lower bound is the run's fixed costs (start-up, boot, collection, shutdown) plus "
        "the most of the tests' summed time over its workers and its longest test or group; "
        "efficiency is bound / wall.",
        "",
        *_where_table(shown),
    ]
    whys = [f"- {w}" for s in shown if (w := strategy_why(s))]
    lines += ["", "### Why", "", *whys] if whys else []
    lines += _collection_lines(shown)
    late = [x for s in shown if (x := late_sentence(s))]
    if late:
        lines += ["", "### Last worker late", "", *(f"- {x}" for x in late)]
    return "\n".join(lines)


def _where_table(shown: Sequence[StrategySummary]) -> list[str]:
    times = [s.time for s in shown if s.time is not None]
    head = "| Part | " + " | ".join(cell(code(s.name)) for s in shown) + " |"
    rows = [head, "|---|" + "---:|" * len(shown)]
    for i, label in enumerate(PART_LABELS.values()):
        cells = [f"{seconds(t.parts[i].seconds)} ({t.parts[i].share:.0%})" for t in times]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    rows.append("| **wall** | " + " | ".join(f"**{seconds(t.wall_s)}**" for t in times) + " |")
    rows.append("| lower bound | " + " | ".join(seconds(t.bound_s) for t in times) + " |")
    rows.append("| bound by | " + " | ".join(t.term for t in times) + " |")
    rows.append("| efficiency | " + " | ".join(f"{t.efficiency:.0%}" for t in times) + " |")
    rows.append("| workers | " + " | ".join(str(t.workers) for t in times) + " |")
    rows.append("| collections | " + " | ".join(str(t.collections) for t in times) + " |")
    return rows


def _collection_lines(shown: Sequence[StrategySummary]) -> list[str]:
    lines = []
    for s in shown:
        t = s.time
        if t is None or not t.worker_collection:
            continue
        each = ", ".join(f"{code(w)} {seconds(x)}" for w, x in t.worker_collection)
        lines.append(
            f"- {code(s.name)}: the suite was collected {_times(t.collections)}, once per "
            f"worker ({each})"
        )
    return ["", "### Collection under xdist", "", *lines] if lines else []


# --- hangs ---------------------------------------------------------------------------------


def hang_words(h: Hang) -> str:
    """Say where a stopped run hung: `gate` timed out after 90s; in flight: `t` on gw1 for 87s."""
    if h.status == "timeout":
        ended = f"timed out after {h.limit_s:g}s" if h.limit_s else "timed out"
    elif h.status == "interrupted":
        ended = f"was interrupted after {seconds(h.wall_s)}"
    else:
        ended = f"ended ({h.status}) after {seconds(h.wall_s)}"
    flights = [
        f"{code(f.nodeid)} on {code(f.worker) if f.worker else 'the main process'} "
        f"for {f.running_s:.1f}s"
        for f in h.in_flight[:NAMED_IN_FLIGHT]
    ]
    more = len(h.in_flight) - NAMED_IN_FLIGHT
    tail = f" and {more} more" if more > 0 else ""
    return f"{code(h.strategy)} {ended}; in flight: {'; '.join(flights)}{tail}"


def hang_lines(s: StrategySummary) -> list[str]:
    return [f"- **Hung:** {hang_words(h)} (run {code(h.run_id)})" for h in s.hangs]


# --- instability ---------------------------------------------------------------------------


def fix_words(kind: Kind) -> str:
    return FIXES[kind]


def instability_section(summary: Summary) -> str:
    lines = ["## Instability", ""]
    if not summary.instability:
        lines.append("No test ended differently between strategies or between runs.")
        return "\n".join(lines)
    lines += [
        "Tests whose outcome differs between strategies or between runs of one strategy, "
        "classified by how it differs:",
        "",
        "| Test | Kind | Runs | Phase | Outcomes | First line of the error |",
        "|---|---|---:|---|---|---|",
    ]
    lines += [_unstable_row(u) for u in summary.instability]
    lines += ["", "What to do:", ""]
    for u in summary.instability:
        lines.append(f"- {code(u.nodeid)} ({u.kind}): {fix_words(u.kind)}.")
    return "\n".join(lines)


def _unstable_row(u: UnstableTest) -> str:
    outcomes = "; ".join(
        f"{code(s.strategy)}: "
        + ", ".join(f"{n} {o}" for o, n in s.outcomes)
        + (f" ({s.flips} flips)" if s.flips else "")
        for s in u.seen
    )
    return (
        f"| {cell(code(u.nodeid))} | {u.kind} | {u.runs} | {', '.join(u.phases) or '-'} "
        f"| {cell(outcomes)} | {cell(text(first_line(u.message))) or '-'} |"
    )


# --- time per file -------------------------------------------------------------------------


def files_table(p: Profile) -> list[str]:
    if not p.files:
        return []
    lines = [
        "",
        "### Time by file",
        "",
        "The slowest files.",
        "",
        "| File | Tests | Time | Share |",
    ]
    lines.append("|---|---:|---:|---:|")
    lines += [
        f"| {cell(code(f.path))} | {f.tests} | {seconds(f.seconds)} | {f.share:.1%} |"
        for f in p.files
    ]
    return lines
