"""Shards: a duration-balanced split of the exact selection, merged back into one logical run.

Pure tests of the split and of the merge and its node-id check; then the 60-test fixture suite
split into 3 shards for real, each shard its own `benchlib run NAME --shard I/3`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import factories as f
import pytest
import suitekit

from benchlib import pipeline, report
from benchlib.analyze import parts, resultset, summary
from benchlib.errors import InputError
from benchlib.model import results
from benchlib.model.results import Part, RunResult, selection_digest
from benchlib.plan.shards import split

IDS = [f"tests/test_{m}.py::test_{i}" for m in "abc" for i in range(4)]


def shard(
    index: int, of: int, ids: list[str], wall_s: float, *, selection: list[str], **kw: Any
) -> RunResult:
    """One shard's result: its tests, and the part saying which of the selection it was."""
    part = Part(
        "shard", index, of, kw.pop("logical", "sharded-abc-r0"), len(selection),
        selection_digest(selection), kw.pop("assigned", len(ids)), kw.pop("predicted_s", None),
    )  # fmt: skip
    tests = f.tests_(*((n, "passed", 0.1) for n in ids))
    kw.setdefault("bench_id", f"job{index}")
    return f.result("sharded", wall_s=wall_s, tests=tests, part=part, strategy_kw=SHARDED, **kw)


SHARDED = {"compare_to": "serial-full"}


def three_shards(selection: list[str] = IDS, **kw: Any) -> list[RunResult]:
    thirds = [selection[i::3] for i in range(3)]
    return [
        shard(i + 1, 3, ids, 2.0 + i, selection=selection, **kw) for i, ids in enumerate(thirds)
    ]


# --- the split ------------------------------------------------------------------------------


@pytest.mark.unit
def test_longest_first_balances_skewed_durations() -> None:
    ids = [f"t.py::long{i}" for i in range(3)] + [f"t.py::short{i}" for i in range(30)]
    seconds = {n: (0.8 if "long" in n else 0.05) for n in ids}
    shards = split(ids, 3, seconds, None)
    loads = [s.predicted_s or 0 for s in shards]
    assert parts.imbalance(loads) == pytest.approx(0.0, abs=1e-9)
    assert sorted(n for s in shards for n in s.nodeids) == sorted(ids)  # each id once
    assert all(list(s.nodeids) == sorted(s.nodeids, key=ids.index) for s in shards)


@pytest.mark.unit
def test_by_count_would_be_unbalanced_where_durations_are_not() -> None:
    # The by-file fallback balances test counts: skewed durations defeat it, which is why
    # the split uses the baseline's durations when it has them.
    ids = [f"slow.py::t{i}" for i in range(3)] + [
        f"fast{j}.py::t{i}" for j in range(3) for i in range(9)
    ]
    seconds = {n: (0.8 if n.startswith("slow") else 0.02) for n in ids}
    by_file = split(ids, 3, None, None)
    by_time = split(ids, 3, seconds, None)
    time_of = [sum(seconds[n] for n in s.nodeids) for s in by_file]
    assert all(s.predicted_s is None for s in by_file)
    assert (parts.imbalance(time_of) or 0) > 0.5
    assert (parts.imbalance([s.predicted_s or 0 for s in by_time]) or 0) < 0.1


@pytest.mark.unit
@pytest.mark.parametrize(("dist", "unit"), [("loadfile", "file"), ("loadscope", "scope")])
def test_a_dist_mode_group_stays_in_one_shard(dist: str, unit: str) -> None:
    ids = [f"f{c % 2}.py::C{c}::t{i}" for c in range(4) for i in range(3)]
    seconds = dict.fromkeys(ids, 1.0)
    shards = split(ids, 2, seconds, dist)
    cut = (lambda n: n.split("::")[0]) if unit == "file" else (lambda n: n.rsplit("::", 1)[0])
    homes: dict[str, set[int]] = {}
    for s in shards:
        for n in s.nodeids:
            homes.setdefault(cut(n), set()).add(s.index)
    assert all(len(h) == 1 for h in homes.values())
    assert [len(s.nodeids) for s in shards] == [6, 6]


@pytest.mark.unit
def test_a_test_the_baseline_never_ran_counts_as_its_median() -> None:
    ids = ["t.py::a", "t.py::b", "t.py::c", "t.py::new"]
    shards = split(ids, 2, {"t.py::a": 1.0, "t.py::b": 3.0, "t.py::c": 5.0}, None)
    # c (5) | b (3) + new (3) | then a (1) to the first: new counted as 3.0, the median
    assert [s.predicted_s for s in shards] == [6.0, 6.0]


