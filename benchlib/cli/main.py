"""The `benchlib` command: wires configuration, runs, summaries and comparisons together.

The only place that prints for the user and turns errors into exit codes: 2 for bad input,
130 for an interruption, otherwise the command's own code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from benchlib.cli.arguments import build_parser
from benchlib.errors import BenchlibError, InputError, one_line
from benchlib.plan import config
from benchlib.plan.runplan import RunPlan

UsageError = BenchlibError  # the summary and compare commands' errors

if TYPE_CHECKING:
    from benchlib.analyze import resultset
    from benchlib.measure import bench
    from benchlib.plan import fit, machine


def _results_dir(args: argparse.Namespace, cfg: config.Config) -> Path:
    """Return the results folder: --results relative to here, else the config's (target's)."""
    return Path(args.results).resolve() if args.results else cfg.results


def _interpreter(args: argparse.Namespace, cfg: config.Config) -> machine.Interpreter:
    from benchlib.plan import machine

    python = args.python or cfg.python
    if python and ("/" in python or "\\" in python) and not args.python:
        python = str(cfg.target / python)  # in the config: relative to the target
    if not python:
        found = machine.discover(cfg.target)
        if found is not None:
            python, how = found
            _note(f"tests run with {python} ({how}); --python PY to choose another")
    return machine.probe(python or sys.executable, cfg.target)


def _names(requested: Sequence[str], cfg: config.Config) -> list[str]:
    for name in requested:
        if name not in cfg.strategies:
            raise InputError(
                "strategy", name, "is not configured",
                f"use one of: {', '.join(cfg.strategies)} (`benchlib list` shows them)",
            )  # fmt: skip
    return list(dict.fromkeys(requested)) or list(cfg.strategies)


def check_results_dir(path: Path) -> None:
    """Make the results folder, or raise InputError naming it."""
    try:
        (path / "logs").mkdir(parents=True, exist_ok=True)
        probe = path / ".benchlib-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InputError(
            "results", str(path), f"is not writable ({exc.strerror})", "give a folder you can write"
        ) from None


def _plans(args: argparse.Namespace, cfg: config.Config) -> list[RunPlan]:
    return _fitted_plans(args, cfg)[0]


def _fitted_plans(args: argparse.Namespace, cfg: config.Config) -> tuple[list[RunPlan], fit.Fit]:
    """Return the plans of the strategies that fit the project, and what was found of it."""
    from benchlib.measure import split
    from benchlib.plan import fitplan

    interpreter = _interpreter(args, cfg)
    results_dir = _results_dir(args, cfg)
    check_results_dir(results_dir)
    names = split.with_pairs(_names(args.strategies, cfg), args.pair, cfg.strategies, args.shard)
    workers = fitplan.workers_of(cfg, names, args.workers)
    f = fitplan.fitted(cfg, interpreter, names, workers, args.strategies)
    plans = [
        RunPlan(
            strategy=cfg.strategies[name],
            target=cfg.target,
            interpreter=f.interpreter,
            paths=cfg.paths,
            shared_args=f.shared_args,
            workers=f.workers[name],
            timeout_s=args.timeout or cfg.strategies[name].timeout_s or cfg.timeout_s,
            results_dir=results_dir,
            interval_s=args.interval or cfg.interval_s,
            show_output=args.show_output,
            project=cfg.project,
        )
        for name in f.runnable
    ]
    return plans, f.found


def cmd_run(args: argparse.Namespace) -> int:
    from benchlib.analyze import parts
    from benchlib.cli.progress import Display  # it imports the summary: only `run` needs it
    from benchlib.explain import fitwords
    from benchlib.measure import bench, recording, split
    from benchlib.measure.running import become_subreaper
    from benchlib.plan import fit

    cfg = config.load(Path(args.target))
    fitted, found = _fitted_plans(args, cfg)
    baseline = parts.baseline_durations  # a sharded strategy is split by its durations
    durations = Path(args.durations) if args.durations else None
    plans, notes = split.expand_all(fitted, args.shard, baseline, durations)
    for warning in [*notes, _crowded(max(p.workers for p in plans))]:
        if warning:
            _warn(warning)
    for line in fitwords.lines(found):
        _note(line)
    fit.save(found, plans[0].results_dir)
    become_subreaper()  # this process only runs benches: it may adopt the tree's orphans
    schedule = bench.Schedule(args.repeat, args.warmup, args.budget, args.width)
    if args.base:
        return _run_against_base(args, plans, schedule)
    done = bench.bench(plans, schedule, Display(sys.stderr))
    for r in done.results:
        if r.exit_code in recording.PYTEST_ERRORS and r.message:  # pytest's own reason
            _warn(f"{r.strategy.name} round {r.round + 1}: {r.message}")
    if args.summary:
        # The whole folder, not only this bench's runs: never replace a fuller report.
        _summarize([plans[0].results_dir], plans[0].results_dir, said=True)
    return 0 if done.all_completed else 1


def _crowded(workers: int) -> str | None:
    from benchlib.plan.machine import usable_cpus
    from benchlib.plan.strategy import crowded

    return crowded(workers, usable_cpus())


def _run_against_base(
    args: argparse.Namespace, head: list[RunPlan], schedule: bench.Schedule
) -> int:
    """Bench the target and --base interleaved and paired: a pull request's gate."""
    from benchlib.analyze import parts
    from benchlib.cli.progress import Display
    from benchlib.measure import gatebench, split

    base_cfg = config.load(Path(args.base))
    names = [n for n in dict.fromkeys(p.strategy.name for p in head) if n in base_cfg.strategies]
    for name in {p.strategy.name for p in head} - set(names):
        _warn(f"strategy {name!r} is not configured in --base {args.base}: benched on head only")
    on_base = argparse.Namespace(
        **{**vars(args), "strategies": names, "pair": [], "target": args.base,
           "results": args.base_results, "python": args.base_python or args.python},
    )  # fmt: skip
    durations = Path(args.durations) if args.durations else None
    base, notes = (
        split.expand_all(_plans(on_base, base_cfg), args.shard, parts.baseline_durations, durations)
        if names
        else ([], [])
    )
    for note in notes:
        _warn(f"base: {note}")
    if not base:
        raise InputError(
            "base", args.base, "has none of the strategies to bench", "check out the base"
        )
    done = gatebench.bench_pair(head, base, schedule, Display(sys.stderr))
    return 0 if all(d.all_completed for d in done) else 1


