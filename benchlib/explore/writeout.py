"""What explore leaves behind: explore.md (a pull-request description), a patch for the
project's own files, and every candidate as a strategy in TOML.

Renderers return strings; `write` is the one place that writes files (atomically), and
`apply` the one place that changes the project's files, only when asked (--apply).
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from benchlib.explore.candidates import Candidate, Change
from benchlib.explore.catalogue import BY_NAME
from benchlib.explore.race import Entry, Outcome
from benchlib.model import results
from benchlib.plan.config import SCAN_STRATEGIES_FILE, STRATEGIES_FILE
from benchlib.plan.strategy import Strategy

# Variables the race sets for itself, never part of a strategy a maintainer runs.
RACE_ONLY_ENV = ("COVERAGE_FILE",)
GC_HOOK = """

# Added by benchlib explore (pypa/packaging #1385): the collected items live all session, so
# the garbage collector stops scanning them once collection is done.
def pytest_collection_finish(session):
    import gc

    gc.collect()
    gc.freeze()
"""
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if _BARE.fullmatch(name) else json.dumps(name)


def _toml_value(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {json.dumps(x)}" for k, x in v.items()) + " }"
    if isinstance(v, tuple | list):
        return "[" + ", ".join(json.dumps(x) for x in v) + "]"
    return json.dumps(v)


def strategy_table(c: Candidate, lane: str, name: str | None = None) -> str:
    """Return a candidate as a [tool.benchlib.strategies.NAME] table that runs like the lane."""
    return table(c.strategy, c.summary, lane, name)


def table(s: Strategy, description: str, lane: str, name: str | None = None) -> str:
    """Return a strategy as a table: the lane's selection (like), its own workers, args, env."""
    fields: dict[str, object] = {"description": description, "like": lane, "compare_to": lane}
    fields["workers"] = s.workers
    if s.dist and s.workers:
        fields["dist"] = s.dist
    if s.args:
        fields["args"] = list(s.args)
    env = {k: v for k, v in s.env.items() if k not in RACE_ONLY_ENV}
    if env:
        fields["env"] = env
    head = f"[tool.benchlib.strategies.{_key(name or s.name)}]"
    return head + "\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in fields.items())


def runnable_name(name: str) -> str:
    """Return a scan variant's name as a strategy name (gate@n2-load -> gate.n2-load)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", name.replace("@", ".", 1))


def write_scan_variants(folder: Path, variants: Sequence[Strategy], base: Strategy) -> Path:
    """Write a scan's variants beside its results, where config.load finds them."""
    path = folder / SCAN_STRATEGIES_FILE
    results.write_atomic(path, scan_toml(variants, base.name))
    return path


def scan_toml(variants: Sequence[Strategy], base: str) -> str:
    """Return a scan's variants as strategies `benchlib run NAME` runs (scan-strategies.toml)."""
    out = ["# Written by benchlib scan: `benchlib run NAME` confirms any variant.\n"]
    for v in variants:
        if v.name != base:
            name = runnable_name(v.name)
            out.append(f"# the scan's {v.name}\n" + table(v, v.description, base, name))
    return "\n".join(out)


def strategies_toml(o: Outcome) -> str:
    """Return every candidate, and the pick as `LANE.pick`, as strategies `benchlib run` runs."""
    lane = o.lane
    out = ["# Written by benchlib explore: `benchlib run NAME` confirms any of these.\n"]
    entries = [*o.entries, *([o.combined] if o.combined else [])]
    out += [strategy_table(e.candidate, lane) for e in entries]
    if o.pick is not None:
        out.append(strategy_table(o.pick.candidate, lane, f"{lane}.pick"))
    return "\n".join(out)


# --- the patch ------------------------------------------------------------------------------


def _addopts(change: Change) -> list[str]:
    opts: list[str] = []
    if change.workers is not None:
        opts += ["-n", str(change.workers)] if change.workers else ["-n", "0"]
        if change.workers and change.dist:
            opts += ["--dist", change.dist]
    return [*opts, *change.args]


def _section_span(lines: list[str], header: str) -> tuple[int, int] | None:
    try:
        start = lines.index(header)
    except ValueError:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return start, end