@pytest.mark.unit
def test_a_shard_left_empty_is_refused() -> None:
    with pytest.raises(InputError, match="leave a shard empty: the selection has 2 files"):
        split(["a.py::t", "b.py::t"], 3, None, None)


# --- the merge and its check ----------------------------------------------------------------


def merged(runs: list[RunResult]) -> tuple[resultset.ResultSet, tuple[parts.LogicalRun, ...]]:
    return parts.merged(resultset.from_results(runs))


@pytest.mark.unit
def test_shards_merge_into_one_run_whose_wall_is_the_slowest() -> None:
    rs, (logical,) = merged(three_shards())
    (run,) = rs.runs
    assert logical.check.ok and logical.check.ran == len(IDS)
    assert logical.wall_s == run.result.wall_s == 4.0  # the makespan
    assert logical.total_s == 9.0  # what three CI jobs spent
    assert logical.imbalance == pytest.approx(4.0 / 3.0 - 1)
    assert run.result.outcome.passed == len(IDS) and run.nodeids == frozenset(IDS)
    assert len(run.tests()) == len(IDS)
    assert run.result.bench_id is None  # three jobs: nothing to pair it with


@pytest.mark.unit
def test_a_dropped_test_is_caught() -> None:
    runs = three_shards()
    dropped = dataclasses.replace(runs[1], tests=runs[1].tests[1:])
    _, (logical,) = merged([runs[0], dropped, runs[2]])
    c = logical.check
    assert not c.ok and not c.digest_matches
    assert (c.lost, c.short_parts, c.duplicated) == (1, (2,), 0)


@pytest.mark.unit
def test_a_test_run_twice_is_caught_and_named() -> None:
    runs = three_shards()
    twice = dataclasses.replace(runs[2], tests=runs[2].tests + runs[0].tests[:1])
    _, (logical,) = merged([runs[0], runs[1], twice])
    assert (logical.check.duplicated, logical.check.duplicates) == (1, (IDS[0],))
    assert not logical.check.ok


@pytest.mark.unit
def test_a_missing_shard_makes_the_logical_run_incomplete() -> None:
    rs, (logical,) = merged(three_shards()[:2])
    assert logical.check.missing_parts == (3,)
    assert rs.runs[0].result.status == "crashed"  # it cannot time the strategy
    assert "incomplete: no result for shard 3 of 3" in (rs.runs[0].result.message or "")


@pytest.mark.unit
def test_shards_split_from_other_selections_are_caught() -> None:
    runs = three_shards()
    other = dataclasses.replace(
        runs[2],
        part=dataclasses.replace(runs[2].part, selection_digest="f" * 64),  # type: ignore[arg-type]
    )
    _, (logical,) = merged([runs[0], runs[1], other])
    assert not logical.check.selections_agree and not logical.check.ok


@pytest.mark.unit
def test_a_rerun_of_the_same_shards_is_another_logical_run() -> None:
    first, again = three_shards(), three_shards(started_at="2026-11-26T13:00:00+00:00")
    _, logical = merged([*first, *again])
    assert len(logical) == 2 and all(run.check.ok for run in logical)


@pytest.mark.unit
def test_the_report_shows_parts_balance_and_the_check(tmp_path: Path) -> None:
    runs = three_shards(predicted_s=1.5)
    bad = dataclasses.replace(runs[1], tests=runs[1].tests[1:])
    for r in [f.result("serial-full", wall_s=9.0), runs[0], bad, runs[2]]:
        f.write(r, tmp_path)
    s = pipeline.summarize([tmp_path])
    md = report.render_markdown(s)
    assert "### `sharded` (3 shards, in parallel)" in md
    assert "**FAILED:** 1 of 12 selected tests never ran; shard 2 ran fewer than it was given" in md
    assert "| 1 | 2/3 | 3 of 4 | 1.50s | 3.00s | passed |" in md
    data = json.loads(report.render_json(s))
    (logical,) = data["logical"]
    assert logical["check"]["ok"] is False and logical["check"]["lost"] == 1
    assert "node ids **FAILED:** 1 of 12" in report.render_table(s)


# --- for real -------------------------------------------------------------------------------

PYPROJECT = (
    suitekit.ONLY_THE_BASELINE
    + """\
[tool.benchlib.strategies.sharded]
description = "Every test, three CI jobs"
shards = 3
compare_to = "serial-full"
"""
)


FILE_TESTS = {"test_slow.py": 3, "test_medium.py": 6, "test_quick_a.py": 17}
FILE_TESTS |= {"test_quick_b.py": 17, "test_quick_c.py": 17}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = suitekit.copy_suite("shards", tmp_path)
    (target / "pyproject.toml").write_text(PYPROJECT)
    return target


