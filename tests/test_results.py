"""The result file: round trip, schema, atomic writes, and refusing what it cannot read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import factories
import jsonschema
import pytest

from benchlib.analyze import resultset
from benchlib.model import results
from benchlib.model.results import ResultError, TestRecord

pytestmark = pytest.mark.unit

SCHEMA = json.loads(Path(results.__file__).with_name("result.schema.json").read_text())


def sample() -> results.RunResult:
    tests = factories.tests_(("tests/a.py::t", "passed", 0.5), ("tests/b.py::u", "failed", 1.0))
    return factories.result(tests=tests)


def test_round_trip_and_schema(tmp_path: Path) -> None:
    r = sample()
    path = results.save(r, tmp_path)
    assert path.name == f"{r.run_id}.json"
    assert results.load(path) == r
    jsonschema.validate(json.loads(path.read_text()), SCHEMA)


def test_tests_are_rows_one_a_line_with_defaults_left_out(tmp_path: Path) -> None:
    full = TestRecord(
        'tests/c.py::v[a\n"ü]', "error", 0.3, 0.1, 0.2, 0.0, "teardown", "APIError: x", "gw1"
    )
    r = factories.result(tests=(*sample().tests, full))
    path = results.save(r, tmp_path)
    assert results.load(path) == r
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["test_fields"] == list(results.TEST_FIELDS)
    assert data["tests"] == [
        ["tests/a.py::t", "passed", 0.5, 0.0, 0.5],  # teardown 0.0 and three nulls left out
        ["tests/b.py::u", "failed", 1.0, 0.0, 1.0],
        ['tests/c.py::v[a\n"ü]', "error", 0.3, 0.1, 0.2, 0.0, "teardown", "APIError: x", "gw1"],
    ]
    lines = path.read_text().splitlines()
    start = lines.index(' "tests": [')
    assert lines[start + 1 : start + 5] == [
        '  ["tests/a.py::t","passed",0.5,0.0,0.5],',
        '  ["tests/b.py::u","failed",1.0,0.0,1.0],',
        '  ["tests/c.py::v[a\\n\\"\\u00fc]","error",0.3,0.1,0.2,0.0,"teardown",'
        '"APIError: x","gw1"]',
        " ],",
    ]


def test_a_run_without_tests_round_trips() -> None:
    r = factories.result()
    assert json.loads(results.dumps(r))["tests"] == []
    assert results.loads(results.dumps(r), Path("r.json")) == r


def test_other_test_fields_are_refused(tmp_path: Path) -> None:
    data = json.loads(results.dumps(sample()))
    data["test_fields"] = ["outcome", "nodeid", "duration_s"]
    path = tmp_path / "reordered.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match=r"malformed result .*test_fields"):
        results.load(path)


def test_corrupt_and_foreign_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "benchlib-run", "schema_')
    with pytest.raises(ResultError, match="not valid JSON"):
        results.load(bad)
    bad.write_text('{"hello": 1}')
    with pytest.raises(ResultError, match="not a benchlib result file"):
        results.load(bad)


def test_unknown_schema_version_names_it(tmp_path: Path) -> None:
    data = json.loads(results.dumps(sample()))
    data["schema_version"] = 99
    path = tmp_path / "future.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="schema version 99 is not supported"):
        results.load(path)


def test_load_all_skips_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    results.save(sample(), tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "junk.json").write_text("[")
    (tmp_path / "summary.json").write_text("{}")  # ours, not a run: not even a warning
    loaded = results.load_all([tmp_path])
    assert len(loaded.results) == 1
    assert [e.path.name for e in loaded.skipped] == ["junk.json"]


def test_write_atomic_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    results.write_atomic(target, "one")
    results.write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_status_for_exit() -> None:
    assert [results.status_for_exit(c) for c in (0, 1, 2, 3, 4, 5, 7, -9)] == [
        "passed", "tests-failed", "interrupted", "internal-error", "usage-error", "no-tests",
        "crashed", "killed",
    ]  # fmt: skip
    # pytest says "Interrupted: 1 error during collection" and exits 2: that is no interruption.
    assert results.status_for_exit(2, collection_errors=True) == "collection-error"


def test_a_test_row_that_is_not_an_array_is_refused(tmp_path: Path) -> None:
    data = json.loads(results.dumps(sample()))
    data["tests"][0] = {"nodeid": "tests/a.py::t", "outcome": "passed"}
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="must be a JSON array"):
        results.load(path)


OUT_OF_RANGE = [
    (("wall_s",), -5, "wall_s is -5"),
    (("outcome", "passed"), -7, "outcome.passed is -7"),
    (("strategy", "workers"), -3, "strategy.workers is -3"),
    (("started_at",), "garbage", "started_at is 'garbage'"),
    (("cpu_user_s",), 1e308, "cpu_user_s is 1e+308"),
    (("tests", 0, 2), -100, "a test's duration_s is -100"),
    (("tests", 1, 2), -100, "a test's duration_s is -100"),  # a passed test's, on the fast path
    (("peak_rss_bytes",), -1, "peak_rss_bytes is -1"),
    (("not_run",), -2, "not_run is -2"),
]


@pytest.mark.parametrize(("where", "value", "said"), OUT_OF_RANGE)
def test_numbers_out_of_range_are_refused_by_every_reader(
    tmp_path: Path, where: tuple[str | int, ...], value: object, said: str
) -> None:
    """Issue 21 item 8: read as true, "-5.00s" and "-7 passed" were shown."""
    tests = factories.tests_(("t.py::a", "failed", 1.0), ("t.py::b", "passed", 2.0))
    path = factories.write(factories.result(tests=tests), tmp_path)
    data = json.loads(path.read_text())
    *head, last = where
    parent = data
    for key in head:
        parent = parent[key]
    parent[last] = value
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match=re.escape(said)):
        results.load(path)
    [skipped] = resultset.load([tmp_path]).skipped  # the summary's reader
    assert said in skipped.reason