def _warn(text: str) -> None:
    print(f"benchlib: warning: {text}", file=sys.stderr)


def _note(text: str) -> None:
    print(f"benchlib: {text}", file=sys.stderr)


def _warn_skipped(skipped: Sequence[resultset.SkippedFile]) -> None:
    from benchlib.report import skipped_lines

    for line in skipped_lines(skipped):
        _warn(line)


def cmd_list(args: argparse.Namespace) -> int:
    from benchlib.plan import fit
    from benchlib.plan.strategy import selection_text

    cfg = config.load(Path(args.target))
    here = _list_fit(args, cfg)
    if args.json:
        rows = [
            {
                **dataclasses.asdict(s),
                "session": f"bench-{s.name}",
                "not_applicable": dataclasses.asdict(n) if (n := here.get(s.name)) else None,
            }
            for s in cfg.strategies.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = [("strategy", "workers", "selects", "compared to", "timeout", "description")]
    for s in cfg.strategies.values():
        workers = (
            "serial"
            if s.workers == 0
            else f"-n {s.workers}" + (f" --dist {s.dist}" if s.dist else "")
        )
        workers += f", {s.shards} shards" if s.shards > 1 else ""
        workers = f"{len(s.steps)} steps" if s.steps else workers
        timeout = f"{s.timeout_s or cfg.timeout_s:g}s"
        paths = s.paths or cfg.paths
        selects = selection_text(dataclasses.replace(s, paths=paths))
        table.append(
            (s.name, workers, selects, s.compare_to or "(baseline)", timeout, s.description)
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    for n in here.values():
        print(f"not run here: {fit.not_applicable_words(n)}")
    return 0


def _list_fit(args: argparse.Namespace, cfg: config.Config) -> dict[str, fit.NotApplicable]:
    """Return the built-in strategies `run` would leave out here, by name."""
    from benchlib.plan import fit, fitplan

    found = fitplan.ask(cfg, _interpreter(args, cfg))
    if not found.ok:
        _warn(f"the project's pytest cannot configure ({found.error}); `run` will refuse")
        return {}
    names = list(cfg.strategies)
    try:
        _, left = fit.check(
            cfg.strategies, names, fitplan.workers_of(cfg, names, None), found, cfg.declared
        )
    except BenchlibError as exc:
        _warn(exc.message)  # a declared strategy `run` would refuse: said, the list still shown
        return {}
    return {n.strategy: n for n in left}


def cmd_summary(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths or [args.results or "results"]]
    for path in paths:
        if not path.exists():
            raise UsageError(f"results path {str(path)!r} does not exist; run `benchlib run` first")
    out = Path(args.out) if args.out else (paths[0] if paths[0].is_dir() else paths[0].parent)
    _summarize(paths, out)
    return 0


def _summarize(paths: Sequence[Path], out: Path, *, said: bool = False) -> None:
    """Merge the result files under paths into the outputs in out (said: the fit was printed)."""
    from benchlib import pipeline
    from benchlib.explain import fitwords

    r = pipeline.read(paths)
    if [p.resolve() for p in paths] != [out.resolve()]:  # a summary written elsewhere
        from benchlib.analyze import resultset
        from benchlib.render import links

        links.gather(resultset.load(paths).runs, out)  # the logs and traces it links, beside it
    _warn_skipped(r.summary.skipped)
    pipeline.require_runs(r, paths)
    written = pipeline.write(r, out, note=_warn)
    print(pipeline.terminal(r))
    if r.project is not None:
        project = dataclasses.replace(r.project, fit=None) if said else r.project
        for line in fitwords.all_lines(project):  # `run` said the fit before running
            print(line)
    print("wrote " + ", ".join(str(p) for p in written))


def cmd_scan(args: argparse.Namespace) -> int:
    from benchlib import pipeline
    from benchlib.analyze.scan import pick, stored
    from benchlib.cli.progress import Display
    from benchlib.explain import scaling
    from benchlib.explore import writeout
    from benchlib.measure import bench
    from benchlib.plan import scanplan
    from benchlib.plan.machine import usable_cpus

    cfg = config.load(Path(args.target))
    args.strategies, args.workers, args.pair, args.shard = [args.strategy], None, [], None
    (base,) = _plans(args, cfg)
    scanplan.check_whole(base.strategy)
    grid = scanplan.grid(args.workers_axis, args.dist, args.axis, base.interpreter, usable_cpus())
    for note in [*grid.notes, _crowded(max(grid.workers, default=0))]:
        if note:
            _warn(note)
    found = scanplan.variants(base.strategy, grid, usable_cpus())
    if said := scanplan.configured_note(found, grid):
        _warn(said)
    scanplan.check_xdist(found, base.interpreter)
    schedule = bench.Schedule(args.repeat, args.warmup, args.budget, args.width)
    t0 = time.monotonic()
    done = bench.bench(scanplan.plans(base, found), schedule, Display(sys.stderr))
    writeout.write_scan_variants(base.results_dir, [v.strategy for v in found], base.strategy)
    t1 = time.monotonic()

    def timed(s: pick.ScanResult) -> pick.ScanResult:
        split = pick.time_split(done.results, t1 - t0, time.monotonic() - t1)
        return pipeline.stopped(done.stopped, split, args.strategy)(s)

    r = pipeline.read(
        [base.results_dir], rule=args.rule, memory_budget=args.memory_budget, adjust=timed
    )
    mine = next(x for x in r.scans if x.strategy == args.strategy)
    stream = sys.stderr if args.json else sys.stdout
    for skipped in r.summary.skipped:
        _warn(f"skipped {skipped.path}: {skipped.reason}")
    # scan.json first, then the report that draws it: the page has its scaling section now.
    written = pipeline.write(r, base.results_dir, scan_of=args.strategy, note=_warn)
    print("wrote " + ", ".join(str(p) for p in written), file=stream)
    print(scaling.render_table(mine), file=stream, end="")
    for m in mine.mismatches:
        tests = f"{m.count} test{'s' if m.count != 1 else ''}"
        _warn(f"MISMATCH: {m.variant} ended {tests} differently from {m.against}")
    if args.json:
        print(stored.render(mine), end="")
    return 0 if done.all_completed else 1


def cmd_explore(args: argparse.Namespace) -> int:
    from benchlib.cli.progress import Display
    from benchlib.explore import race, writeout

    cfg = config.load(Path(args.target))
    # The project's CI lane where one is declared, else the gate, else the first strategy.
    default = next((n for n in ("ci", "gate") if n in cfg.strategies), next(iter(cfg.strategies)))
    args.strategies, args.workers = [args.strategy or default], None
    args.pair, args.shard = [], None
    (base,) = _plans(args, cfg)
    out = base.results_dir
    base = dataclasses.replace(base, results_dir=out / "explore")
    check_results_dir(base.results_dir)
    budget_s = args.budget * 60 if args.budget is not None else None
    outcome = race.explore(base, budget_s, Display(sys.stderr))
    written = writeout.write(outcome, cfg.target, out, do_apply=args.apply)
    print(f"{race.RULE}\n{writeout.headline(outcome)}\nwrote {', '.join(map(str, written))}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from benchlib import report
    from benchlib.analyze import compare, parts, resultset

    try:
        threshold = compare.parse_threshold(args.threshold)
    except ValueError as exc:
        raise UsageError(f"--threshold: {exc}") from None
    sides = []
    for folder in (args.base, args.current):
        if not Path(folder).is_dir():
            raise UsageError(f"{folder!r} is not a folder of result files")
        loaded, _ = parts.merged(resultset.load([Path(folder)]))  # shards: logical runs
        _warn_skipped(loaded.skipped)
        if not loaded.runs and (folder == args.base or not loaded.skipped):
            raise UsageError(f"no result files in {folder!r}; give a folder `benchlib run` wrote")
        sides.append(loaded)
    # Budgets are the limits recorded in the current runs: no configuration is read.
    try:
        gate = compare.compare(
            sides[0].results, sides[1].results, threshold=threshold,
            skipped=sides[1].skipped, allow_missing=frozenset(args.allow_missing),
        )  # fmt: skip
    except compare.NothingInCommon as exc:
        raise UsageError(str(exc)) from None
    print(report.render_gate(gate))
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:  # a CI job's summary page: the outcome first, in Markdown
        from benchlib.render import gatereport

        report.append_step_summary(Path(step), gatereport.render(gate, args.base, args.current))
    return compare.exit_code(gate)


def cmd_trace(args: argparse.Namespace) -> int:
    from benchlib.model import results, trace

    try:
        result = results.load(Path(args.result))
    except results.ResultError as exc:
        raise UsageError(f"{exc}; give a result file `benchlib run` wrote") from None
    out = Path(args.out) if args.out else trace.path_for(Path(args.result))
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: its folder does not exist")
    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder; give the trace file's path")
    try:
        results.write_atomic(out, trace.dumps(result))
    except OSError as exc:
        raise UsageError(f"--out {str(out)!r} cannot be written ({exc.strerror})") from None
    print(f"wrote {out} (open it in https://ui.perfetto.dev or chrome://tracing)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from benchlib.render import exports

    folder = Path(args.results)
    if not folder.is_dir():
        raise UsageError(f"{str(folder)!r} is not a folder of result files")
    src, written = exports.write(folder, Path(args.out) if args.out else folder, args.shards)
    print(f"from {src.strategy} run {src.run_id} ({len(src.tests)} tests):")
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from benchlib.cli import scaffold

    for line in scaffold.init(
        Path(args.target), python=args.python, benchlib=args.benchlib, gate=args.ci
    ):
        print(line)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "scan": cmd_scan,
    "explore": cmd_explore,
    "list": cmd_list,
    "summary": cmd_summary,
    "compare": cmd_compare,
    "trace": cmd_trace,
    "export": cmd_export,
    "init": cmd_init,
}


POSITIONAL = frozenset({"strategy"})  # inputs given without a flag


def _message(exc: BenchlibError) -> str:
    """Word an error for this command line: an input is named by its option."""
    if isinstance(exc, InputError):
        name = exc.what if exc.what in POSITIONAL else f"--{exc.what}"
        return one_line(f"{name} {exc.value!r} {exc.problem}; {exc.fix}")
    return exc.message


def main(argv: Sequence[str] | None = None) -> int:
    # Inherited from `cmd &`, nohup or a supervisor, an ignored SIGINT would make Ctrl-C and
    # `kill -INT` do nothing: benchlib promises they stop the run and keep its result.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BenchlibError as exc:
        print(f"benchlib: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # bench.Interrupted is a KeyboardInterrupt raised after the run's result was saved.
        print(f"\nbenchlib: {exc or 'interrupted'}", file=sys.stderr)
        return 130