def run(project: Path, *args: str) -> str:
    proc = suitekit.benchlib(
        "run", *args, "--target", str(project), env=suitekit.env_without_pytest_vars()
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def loaded(folder: Path, name: str) -> list[RunResult]:
    found = [
        results.load(p)
        for p in results.find_result_files([folder])
        if p.name.startswith(f"{name}_")
    ]
    return sorted(found, key=lambda r: r.part.index if r.part else 0)


@pytest.mark.integration
@pytest.mark.slow
def test_three_shards_from_a_baseline_cover_the_selection_once(project: Path) -> None:
    out = project / "results"
    run(project, "serial-full")
    (baseline,) = loaded(out, "serial-full")
    for i in (1, 2, 3):  # three CI jobs, each its own bench
        assert "split by file" not in run(project, "sharded", "--shard", f"{i}/3")
    shards = loaded(out, "sharded")
    assert [r.part.index for r in shards if r.part] == [1, 2, 3]
    assert len({r.bench_id for r in shards}) == 3
    for r in shards:
        assert r.part is not None and r.part.assigned == len(r.tests)
        argfile = next(a for a in r.argv if a.startswith("@"))[1:]
        assert Path(argfile).read_text().split() == [t.nodeid for t in r.tests]
        suitekit.validate(out / f"{r.run_id}.json")
    ran = [t.nodeid for r in shards for t in r.tests]
    assert sorted(ran) == sorted(t.nodeid for t in baseline.tests)  # nothing lost, none twice
    predicted = [r.part.predicted_s for r in shards if r.part]
    assert (parts.imbalance([p or 0 for p in predicted]) or 0) <= 0.10
    (logical,) = pipeline.summarize([out]).logical
    assert logical.check.ok and logical.check.selection_size == 60


@pytest.mark.integration
@pytest.mark.slow
def test_without_a_baseline_the_split_is_by_file_with_a_warning(project: Path) -> None:
    stderr = run(project, "sharded", "--shard", "2/3")
    assert "no baseline result for this project" in stderr and "split by file" in stderr
    (r,) = loaded(project / "results", "sharded")
    assert r.part is not None and r.part.predicted_s is None
    files = Counter(t.nodeid.split("::")[0] for t in r.tests)
    assert files and all(FILE_TESTS[name] == n for name, n in files.items())  # whole files


@pytest.mark.integration
@pytest.mark.slow
def test_shards_split_by_the_durations_of_another_folder(project: Path, tmp_path: Path) -> None:
    # A CI job: the default branch's latest results downloaded beside a fresh results folder.
    latest = tmp_path / "latest"
    run(project, "serial-full", "--results", str(latest))
    stderr = run(project, "sharded", "--shard", "1/3", "--durations", str(latest))
    assert "split by file" not in stderr
    (r,) = loaded(project / "results", "sharded")
    assert r.part is not None and r.part.predicted_s is not None
    empty = tmp_path / "empty"
    empty.mkdir()
    stderr = run(project, "sharded", "--shard", "2/3", "--durations", str(empty))
    assert f"no baseline result for this project in {empty}" in stderr  # said, and where


@pytest.mark.integration
@pytest.mark.slow
def test_a_test_lost_from_a_shard_file_fails_the_summary_check(
    project: Path, tmp_path: Path
) -> None:
    run(project, "sharded")  # the three shards in turn, on one machine
    out = project / "results"
    s = pipeline.summarize([out])
    (logical,) = s.logical
    assert logical.check.ok and logical.kind == "shard" and logical.of == 3
    # Drop one test from shard 2's file, as a shard that lost it would have recorded.
    (second,) = [
        p
        for p in results.find_result_files([out])
        if p.name.startswith("sharded_") and results.load(p).part.index == 2
    ]  # type: ignore[union-attr]
    data = json.loads(second.read_text())
    data["tests"] = data["tests"][1:]
    second.write_text(json.dumps(data))
    (logical,) = pipeline.summarize([out]).logical
    assert (logical.check.ok, logical.check.lost, logical.check.short_parts) == (False, 1, (2,))
    shutil.rmtree(out)


@pytest.mark.unit
def test_suite_text_in_the_parts_section_is_escaped(tmp_path: Path) -> None:
    hostile = ["t.py::test[`|*<b>]", "t.py::ok"]
    host = dataclasses.replace(f.MACHINE, hostname="<img src=x>|*")
    runs = [
        shard(1, 2, hostile, 1.0, selection=hostile, machine=host),
        shard(2, 2, hostile[:1], 1.0, selection=hostile, machine=host),  # run twice
    ]
    md = report.render_markdown(summary.analyze(runs))
    section = md[md.index("## Shards and Steps") :]
    assert "<img" not in section and "&lt;img src=x&gt;\\|\\*" in section
    assert "1 ran in more than one shard: ``t.py::test[`\\|*<b>]``" in section
