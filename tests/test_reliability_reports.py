"""The reliability lane, reports: the fault cases about what benchlib reads and writes, on
real runs: other projects, wrong types, unwritable outputs, hostile text, modes, subtests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import suitekit
from faultkit import (  # tree_token: autouse, the /proc scan after every case
    benchlib,
    copy_results,
    env,
    markup,
    one_line_error,
    result_files,
    run_once,
    tree_token,  # noqa: F401
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]


# --- 3: runs of different projects, and of different selections, in one folder ---------------


def test_03_projects_are_never_compared_and_changed_selections_are_warned(tmp_path: Path) -> None:
    """3. Two projects' runs in one folder: a loud warning, no comparison across them; one
    strategy's runs that selected different tests are warned about too."""
    out = tmp_path / "results"
    a = suitekit.copy_suite("markers", tmp_path / "a")
    b = suitekit.copy_suite("markers", tmp_path / "b")
    for target, names in ((a, ["serial-full", "unit"]), (b, ["serial-full", "unit"])):
        proc = benchlib("run", *names, "--target", target, "--results", out)
        assert proc.returncode == 0, proc.stderr
    more = "import pytest\n\n\n@pytest.mark.unit\ndef test_more():\n    pass\n"
    (a / "test_more.py").write_text(more)  # project a's unit lane gains a test
    proc = benchlib("run", "unit", "--target", a, "--results", out)
    assert proc.returncode == 0, proc.stderr
    summ = benchlib("summary", out)
    assert summ.returncode == 0, summ.stderr
    warning = "these runs come from 2 different projects"
    assert f"WARNING: {warning}" in summ.stdout
    assert f"**Warning:** {warning}" in (out / "summary.md").read_text()
    facts = json.loads((out / "summary.json").read_text())
    [unit] = [s for s in facts["strategies"] if s["name"] == "unit"]
    # One project is compared (a: most runs a side); the other's runs are left out, not pooled:
    # pooled, the baseline would have 2 runs.
    assert unit["comparison"]["n_before"] == 1
    assert "of other projects left out" in unit["comparison"]["note"]
    assert "projects" in {r["rule"] for r in facts["recommendations"]}
    assert unit["selections"] == 2
    assert "WARNING: unit: its runs selected 2 different sets of tests" in summ.stdout
    digests = {suitekit.validate(p)["selection_sha256"] for p in result_files(out)}
    assert len(digests) == 3  # serial-full, unit, unit with test_more


# --- real result files, shared by the cases that read them -------------------------------------


@pytest.fixture(scope="module")
def markers_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The markers suite and a folder with one real serial-full and one real unit result."""
    root = tmp_path_factory.mktemp("markers-runs")
    target, out = suitekit.copy_suite("markers", root), root / "results"
    run_once(target, out, "serial-full", "unit")
    return target, out


# --- 4, 9, 10, 13: reading and writing summaries ----------------------------------------------


def test_04_compare_with_no_strategy_in_common_exits_2(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """4. compare of two real result sets that share no strategy: one line, exit 2."""
    _, runs = markers_runs
    copy_results(runs, tmp_path / "base", "serial-full")
    copy_results(runs, tmp_path / "current", "unit")
    proc = benchlib("compare", tmp_path / "base", tmp_path / "current")
    one_line_error(proc, "on both sides")


@pytest.mark.parametrize(("key", "value"), [("wall_s", "fast"), ("tests", "nope")])
def test_09_a_file_with_wrong_types_is_skipped_by_name(
    tmp_path: Path, markers_runs: tuple[Path, Path], key: str, value: str
) -> None:
    """9. "wall_s": "fast" or "tests": "nope": summary and compare skip it, naming it."""
    _, runs = markers_runs
    base, current = tmp_path / "base", tmp_path / "current"
    copy_results(runs, current)
    [good, _] = copy_results(runs, base)
    bad = base / f"bad-{good.name}"
    data = json.loads(good.read_text())
    bad.write_text(json.dumps({**data, key: value}))
    summ = benchlib("summary", base, "--out", tmp_path / "report")
    assert summ.returncode == 0, summ.stderr
    assert f"benchlib: warning: skipped {bad}" in summ.stderr and key in summ.stderr
    assert "Traceback" not in summ.stderr
    assert bad.name in (tmp_path / "report" / "summary.md").read_text()  # Skipped Files
    cmp = benchlib("compare", base, current)
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr  # the same runs on both sides
    assert f"benchlib: warning: skipped {bad}" in cmp.stderr
    assert "Traceback" not in cmp.stderr


def _without_write_permission() -> None:
    """In the child: lose root's power to write where the mode forbids it (CAP_DAC_OVERRIDE)."""
    if os.geteuid() == 0:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: dropped at exec
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP


