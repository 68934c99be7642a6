"""One wording for every renderer: verdicts, deltas, noise, budgets, advice; Markdown escaping.

The Markdown report, summary.json, the terminal table and the gate all say a judgement through
verdict_words, so one pair never reads `0.94×` in one place and `1.07× slower` in another.
Speed-up is before / after, said as "faster" or "slower".
"""

from __future__ import annotations

import re
from urllib.parse import quote

from benchlib import stats
from benchlib.analyze.advice import Recommendation, Settle, Tradeoff
from benchlib.analyze.busy import Finding, Load
from benchlib.analyze.judge import Judgement, NoiseWarning
from benchlib.analyze.runfacts import RunRef
from benchlib.model.results import COMPLETED

TIMES = "\N{MULTIPLICATION SIGN}"  # as in "1.89× faster", typeset
RSS_NOTE = "summed over the process tree; shared pages counted once per process"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|~])")


# --- Markdown escaping: everything that comes from the suite goes through these -------------


def text(value: str | None) -> str:
    """Return suite text (a message, a description) that renders as itself in Markdown."""
    if not value:
        return ""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", escaped.replace("\n", " "))


def code(value: str) -> str:
    """Return value as an inline code span that no backtick inside it can close early."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value.replace(chr(10), ' ')}{pad}{fence}"


# A pipe not already escaped: preceded by an even number of backslashes (none included).
_BARE_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")


def cell(value: str) -> str:
    """Make already-escaped Markdown safe inside a table cell.

    A pipe text() escaped stays as it is: escaping it again (`\\|`) would escape the
    backslash and leave the pipe bare, splitting the cell.
    """
    return _BARE_PIPE.sub(r"\1\\|", value)


def fence(value: str, language: str = "") -> list[str]:
    """Return a fenced block that no backtick run in value can close."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    marks = "`" * max(3, longest + 1)
    return [f"{marks}{language}", value, marks]


def link(path: str) -> str:
    return f"[{text(path)}]({quote(path, safe='/:.-_~')})"


# A first line longer than this is cut in its middle: an error's first line can be a whole
# command line (CalledProcessError), whose start says what ran and whose end says how it ended.
LINE_CHARS = 160


def first_line(value: str | None) -> str:
    """Return a message's first line, cut in the middle if it is long (the file keeps it all)."""
    return shorten(value.splitlines()[0]) if value else ""


def shorten(value: str, limit: int = LINE_CHARS) -> str:
    """Return value, or its start and end joined by an ellipsis, in at most limit characters."""
    if len(value) <= limit:
        return value
    head = (limit - 1) * 2 // 3
    return f"{value[:head]}\N{HORIZONTAL ELLIPSIS}{value[head + 1 - limit :]}"


# --- numbers -------------------------------------------------------------------------------


def count(n: int, noun: str, plural: str | None = None) -> str:
    """Say a count with its noun in the right number: `1 test`, `2 tests`."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def seconds(value: float) -> str:
    return f"{value:.2f}s"


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def budget_value(unit: str, value: float) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "bytes":
        return mib(value)
    return f"{value:g}"


# --- a judgement ---------------------------------------------------------------------------


def factor_words(speedup: float) -> str:
    """Say a speed-up (before / after) the one way: `1.89× faster`, `1.07× slower`."""
    if speedup >= 1:
        return f"{speedup:.2f}{TIMES} faster"
    return f"{1 / speedup:.2f}{TIMES} slower"


def delta_words(j: Judgement) -> str:
    """Say a before/after delta as the report does: `-101.71s (~46.96% faster)`."""
    if j.delta_s is None or j.change_pct is None:
        return "n/a"
    word = "faster" if j.change_pct >= 0 else "slower"
    return f"{j.delta_s:+.2f}s (~{abs(j.change_pct):.2f}% {word})"


def _runs_words(j: Judgement) -> str:
    if j.paired:
        # One bench that ran both sides is a plain local run: its jobs go without saying.
        jobs = len(j.benches)
        return count(j.paired, "pair") + (f" in {jobs} jobs" if jobs > 1 else "")
    if j.n_before == j.n_after:
        return f"{j.n_before} runs each" if j.n_before != 1 else "a single run each"
    return f"{j.n_before} and {j.n_after} runs"


def _interval_words(j: Judgement) -> str:
    assert j.ci_low is not None and j.ci_high is not None and j.speedup is not None
    # Said in the factor's own direction: a slowdown's interval as slowdowns.
    low, high = (j.ci_low, j.ci_high) if j.speedup >= 1 else (1 / j.ci_high, 1 / j.ci_low)
    return f"95% CI {low:.2f}\N{EN DASH}{high:.2f}"


def verdict_words(j: Judgement) -> str:
    """Say a judgement as every report says it: `1.89× faster (95% CI 1.81–1.97, 5 runs each)`."""
    if j.word == "not compared" or j.speedup is None:
        return f"not compared: {j.note}"
    factor = factor_words(j.speedup)
    settle = f"{j.settle_runs} {'pairs' if j.paired else 'runs a side'} would settle it"
    if j.word in ("faster", "slower"):
        return f"{factor} ({_interval_words(j)}, {_runs_words(j)})"  # ends with one ")"
    if j.word == "single run":
        return f"{factor} on {_runs_words(j)}: not significant; {settle}"
    if j.ci_low is None:
        return (
            f"no significant difference ({factor} by median; {_runs_words(j)} are too few "
            f"for a 95% interval; {settle})"
        )
    floor = (
        f"; under the noise floor of {j.noise_floor:.1%}" if "noise floor" in (j.note or "") else ""
    )
    evidence = f"{_interval_words(j)}, {_runs_words(j)}{floor}"
    return f"no significant difference ({factor} by median; {evidence})"


def selection_words(count: int) -> str:
    return f"its runs selected {count} different sets of tests: their times measure different work"


def noise_words(w: NoiseWarning) -> str:
    if w.kind == "cv":
        return f"coefficient of variation {w.value:.1%} is over {stats.CV_LIMIT:.0%}"
    c = w.cold
    if c is None:
        return f"first run is {w.value:.0%} slower than the rest"
    how = "a warm-up, left out as every warm-up is" if c.warmup else "left out of the statistics"
    return (
        f"its cold first run took {seconds(c.wall_s)} against {seconds(c.warm_s)} for the "
        f"later runs (+{w.value:.0%}): {how}"
    )


# --- the machine's load -----------------------------------------------------------------------


def _cpus(n: int) -> str:
    return f"{n} CPU{'s' if n != 1 else ''}"


def load_words(load: Load) -> str:
    """Say what others took of a run's CPUs: `other processes took 48% of its 2 CPUs`."""
    steal = f", the hypervisor {load.steal:.0%} more" if load.steal and load.steal >= 0.01 else ""
    return f"other processes took {load.others:.0%} of its {_cpus(load.cpus)}{steal}"


def busy_mark(load: Load | None) -> str:
    """Return the mark of a run taken on a busy machine, or nothing."""
    if load is None or not load.busy:
        return ""
    return f"busy machine: {load_words(load)}"


def busy_runs_words(busy: int, runs: int) -> str:
    if busy == runs:
        which = "its run was" if runs == 1 else f"all {runs} of its runs were"
    else:
        which = f"{busy} of its {runs} runs {'was' if busy == 1 else 'were'}"
    return f"{which} taken on a busy machine (see the runs)"


def run_marks(r: RunRef) -> str:
    """Return what a run is marked with in a list of runs: left out as cold, busy machine."""
    marks = [busy_mark(r.load)] if r.busy else []
    if r.status in COMPLETED and not r.counted and not r.warmup:
        marks.append("cold first run (left out of statistics)")
    return "".join(f", {m}" for m in marks)


def finding_words(f: Finding, md: bool = True) -> str | None:
    """Say what the runs' load says of the machine; None when no load was measured."""
    if not f.measured or f.worst is None or f.cpus is None:
        return None
    limit = f"{f.threshold:.0%} or more of the CPUs"
    worst = f"up to {f.worst:.0%} of {_cpus(f.cpus)}"
    if f.too_busy_to_judge:
        names = ", ".join(code(n) if md else n for n in f.too_busy)
        return (
            f"The machine was too busy to judge: other processes took {limit} during "
            f"{f.busy} of {f.measured} runs ({worst}), at least half the runs of {names}; "
            "rerun when it is quiet."
        )
    if f.busy:
        return (
            f"{f.busy} of {f.measured} runs were taken on a busy machine (other processes took "
            f"{limit}, {worst}); they are marked, and are under half of any strategy's runs."
        )
    return f"The machine was quiet: other processes took at most {f.worst:.0%} of its CPUs."


# --- advice (Markdown: strategy names as code) -----------------------------------------------


def recommendation_words(r: Recommendation, baseline: str | None) -> str:
    name, base = code(r.strategy or ""), code(baseline or "")
    j = r.judgement
    if r.rule == "baseline":
        return "No full-scope baseline ran, so no lane can be recommended; run `serial-full` first."
    if r.rule == "settle" and r.settle is not None:
        return settle_words(r.settle)
    if r.rule == "busy" and r.load is not None:
        return f"Nothing is recommended. {finding_words(r.load) or 'The machine was too busy.'}"
    if r.rule in ("local", "gate") and j is None:
        what = "local iteration" if r.rule == "local" else "the quality gate"
        evidence = _keep_evidence(r)
        return f"No lane is significantly faster than {base}, so keep it for {what}{evidence}."
    if r.rule == "local" and j is not None:
        return f"Use {name} for local iteration: {_against(j)}{_versus(r)}{_caveat(r)}."
    if r.rule == "gate" and j is not None:
        return f"Use {name} as the quality gate: full scope, no new failures, {_against(j)}."
    if r.rule == "parallel-failures":
        return _parallel_words(r, name)
    return _warning_words(r, name)


def settle_words(s: Settle) -> str:
    """Say that nothing is recommended yet, and what would settle the lanes: runs and time."""
    base, lanes = code(s.strategies[0]), [code(n) for n in s.strategies[1:]]
    them = "it" if len(lanes) == 1 else "them"
    names = " ".join(s.strategies)
    return (
        f"Nothing is recommended yet: {_and(lanes)} against {base} "
        f"{'has' if len(lanes) == 1 else 'have'} too few runs for a 95% interval. "
        f"{s.runs} runs a side would settle {them}: `benchlib run {names} --repeat {s.runs}` "
        f"takes about {minutes(s.seconds)} here (a warm-up round and {s.runs} rounds of "
        f"{seconds(s.round_s)})."
    )


def minutes(value_s: float) -> str:
    """Say a duration in the unit a person plans by: `45s`, `2.5 minutes`, `1.2 hours`."""
    if value_s < 90:
        return f"{value_s:.0f}s"
    if value_s < 5400:
        return f"{value_s / 60:.1f} minutes"
    return f"{value_s / 3600:.1f} hours"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _keep_evidence(r: Recommendation) -> str:
    """Say what keeping the baseline rests on: the closest lane's verdict, the hangs."""
    parts = []
    if r.closest is not None:
        parts.append(f"the closest lane, {code(r.closest.after)}: {verdict_words(r.closest)}")
    for h in r.hangs:
        why = f" ({text(h.message)})" if h.message else ""
        runs = f"{h.runs} of {count(h.runs_total, 'run')}"
        parts.append(f"{code(h.strategy)} hung: {runs} timed out{why}")
    return ": " + "; ".join(parts) if parts else ""


def _versus(r: Recommendation) -> str:
    """Say how the subset lane compared with the fastest full-scope lane."""
    v = r.versus
    if v is None:
        return ""
    if v.after == r.strategy:
        full = code(v.before)
        return f", significantly faster than the fastest full-scope lane {full}: {verdict_words(v)}"
    return (
        f"; the subset lane {code(v.after)} is not significantly faster than it, so leaving "
        f"tests out buys nothing: {verdict_words(v)}"
    )


def _parallel_words(r: Recommendation, name: str) -> str:
    how = f" ({text(r.detail)})" if r.detail else ""
    more = f" and {r.count - 1} more test{'s' if r.count > 2 else ''}" if r.count > 1 else ""
    gain = f": against the baseline it is {verdict_words(r.judgement)}" if r.judgement else ""
    return (
        f"Fix {code(r.example or '')}{how}{more}, which fail{'s' if r.count == 1 else ''} only in "
        f"the parallel lane {name} and never in the baseline, to unlock it{gain}."
    )


def _warning_words(r: Recommendation, name: str) -> str:
    j = r.judgement
    before = code(j.before) if j else ""
    if r.rule == "slower" and j is not None:
        return f"Do not use {name}: it is slower than {before}, {verdict_words(j)}."
    if r.rule == "unsettled" and j is not None:
        return f"{name} against {before} is not settled: {verdict_words(j)}."
    if r.rule == "no-gain" and j is not None:
        return f"{name} gives no significant gain over {before}: {verdict_words(j)}."
    if r.rule == "instability":
        tests = f"{r.count} unstable test{'s' if r.count > 1 else ''}"
        return (
            f"Fix or quarantine the {tests} before trusting a lane that runs them, starting "
            f"with {code(r.example or '')}."
        )
    if r.rule == "machines":
        return (
            f"The results come from {r.count} different machines; compare lanes only on one "
            "machine (deltas across machines are marked)."
        )
    if r.rule == "projects":
        return f"The results come from {r.count} different projects; they are never compared."
    return f"{name} breaks its budget {code(r.example or '')}; see its strategy section."


def _against(j: Judgement) -> str:
    assert j.before_s is not None and j.after_s is not None
    versus = f"{seconds(j.after_s)} against {seconds(j.before_s)} for {code(j.before)}"
    return f"{versus}, {verdict_words(j)}"


def _caveat(r: Recommendation) -> str:
    if r.coverage is None:
        return ""
    g = r.coverage
    return (
        f", but it leaves out {g.not_run} of the baseline's tests ({g.share_of_time:.1%} of "
        "its test time), so it does not replace the gate"
    )


def tradeoff_words(t: Tradeoff) -> str:
    j = t.judgement
    if j is not None:
        if t.point == "machines-differ":
            return f"not comparable with {code(j.before)}: {j.note}"
        label = {"faster": "faster than", "slower": "slower than"}.get(t.point, "against")
        return f"{label} {code(j.before)}: {verdict_words(j)}"
    return _FIXED.get(t.point) or _counted(t)


_FIXED = {
    "serial": "no parallel execution: no scheduling overhead, no shared-state races",
    "full-scope": "full scope: runs the whole suite",
}


def _counted(t: Tradeoff) -> str:
    if t.point == "xdist":
        return (
            f"xdist with {count(t.count, 'worker')}: scheduling overhead, and poorly isolated "
            "tests can turn nondeterministic"
        )
    if t.point == "coverage":
        return (
            f"reduced coverage: {t.count} of the baseline's tests not run (see Coverage given up)"
        )
    if t.point == "subset":
        what = f"{t.count} deselected" if t.count else "subset scope"
        return f"reduced coverage ({what}): not a quality-gate replacement"
    if t.point == "new-failures":
        return f"{count(t.count, 'new failure')} against the baseline"
    if t.point == "unstable":
        return f"{count(t.count, 'unstable test')} (see Instability)"
    if t.point == "not-passed":
        return f"not every run passed: {t.fact}"
    if t.point == "more-warnings":
        return f"more warnings: {t.count} against {t.other}"
    return f"breaks its budget {code(t.fact or '')}"