def _toml_set(text: str, header: str, key: str, add: Sequence[str] | str) -> str:
    """Add to a key of a TOML section (a list or string addopts), or set a string key."""
    lines = text.splitlines()
    span = _section_span(lines, header)
    if span is None:
        value = json.dumps(add) if isinstance(add, str) else _toml_value(list(add))
        return text.rstrip("\n") + f"\n\n{header}\n{key} = {value}\n"
    start, end = span
    at = next((i for i in range(start + 1, end) if re.match(rf"{key}\s*=", lines[i])), None)
    if isinstance(add, str) or at is None:
        value = json.dumps(add) if isinstance(add, str) else _toml_value(list(add))
        if at is None:
            lines.insert(start + 1, f"{key} = {value}")
        else:
            lines[at] = f"{key} = {value}"
        return "\n".join(lines) + "\n"
    line = lines[at]
    _, _, rhs = line.partition("=")
    rhs = rhs.strip()
    if rhs.startswith("["):
        close = next(i for i in range(at, end) if lines[i].rstrip().endswith("]"))
        items = ", ".join(json.dumps(x) for x in add)
        body = lines[close].rstrip()[:-1].rstrip()
        sep = "" if body.endswith("[") or body.endswith(",") else ","
        lines[close] = f"{body}{sep} {items}]" if close == at else f"    {items},\n]"
        if close != at:
            lines[close - 1] = lines[close - 1].rstrip().rstrip(",") + ","
    else:
        old = json.loads(rhs) if rhs.startswith('"') else rhs.strip("'")
        lines[at] = f"{key} = {json.dumps((old + ' ' + shlex.join(add)).strip())}"
    return "\n".join(lines) + "\n"


def _ini_addopts(text: str, add: Sequence[str]) -> str:
    lines = text.splitlines()
    span = _section_span(lines, "[pytest]")
    if span is None:
        return text
    at = next((i for i in range(*span) if re.match(r"addopts\s*=", lines[i])), None)
    if at is None:
        lines.insert(span[0] + 1, f"addopts = {shlex.join(add)}")
    else:
        lines[at] = f"{lines[at].rstrip()} {shlex.join(add)}"
    return "\n".join(lines) + "\n"


def changed_files(target: Path, change: Change) -> dict[Path, tuple[str, str]]:
    """Return each project file the change touches: (its text now, its text after)."""
    files: dict[Path, tuple[str, str]] = {}

    def edit(path: Path, how: object) -> None:
        old = files[path][1] if path in files else (path.read_text() if path.is_file() else "")
        new = how(old)  # type: ignore[operator]
        if new != old:
            files[path] = (files[path][0] if path in files else old, new)

    opts = _addopts(change)
    ini, pyproject = target / "pytest.ini", target / "pyproject.toml"
    if opts and ini.is_file():  # pytest reads pytest.ini first, whatever pyproject says
        edit(ini, lambda t: _ini_addopts(t, opts))
    elif opts:
        edit(pyproject, lambda t: _toml_set(t, "[tool.pytest.ini_options]", "addopts", opts))
    if change.coverage_core:
        core = change.coverage_core
        edit(pyproject, lambda t: _toml_set(t, "[tool.coverage.run]", "core", core))
    if change.gc_freeze:
        edit(target / "conftest.py", lambda t: t + GC_HOOK)
    return files


def patch(target: Path, files: Mapping[Path, tuple[str, str]]) -> str:
    """Return the files' changes as one unified diff, paths relative to the project."""
    out: list[str] = []
    for path, (old, new) in files.items():
        rel = path.relative_to(target).as_posix()
        a = f"a/{rel}" if old else "/dev/null"
        out += difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), a, f"b/{rel}"
        )
    return "".join(out)


def apply(files: Mapping[Path, tuple[str, str]]) -> list[Path]:
    """Write the changed files into the project (only with --apply)."""
    for path, (_, new) in files.items():
        results.write_atomic(path, new)
    return list(files)


# --- explore.md ------------------------------------------------------------------------------


def _ratio(e: Entry) -> tuple[str, str, str]:
    j = e.judgement
    if j is None or j.speedup is None:
        return "—", "—", "—"
    ci = f"{j.ci_low:.2f}–{j.ci_high:.2f}" if j.ci_low is not None and j.ci_high else "none yet"
    return f"{j.speedup:.2f}×", ci, f"{j.n_before}/{j.n_after}" + (" paired" if j.paired else "")