def test_10_summary_out_errors_are_one_line_and_step_summary_only_warns(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """10. --out an existing file or a read-only folder: one line, exit 2. GITHUB_STEP_SUMMARY
    a folder, or in a missing folder: a warning, and the summary written all the same."""
    _, runs = markers_runs
    afile = tmp_path / "afile"
    afile.write_text("")
    one_line_error(benchlib("summary", runs, "--out", afile), "--out", "cannot hold the summary")
    readonly = tmp_path / "readonly"
    readonly.mkdir(mode=0o555)
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "summary", str(runs), "--out", str(readonly)],
        capture_output=True, text=True, env=env(), preexec_fn=_without_write_permission,
    )  # fmt: skip
    one_line_error(proc, "--out", "Permission denied")
    assert list(readonly.iterdir()) == []
    for step in (tmp_path / "a-folder", tmp_path / "missing" / "step.md"):
        if step.name == "a-folder":
            step.mkdir()
        out = tmp_path / f"out-{step.name}"
        proc = benchlib("summary", runs, "--out", out, GITHUB_STEP_SUMMARY=str(step))
        assert proc.returncode == 0, proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"benchlib: warning: GITHUB_STEP_SUMMARY '{step}' cannot be")
        assert "Traceback" not in proc.stderr
        assert "serial-full" in (out / "summary.md").read_text()


def test_13_summary_of_no_result_files_exits_2(tmp_path: Path) -> None:
    """13. A summary over zero result files is an error (exit 2, one line), as compare's is."""
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(benchlib("summary", empty), "no result files in")
    assert not (empty / "summary.md").exists()


# --- 14, 21: hostile text in a real run's report ------------------------------------------------

