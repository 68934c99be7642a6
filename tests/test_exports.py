"""Exports for other CI engines: pytest-split's durations, JUnit XML, the shard plan.

Pure tests of each format on hand-made results (hostile ids included); then the shard fixture
suite for real: pytest's own junitxml names every test as the export does, and pytest-split,
given benchlib's `.test_durations`, splits the suite about as evenly as benchlib's own plan.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import factories as f
import pytest
import suitekit

from benchlib.analyze import parts
from benchlib.errors import InputError
from benchlib.render import exports

SCHEMA = Path(__file__).parent / "data" / "junit-ci.xsd"


def schema() -> object:
    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema is not installed")
    return xmlschema.XMLSchema(str(SCHEMA))


def folder_with(tmp_path: Path, *runs: object) -> Path:
    out = tmp_path / "results"
    for r in runs:
        f.write(r, out)  # type: ignore[arg-type]
    return out


HOSTILE = [
    "tests/test_a.py::TestX::test_y[a::b-<b>&\"'-\x1b[0m]",
    "tests/sub/test_b.py::test_plain",
    "tests/test_a.py::test_skip",
    "tests/test_a.py::test_bad",
]


@pytest.mark.unit
def test_names_are_pytests_own() -> None:
    assert exports.names("tests/sub/test_b.py::TestX::test_y[1-a::b]") == (
        "tests.sub.test_b.TestX", "test_y[1-a::b]", "tests/sub/test_b.py",
    )  # fmt: skip
    assert exports.names("test_m.py::test_q") == ("test_m", "test_q", "test_m.py")


@pytest.mark.unit
def test_junit_escapes_hostile_ids_and_is_schema_valid(tmp_path: Path) -> None:
    tests = f.tests_(
        (HOSTILE[0], "passed", 0.5), (HOSTILE[1], "passed", 0.25),
        (HOSTILE[2], "skipped", 0.0), (HOSTILE[3], "failed", 1.0),
    )  # fmt: skip
    out = folder_with(tmp_path, f.result(tests=tests))
    _, written = exports.write(out, tmp_path / "x", None)
    junit = tmp_path / "x" / exports.JUNIT_FILE
    assert junit in written
    schema().validate(str(junit))  # type: ignore[attr-defined]
    cases = ET.parse(junit).getroot().iter("testcase")
    got = {c.get("name"): c for c in cases}
    hostile = got["test_y[a::b-<b>&\"'-\\x1B[0m]"]  # the escape byte as pytest writes it
    where = (hostile.get("classname"), hostile.get("file"))
    assert where == ("tests.test_a.TestX", "tests/test_a.py")
    assert hostile.get("time") == "0.500000"
    assert got["test_bad"].find("failure") is not None
    assert got["test_skip"].find("skipped") is not None
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "skipped")] == ["4", "1", "1"]


@pytest.mark.unit
def test_durations_are_the_newest_baseline_run_as_pytest_split_reads_them(
    tmp_path: Path,
) -> None:
    older = "2026-01-01T00:00:00+00:00"
    old = f.result(tests=f.tests_(("t.py::a", "passed", 9.0)), started_at=older)
    new = f.result(tests=f.tests_(("t.py::b", "passed", 1.5), ("t.py::a", "passed", 0.5)))
    lane = f.result(  # newer, but a lane: not the run shards are split by
        "lane", tests=f.tests_(("t.py::a", "passed", 7.0)),
        strategy_kw={"compare_to": "serial-full"}, started_at="2026-12-01T00:00:00+00:00",
    )  # fmt: skip
    out = folder_with(tmp_path, old, new, lane)
    exports.write(out, out, 2)
    text = (out / exports.DURATIONS_FILE).read_text()
    assert json.loads(text) == {"t.py::a": 0.5, "t.py::b": 1.5}  # pytest-split: json.loads
    assert text.startswith('{\n    "t.py::a"')  # sorted and indented as it writes it
    shards = [(out / f"shard-{i}-of-2.txt").read_text().split() for i in (1, 2)]
    assert sorted(shards) == [["t.py::a"], ["t.py::b"]]


@pytest.mark.unit
def test_a_folder_without_a_baseline_run_is_one_clear_error(tmp_path: Path) -> None:
    lane = f.result("lane", strategy_kw={"compare_to": "serial-full"})
    with pytest.raises(InputError, match="no completed run of the full-scope baseline"):
        exports.source(folder_with(tmp_path, lane))


# --- for real -------------------------------------------------------------------------------

SCALE = "0.5"  # sleeps long enough that a shard's time is its tests', not pytest's jitter


def pytest_run(project: Path, *args: str) -> str:
    env = {**suitekit.env_without_pytest_vars(), "SUITE_SCALE": SCALE}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


ESTIMATE = re.compile(r"estimated duration: ([0-9.]+)s")


def shard_seconds(project: Path, name: str, *args: str) -> tuple[float, int, float | None]:
    """Run one shard: the time its tests took (pytest's junitxml), their number, and
    pytest-split's own estimate when it printed one."""
    xml = project / f"{name}.xml"
    out = pytest_run(project, f"--junitxml={xml}", *args)
    cases = list(ET.parse(xml).getroot().iter("testcase"))
    estimate = ESTIMATE.search(out)
    measured = sum(float(c.get("time") or 0) for c in cases)
    return measured, len(cases), float(estimate.group(1)) if estimate else None


@pytest.mark.integration
@pytest.mark.slow
def test_pytest_split_with_benchlibs_durations_balances_like_benchlibs_plan(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pytest_split", reason="pytest-split is not installed")
    project = suitekit.copy_suite("shards", tmp_path)
    (project / "pyproject.toml").write_text(suitekit.ONLY_THE_BASELINE)
    env = {**suitekit.env_without_pytest_vars(), "SUITE_SCALE": SCALE}
    ran = suitekit.benchlib("run", "serial-full", "--target", str(project), env=env)
    assert ran.returncode == 0, ran.stderr
    exported = suitekit.benchlib(
        "export", str(project / "results"), "--out", str(project), "--shards", "3"
    )
    assert exported.returncode == 0, exported.stderr

    # pytest's own junitxml (xunit1 writes `file`) names every test as the export does.
    pytest_run(project, f"--junitxml={tmp_path / 'own.xml'}", "-o", "junit_family=xunit1")
    own = {
        (c.get("classname"), c.get("name"), c.get("file"))
        for c in ET.parse(tmp_path / "own.xml").getroot().iter("testcase")
    }
    ours = ET.parse(project / exports.JUNIT_FILE).getroot().iter("testcase")
    assert {(c.get("classname"), c.get("name"), c.get("file")) for c in ours} == own
    schema().validate(str(project / exports.JUNIT_FILE))  # type: ignore[attr-defined]

    durations = json.loads((project / exports.DURATIONS_FILE).read_text())
    shard_files = [(project / f"shard-{i}-of-3.txt").read_text().split() for i in (1, 2, 3)]
    runs = {
        "benchlib": [shard_seconds(project, f"b{i}", f"@shard-{i}-of-3.txt") for i in (1, 2, 3)]
    }
    split_by = ("--durations-path", exports.DURATIONS_FILE, "--splits", "3")
    for how in ("least_duration", "duration_based_chunks"):
        runs[how] = [
            shard_seconds(
                project, f"{how}{i}", *split_by, f"--group={i}", f"--splitting-algorithm={how}"
            )
            for i in (1, 2, 3)
        ]
    assert all(sum(n for _, n, _ in shards) == 60 for shards in runs.values())  # each test once
    measured = {k: [m for m, _, _ in v] for k, v in runs.items()}
    predicted = {k: [p for _, _, p in v] for k, v in runs.items()}
    predicted["benchlib"] = [sum(durations[n] for n in ids) for ids in shard_files]
    imbalance = {k: parts.imbalance(v) or 0.0 for k, v in measured.items()}
    figures = {"measured_s": measured, "predicted_s": predicted, "imbalance": imbalance}
    print(json.dumps(figures, indent=1))  # the figures: pytest -s shows them
    assert abs(imbalance["least_duration"] - imbalance["benchlib"]) <= 0.05
