"""Result files of every released format load forever; the schema and the model say the same."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from benchlib import pipeline
from benchlib.model import records, results
from benchlib.model.results import ResultError

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data"
SCHEMA = json.loads(Path(results.__file__).with_name("result.schema.json").read_text())


def test_a_committed_version_2_file_loads() -> None:
    r = results.load(DATA / "result-v2.json")
    assert r.strategy.name == "gate" and r.strategy.workers == 2
    assert r.outcome == results.Counts(
        passed=8, failed=2, errors=3, skipped=2, xfailed=1, xpassed=1, warnings=2
    )
    assert len(r.tests) == 14 and all(t.start_s is None for t in r.tests)
    assert r.strategy.budgets == {} and r.target.identity == r.target.path
    assert 0 < r.cpu_utilization < 1  # stored in version 2, computed now


def test_a_committed_version_3_file_loads_and_validates() -> None:
    data = json.loads((DATA / "result-v3.json").read_text())
    jsonschema.validate(data, SCHEMA)
    r = results.load(DATA / "result-v3.json")
    assert r.schema_version == 3 and r.outcome.warnings == 2
    assert all(t.start_s is not None for t in r.tests if t.phase != "collect")
    assert {w.id for w in r.timeline.workers} == {"gw0", "gw1"}


def test_unknown_keys_of_a_newer_minor_version_are_kept_and_ignored(tmp_path: Path) -> None:
    data = json.loads((DATA / "result-v3.json").read_text())
    data["schema_minor"] = 7
    data["shards"] = {"index": 1, "of": 3}  # a key this benchlib does not know
    data["machine"]["gpu"] = "none"  # nested: ignored
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(data))
    r = results.load(path)
    assert r.extra == {"shards": {"index": 1, "of": 3}}
    assert r.schema_minor == 7
    again = results.save(r, tmp_path)
    assert json.loads(again.read_text())["shards"] == {"index": 1, "of": 3}


@pytest.mark.parametrize("version", [99, 1, "3", None])
def test_an_unknown_major_version_is_refused_naming_it(tmp_path: Path, version: Any) -> None:
    data = json.loads((DATA / "result-v3.json").read_text())
    data["schema_version"] = version
    path = tmp_path / "future.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError) as caught:
        results.load(path)
    message = str(caught.value)
    assert f"schema version {version!r} is not supported" in message
    assert "\n" not in message and str(path) in message


def _schema_fields(node: dict[str, Any]) -> set[str]:
    return set(node["properties"])


def _model_fields(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_the_schema_describes_the_model_field_for_field() -> None:
    props = SCHEMA["properties"]
    top = _model_fields(results.RunResult) - {"extra"} | {"test_fields"}
    assert _schema_fields(SCHEMA) == top
    # A field a minor version added is optional: files of the older minor lack it.
    assert set(SCHEMA["required"]) == top - set(records.ADDED_IN_MINOR)
    assert max(records.ADDED_IN_MINOR.values()) <= records.SCHEMA_MINOR
    part = next(o for o in props["part"]["oneOf"] if o["type"] == "object")
    assert _schema_fields(part) == set(part["required"]) == _model_fields(results.Part)
    nested = {
        "strategy": results.StrategyRecord,
        "target": results.Target,
        "machine": results.Machine,
        "sampler": results.SamplerInfo,
        "samples": results.Samples,
        "timeline": results.Timeline,
    }
    for key, cls in nested.items():
        assert _schema_fields(props[key]) == _model_fields(cls), key
    # Derived on read: the total of the warning categories.
    assert _schema_fields(props["outcome"]) == _model_fields(results.Counts) - {"warnings"}
    worker = props["timeline"]["properties"]["workers"]["items"]
    assert _schema_fields(worker) == _model_fields(results.WorkerTimes)
    assert _schema_fields(props["in_flight"]["items"]) == _model_fields(results.InFlight)
    assert props["test_fields"]["const"] == list(results.TEST_FIELDS)
    assert len(props["tests"]["items"]["prefixItems"]) == len(results.TEST_FIELDS)
    assert props["status"]["enum"] == list(results.STATUSES)


def test_a_3_0_file_has_no_part_and_a_3_1_part_round_trips(tmp_path: Path) -> None:
    data = json.loads((DATA / "result-v3.json").read_text())
    assert "part" not in data and data["schema_minor"] == 0
    r = results.load(DATA / "result-v3.json")
    assert r.part is None
    part = results.Part("shard", 2, 3, "gate-abc-r0", 60, "0" * 64, 20, 1.5)
    path = results.save(dataclasses.replace(r, part=part, schema_minor=1), tmp_path)
    jsonschema.validate(json.loads(path.read_text()), SCHEMA)
    assert results.load(path).part == part


def test_a_folder_of_old_and_new_files_summarizes(tmp_path: Path) -> None:

    for name in ("result-v2.json", "result-v3.json"):
        shutil.copy(DATA / name, tmp_path / name)
    s = pipeline.summarize([tmp_path])
    assert not s.skipped
    assert s.strategy("gate").runs == 2


def test_a_failing_rows_column_of_the_wrong_type_skips_the_file(tmp_path: Path) -> None:
    """Found by the property tests: a message that is a list reached the HTML renderer."""

    data = json.loads((DATA / "result-v3.json").read_text())
    row = next(r for r in data["tests"] if r[1] != "passed")
    row += [None] * (8 - len(row))
    row[7] = ["not", "a", "string"]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    shutil.copy(DATA / "result-v2.json", tmp_path / "good.json")
    s = pipeline.summarize([tmp_path])
    assert [Path(f.path).name for f in s.skipped] == ["bad.json"]
    assert "message" in s.skipped[0].reason
