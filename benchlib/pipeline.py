"""The one summary pipeline: result files in, the explained report out.

`benchlib summary`, `benchlib run --summary`, `benchlib scan` and the tests all go through
read() then write(): the result files are read once, every scan among them analysed, the
facts built, explained once, and every output rendered from that one explanation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import report
from benchlib.analyze import chartdata, fastlane, resultset, summary
from benchlib.analyze.scan import pick, stored
from benchlib.analyze.scan.pick import Rule, ScanResult
from benchlib.analyze.summary import Summary
from benchlib.errors import BenchlibError
from benchlib.explain import explanation
from benchlib.explain.model import Explanation
from benchlib.plan import fit

Adjust = Callable[[ScanResult], ScanResult]


@dataclass(frozen=True)
class Report:
    """What every output shows: the facts, the scans analysed, and their explanation."""

    summary: Summary
    scans: tuple[ScanResult, ...]
    explanation: Explanation
    # The project as `run` found it, coverage given up, the fast lane (fastlane.analyze).
    project: fastlane.Findings | None = None


def read(
    paths: Sequence[Path],
    *,
    workers: int | None = None,
    rule: Rule = "fewest-within-noise",
    memory_budget: pick.Budget = None,
    adjust: Adjust | None = None,
) -> Report:
    """Read every result file under paths, analyse the scans among them, explain it all.

    adjust lets the command that ran a scan add what only it knows (why it stopped, its time).
    """
    rs = resultset.load(paths, workers=workers)
    scans = pick.analyze(rs, rule=rule, memory_budget=memory_budget)
    if adjust is not None:
        scans = tuple(adjust(s) for s in scans)
    # The charts draw every scan: the ones analysed here, and scan.json files found beside
    # (a scan whose runs were moved away); one analysed here wins over its old file.
    found, bad = chartdata.find_scans(paths)
    here = str(paths[0]) if paths else ""
    mine = (chartdata.scan_from_json(stored.to_json(s), here) for s in scans)
    drawn = {c.strategy: c for c in (*found, *mine)}
    facts = summary.build(resultset.ResultSet(rs.runs, (*rs.skipped, *bad)), tuple(drawn.values()))
    project = fastlane.analyze(facts, rs, fit.load(list(paths)))
    return Report(facts, scans, explanation.build(facts, scans), project)


def summarize(paths: Sequence[Path], *, workers: int | None = None) -> Summary:
    """Return the facts of the result files under paths (read() without the words)."""
    return read(paths, workers=workers).summary


def require_runs(r: Report, paths: Sequence[Path]) -> None:
    """Raise BenchlibError when nothing was read: an empty report would pass for a summary of
    nothing in CI (compare says the same)."""
    if r.summary.runs:
        return
    where = ", ".join(repr(str(p)) for p in paths)
    raise BenchlibError(
        f"no result files in {where}; give the files or folders `benchlib run` wrote"
    )


def write(
    r: Report,
    out: Path,
    *,
    scan_of: str | None = None,
    note: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write every output of the report to out; scan.json too for the scan of scan_of."""
    scan_file = next((s for s in r.scans if s.strategy == scan_of), None)
    if scan_file is None and len(r.scans) == 1 and scan_of is None:
        scan_file = r.scans[0]
    return report.write_outputs(
        r.summary, r.explanation, out, scan_file=scan_file, note=note, project=r.project
    )


def stopped(stopped: str | None, time: pick.TimeSplit | None, strategy: str) -> Adjust:
    """Return the adjustment that adds a bench's stop reason and time split to its own scan."""

    def adjust(s: ScanResult) -> ScanResult:
        if s.strategy != strategy:
            return s
        return dataclasses.replace(s, stopped=stopped, time=time)

    return adjust


def terminal(r: Report) -> str:
    """Return what the terminal prints: the table, the hung runs, the recommendations and,
    last, the bottom line."""
    return report.render_table(r.summary, r.explanation)