# A pipe that splits a table cell: not escaped by an odd number of backslashes.
BARE_PIPE = re.compile(r"(?<!\\)(?:\\\\)*\|")
HOSTILE_DESCRIPTION = "<img src=x onerror=alert(1)> <b>bold</b> [link](http://evil)"


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile suite: a baseline that passes, and a full lane that fails every test."""
    root = tmp_path_factory.mktemp("hostile-runs")
    target, out = suitekit.copy_suite("hostile_report", root), root / "results"
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.evil]\n"
        f"description = {json.dumps(HOSTILE_DESCRIPTION)}\n"
        "env = { BENCH_HOSTILE = '1' }\ncompare_to = 'serial-full'\n"
    )
    run_once(target, out, "serial-full", "evil")
    proc = suitekit.benchlib("summary", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_14_hostile_messages_ids_and_descriptions_render_as_text(hostile_runs: Path) -> None:
    """14. <script>, <img onerror>, <b>, [link](...), a backtick in an id: text in summary.md."""
    md = (hostile_runs / "summary.md").read_text()
    rendered = markup(md)
    # No HTML tag and no link of the suite's making outside code spans.
    assert "<" not in rendered
    assert "](http://evil)" not in rendered and "[link]" not in rendered.replace("\\[link\\]", "")
    # Each payload is there, shown as text: in the heading, the new failures, the instability
    # table and the failed run's list.
    assert "## Strategy 1: `evil` (&lt;img src=x onerror=alert\\(1\\)&gt; &lt;b&gt;bold" in md
    for escaped in (
        "&lt;script&gt;alert\\(1\\)&lt;/script&gt;",
        "&lt;img src=x onerror=alert\\(1\\)&gt;",
        "&lt;b&gt;bold&lt;/b&gt;",
        "\\[link\\]\\(http://evil\\)",
        "a \\| pipe in a table cell",
    ):
        assert md.count(escaped) >= 2, escaped  # instability table and the failed run's list
    backtick_id = "``test_hostile.py::test_backtick_id[tick`s]``"
    new_failures = md.split("New failures")[1].split("Tradeoffs")[0]
    assert f"- {backtick_id}" in new_failures
    # Every row of the instability table has the header's cells: no pipe of a message split one.
    [header] = [x for x in md.splitlines() if x.startswith("| Test |")]
    table = [x for x in md.splitlines() if x.startswith("| `") and "test_hostile.py::" in x]
    assert len(table) == 7
    assert all(len(BARE_PIPE.findall(row)) == len(BARE_PIPE.findall(header)) for row in table)


def test_21_a_whole_argv_as_first_line_is_cut_in_the_middle(hostile_runs: Path) -> None:
    """21. A CalledProcessError's first line (an argv of hundreds of characters): the report
    cuts it in the middle at 160 characters, the result file keeps all of it."""
    runs = map(suitekit.validate, result_files(hostile_runs))
    [evil] = [d for d in runs if d["strategy"]["name"] == "evil"]
    rows = {r[0]: dict(zip(evil["test_fields"], r, strict=False)) for r in evil["tests"]}
    full = rows["test_hostile.py::test_long_command"]["message"]
    assert len(full) > 300 and full.endswith("returned non-zero exit status 3.")
    md = (hostile_runs / "summary.md").read_text()
    [line] = [x for x in md.splitlines() if x.startswith("| `test_hostile.py::test_long_command")]
    shown = line.rsplit(" | ", 1)[1].rstrip(" |")
    assert "\N{HORIZONTAL ELLIPSIS}" in shown
    assert shown.startswith("CalledProcessError: Command") or "Command" in shown[:40]
    assert shown.replace("\\", "").endswith("returned non-zero exit status 3.")
    assert len(shown.replace("\\", "")) <= 160


def test_21_subtests_are_counted(tmp_path: Path) -> None:
    """21. pytest 9's subtests fixture: passed subtests counted as pytest counts them (only
    when its subtests verbosity is on), a failed one fails its test."""
    target = suitekit.copy_suite("subtests", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.verbose]\nargs = ['-o', 'verbosity_subtests=1']\n"
    )
    out = tmp_path / "results"
    proc = benchlib("run", "serial-full", "verbose", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    by_name = {d["strategy"]["name"]: d for d in map(suitekit.validate, result_files(out))}
    for name, subtests in (("serial-full", 0), ("verbose", 3)):
        data = by_name[name]
        reported = suitekit.pytest_summary(out / data["log_path"])
        assert data["outcome"]["subtests_passed"] == reported.get("subtests", 0) == subtests
        assert data["outcome"]["failed"] == reported["failed"] == 2  # the subtest and its test
        assert data["outcome"]["passed"] == reported["passed"] == 1
        rows = {r[0]: dict(zip(data["test_fields"], r, strict=False)) for r in data["tests"]}
        failed = rows["test_subtests.py::test_with_subtests"]
        assert (failed["outcome"], failed["phase"]) == ("failed", "call")
        assert "subtest failed on purpose" in failed["message"]


# --- 16, 18: what a real summary says -----------------------------------------------------------


def test_16_run_summary_never_narrows_a_fuller_report(
    tmp_path: Path, markers_runs: tuple[Path, Path]
) -> None:
    """16. `run unit --summary` after a serial-full run: summary.md still has serial-full."""
    target, runs = markers_runs
    out = tmp_path / "results"
    copy_results(runs, out, "serial-full")
    proc = benchlib("run", "unit", "--summary", "--target", target, "--results", out)
    assert proc.returncode == 0, proc.stderr
    md = (out / "summary.md").read_text()
    assert "## Baseline (Before)\n\n- Strategy: `serial-full`" in md
    assert "## Strategy 1: `unit`" in md
    facts = json.loads((out / "summary.json").read_text())
    assert [s["name"] for s in facts["strategies"]] == ["serial-full", "unit"]


def test_18_report_details_and_file_modes(tmp_path: Path) -> None:
    """18. Evidence from round 1, no 0.00s rows, no observer plugin in commands, the same
    verdict in the terminal and summary.md, collection errors as such, files honour the umask."""
    target = suitekit.copy_suite("broken_collection", tmp_path)
    (target / "pyproject.toml").write_text(
        "[tool.benchlib.strategies.broken]\nenv = { BENCH_BREAK = '1' }\n"
        "compare_to = 'serial-full'\n"
        "[tool.benchlib.strategies.fine]\nkeyword = 'fine'\ncompare_to = 'serial-full'\n"
    )
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "run", "serial-full", "fine", "broken", "--target",
         str(target), "--results", str(out), "--summary", *suitekit.ONE_ROUND],
        capture_output=True, text=True, env=env(), preexec_fn=lambda: os.umask(0o027),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the collection error is an error of the run
    by_name = {d["strategy"]["name"]: d for d in map(suitekit.validate, result_files(out))}
    broken = by_name["broken"]
    assert (broken["status"], broken["exit_code"]) == ("collection-error", 2)
    for path in [*result_files(out), out / "summary.md", out / "summary.json"]:
        assert path.stat().st_mode & 0o777 == 0o640, path
    for log in (out / "logs").glob("*.log"):
        assert log.stat().st_mode & 0o777 == 0o640, log
    md = (out / "summary.md").read_text()
    assert "benchlib_observer" not in md
    assert "| 0.00s | `" not in md  # no slowest-test row of nothing
    rounds = [line for line in md.split("## Experiment Evidence")[1].splitlines() if line]
    assert len(rounds) == 3 and all("round 1," in line for line in rounds)
    facts = json.loads((out / "summary.json").read_text())
    [fine] = [s for s in facts["strategies"] if s["name"] == "fine"]
    verdict = fine["comparison"]["verdict_text"]
    assert f"- Speedup: {verdict}" in md
    [row] = [line for line in proc.stdout.splitlines() if line.startswith("fine ")]
    assert row.endswith(verdict)
