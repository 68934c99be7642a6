"""Exports for the CI engines teams already run, from any results folder.

- pytest-split's `.test_durations`: a JSON object, node id -> seconds (setup + call + teardown,
  as pytest-split's own --store-durations sums them), keys sorted, indented as it writes it.
- JUnit XML with per-test times and a `file` attribute on each testcase: CircleCI's
  `tests split --split-by=timings` matches tests to files by it; Buildkite and GitLab read the
  same. classname and name are pytest's own (its junitxml's mangling of the node id).
- The shard plan: one file of node ids per shard, one a line, as `pytest @FILE` reads them.

All from one run: the newest counted, whole run of the project's full-scope baseline, the run
benchlib's own shards are split by (parts.baseline_durations). I/O stays in `write`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from benchlib.analyze import parts, resultset
from benchlib.errors import InputError
from benchlib.model import results
from benchlib.model.records import TestRecord
from benchlib.plan import shards

DURATIONS_FILE = ".test_durations"
JUNIT_FILE = "junit.xml"
# Characters XML 1.0 cannot hold, even escaped: written as \xNN, as pytest's junitxml does.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Source:
    """The run the exports are made from."""

    run_id: str
    strategy: str
    dist: str | None
    tests: tuple[TestRecord, ...]  # collection errors left out: they are files, not tests


def source(folder: Path) -> Source:
    """Return the newest counted baseline run in folder; raise InputError when there is none."""
    rs = resultset.load([folder])
    # Whichever project the folder holds: the newest baseline run wins.
    found = [r for r in rs.runs if parts.is_baseline(r, r.result.target.identity)]
    for run in sorted(found, key=lambda r: (r.result.started_at, r.result.run_id), reverse=True):
        try:
            tests = tuple(t for t in run.tests() if t.phase != "collect")
        except results.ResultError:
            continue  # unreadable now: the next newest will do
        if tests:
            r = run.result
            return Source(r.run_id, r.strategy.name, r.strategy.dist, tests)
    raise InputError(
        "results", str(folder), "holds no completed run of the full-scope baseline",
        "run it there first (`benchlib run serial-full`), or give the folder it wrote",
    )  # fmt: skip


def test_durations(src: Source) -> str:
    """Return pytest-split's durations file: node id -> seconds, as it writes it."""
    return json.dumps({t.nodeid: t.duration_s for t in src.tests}, sort_keys=True, indent=4)


def names(nodeid: str) -> tuple[str, str, str]:
    """Return (classname, name, file) for a node id, as pytest's junitxml makes them."""
    path, bracket, params = nodeid.partition("[")
    parts = path.split("::")
    file = parts[0]
    parts[0] = re.sub(r"\.py$", "", parts[0].replace("/", "."))
    parts[-1] += bracket + params
    return ".".join(parts[:-1]), parts[-1], file


def _safe(value: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02X}", value)


_FAILED = {"failed": "failure", "error": "error", "xpassed": "failure"}


def junit_xml(src: Source) -> str:
    """Return one testsuite of the run's tests, each with its time and file."""
    count = {k: sum(t.outcome in k for t in src.tests) for k in ("failed", "error", "skipped")}
    suite = ET.Element(
        "testsuite",
        name=_safe(f"benchlib {src.strategy} {src.run_id}"),
        tests=str(len(src.tests)),
        failures=str(count["failed"] + sum(t.outcome == "xpassed" for t in src.tests)),
        errors=str(count["error"]),
        skipped=str(count["skipped"] + sum(t.outcome == "xfailed" for t in src.tests)),
        time=f"{sum(t.duration_s for t in src.tests):.3f}",
    )
    for t in src.tests:
        classname, name, file = names(t.nodeid)
        case = ET.SubElement(
            suite, "testcase", classname=_safe(classname), name=_safe(name),
            file=_safe(file), time=f"{t.duration_s:.6f}",
        )  # fmt: skip
        tag = _FAILED.get(t.outcome) or ("skipped" if t.outcome in ("skipped", "xfailed") else "")
        if tag:
            ET.SubElement(case, tag, message=_safe(t.message or t.outcome))
    root = ET.Element("testsuites", name="benchlib")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def shard_lists(src: Source, count: int) -> dict[str, str]:
    """Return the shard plan benchlib would run: file name -> node ids, one a line."""
    ids = [t.nodeid for t in src.tests]
    seconds = {t.nodeid: t.duration_s for t in src.tests}
    planned = shards.split(ids, count, seconds, src.dist)
    return {
        f"shard-{s.index}-of-{count}.txt": "".join(f"{n}\n" for n in s.nodeids) for s in planned
    }


def write(folder: Path, out: Path, shards: int | None) -> tuple[Source, list[Path]]:
    """Write the exports of folder's baseline into out; return the run and the files."""
    src = source(folder)
    files = {DURATIONS_FILE: test_durations(src) + "\n", JUNIT_FILE: junit_xml(src)}
    if shards:
        files |= shard_lists(src, shards)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            results.write_atomic(out / name, text)
    except OSError as exc:
        raise InputError(
            "out", str(out), f"cannot hold the exports ({exc.strerror or exc})",
            "give a folder you can write",
        ) from None  # fmt: skip
    return src, [out / name for name in files]