def _equal(e: Entry) -> tuple[str, str]:
    v = e.verdict
    if v is None:
        return "—", "—"
    outcomes = "no" if any("ended differently" in r for r in v.reasons) else "yes"
    if v.coverage_equal is None:
        cov = "not measured"
    else:
        a, b = v.coverage_pct or (0.0, 0.0)
        cov = f"{'yes' if v.coverage_equal else 'no'} ({a:.2f}% / {b:.2f}%)"
    return outcomes, cov


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _evidence(entries: Iterable[Entry]) -> list[str]:
    rows = [
        "| candidate | lever | lane ÷ candidate | 95% interval | runs (lane/cand.) | "
        "outcomes equal | coverage equal | standing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        r, ci, n = _ratio(e)
        outcomes, cov = _equal(e)
        standing = _esc(e.dropped) if e.dropped else "kept"
        levers = ", ".join(e.candidate.levers)
        rows.append(f"| `{e.candidate.strategy.name}` | {levers} | {r} | {ci} | {n} | "
                    f"{outcomes} | {cov} | {standing} |")  # fmt: skip
    return rows


def _machine(o: Outcome) -> str:
    run = o.machine
    if run is None:
        return "no run of the lane completed"
    m = run.machine
    return (f"{m.cpu_model}, {m.cpus_usable} usable CPUs ({m.cpus_logical} logical), "
            f"{m.memory_bytes / 2**30:.1f} GiB, Python {m.python}, {m.os}; load average "
            f"{o.load[0]:.2f} at the start, {o.load[1]:.2f} at the end")  # fmt: skip


def headline(o: Outcome) -> str:
    """Say the pick in one line, or that there is none."""
    if o.pick is None:
        return (f"No change: no candidate was shown faster than `{o.lane}` with a 95% "
                "interval, so none is recommended.")  # fmt: skip
    j = o.pick.judgement
    assert j is not None and j.speedup is not None
    return (f"**{o.pick.candidate.summary}**: {j.speedup:.2f}× faster than `{o.lane}` "
            f"(95% interval {j.ci_low:.2f}–{j.ci_high:.2f}, {j.paired} paired rounds; "
            f"{j.before_s:.2f} s → {j.after_s:.2f} s).")  # fmt: skip


def _suspects(entries: Iterable[Entry]) -> list[str]:
    found = []
    for e in entries:
        if e.verdict and e.verdict.suspect:
            tests = "; ".join(e.verdict.suspect[:10])
            found.append(f"- `{e.candidate.strategy.name}`: gain suspect, these tests took "
                         f"under a quarter of their lane time: {_esc(tests)}")  # fmt: skip
    return found


def markdown(o: Outcome, patch_text: str) -> str:
    """Render explore.md: a pull-request description a maintainer can read and merge."""
    entries = [*o.entries, *([o.combined] if o.combined else [])]
    lines = [f"# Faster tests for `{o.lane}`", "", headline(o), ""]
    lines += ["## Evidence", "", *_evidence(entries), ""]
    lines += [f"Rounds: {o.rounds}; runs: {o.runs}; time spent running: {o.spent_s:.0f} s of "
              f"a {o.budget_s:.0f} s budget; stopped: {o.stopped}.", ""]  # fmt: skip
    lines += ["The rule that picked it:", "", f"> {o.rule}", ""]
    suspects = _suspects(entries)
    if suspects:
        lines += ["## Suspect gains", "", *suspects, ""]
    lines += ["## Tried and rejected", ""]
    lines += [f"- `{e.candidate.strategy.name}`: {_esc(e.dropped)}" for e in entries if e.dropped]
    lines += ["", "Not tried (the lever does not apply here):", ""]
    lines += [f"- {name}: {_esc(why)}" for name, why in o.not_applicable] or ["- none"]
    lines += ["", "## The machine", "", _machine(o), ""]
    lines += ["## Recheck on a bigger machine", "", _recheck(o), ""]
    lines += ["## The change", ""]
    lines += ["```diff", patch_text.rstrip("\n"), "```", ""] if patch_text else ["(no file)", ""]
    env = _env_note(o)
    if env:
        lines += [env, ""]
    sources = sorted({BY_NAME[n].source for n in (o.pick.candidate.levers if o.pick else ())})
    if sources:
        lines += ["Evidence elsewhere: " + "; ".join(sources), ""]
    return "\n".join(lines)


def _recheck(o: Outcome) -> str:
    run = o.machine
    cpus = run.machine.cpus_usable if run is not None else 0
    return (
        f"These runs had {cpus} usable CPUs. Worker counts and `--dist` modes scale with "
        "the CPUs: rerun `benchlib explore` on the CI runner class that will run the "
        "change (`benchlib run NAME` with the strategies in strategies.toml confirms "
        "one by name). The coverage core and plugin levers do not depend on CPU count."
    )


def _env_note(o: Outcome) -> str | None:
    if o.pick is None:
        return None
    core = o.pick.candidate.change.coverage_core
    lane_core = o.lane_env.get("COVERAGE_CORE")
    if core and lane_core and lane_core != core:
        return (f"The lane sets `COVERAGE_CORE={lane_core}` in its environment, which overrides "
                f"the file: remove it where the tests run (or set it to `{core}`).")  # fmt: skip
    if not o.pick.candidate.change.env:
        return None
    pairs = " ".join(f"{k}={v}" for k, v in o.pick.candidate.change.env.items())
    return (
        f"Also set `{pairs}` in the environment where the tests run (the CI workflow's "
        "`env:`, nox's `session.env`, tox's `setenv`): no project file can set it for pytest."
    )


def write(o: Outcome, target: Path, out: Path, *, do_apply: bool) -> list[Path]:
    """Write explore.md, explore.patch and strategies.toml into out; apply the patch if asked.

    strategies.toml goes where config.load finds it (the results folder), so `benchlib run
    NAME` runs any candidate by name.
    """
    files = changed_files(target, o.pick.candidate.change) if o.pick else {}
    text = patch(target, files)
    written = [out / "explore.md", out / "explore.patch", out / STRATEGIES_FILE]
    results.write_atomic(written[0], markdown(o, text))
    results.write_atomic(written[1], text)
    results.write_atomic(written[2], strategies_toml(o))
    if do_apply:
        written += apply(files)
    return written
