"""Properties over hostile input: configuration values, option values and mutated result files.

Each property holds for every value hypothesis draws: a configuration either loads or is refused
in one line (exit 2, no traceback), and what loads gives result files that validate against the
schema; an option value is refused in one line or gives such files; a result file mutated at
random is read or skipped by name, and the summary and compare never raise on it.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import dataclasses
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import factories
import jsonschema
import pytest
import suitekit
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from benchlib import pipeline, report
from benchlib.analyze import compare, resultset
from benchlib.cli import main
from benchlib.measure import recording
from benchlib.model import results
from benchlib.model.results import Target
from benchlib.plan import config

SCHEMA = json.loads(suitekit.SCHEMA.read_text())
# Hypothesis keeps caches in ./.hypothesis, filled while pytest collects: tests write only in
# temporary folders, so point it at one before that, and remove it at exit.
_HOME = tempfile.mkdtemp(prefix="benchlib-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, True)
# Hypothesis's example database would be written into the current folder: tests write only in
# tmp_path. Function-scoped fixtures are not reset between examples; these tests use none.
# In CI the examples are the same every run (derandomize): a gate that fails by chance fails
# nobody's change. Elsewhere each run draws new ones, which is how the list-as-message case
# was found.
SETTINGS = settings(
    database=None,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run the command line in this process; return its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main.main(list(argv))
        except SystemExit as exc:  # argparse's own exit
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(err: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(("benchlib: error: ", "benchlib run: error: ")), err


# --- TOML values ---------------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_WORDS = st.sampled_from(
    ["", "auto", "load", "bogus", "full", "subset", "unit", "serial-full", "gate", "xdist-unit",
     "not", "unit and", "tests", "-m", "..", "/", "results", ".venv/bin/python", "x" * 300]
)  # fmt: skip
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    _WORDS,
    st.datetimes().map(lambda d: d.replace(microsecond=0)),
)
VALUES = st.one_of(
    _SCALARS,
    st.lists(st.one_of(_SCALARS, _WORDS), max_size=3),
    st.dictionaries(_TEXT, _SCALARS, max_size=2),
)


def toml_value(value: Any) -> str:
    """Write one value as TOML (tomllib only reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return value.isoformat()  # a local date-time


TOP = st.sampled_from([*config.TOP_KEYS, "timeout"])
STRATEGY_KEYS = st.sampled_from([*config.STRATEGY_KEYS, "marker"])
NAMES = st.one_of(st.sampled_from(["unit", "serial-full", "gate", "xdist-unit", "mine", ""]), _TEXT)
_SECONDS = st.one_of(
    st.floats(min_value=0, exclude_min=True),
    st.sampled_from([1e-300, threading.TIMEOUT_MAX, threading.TIMEOUT_MAX * 1.01, 0, -1]),
    st.integers(-1, 10**12),
)
_EXPRESSIONS = st.sampled_from(
    ["unit", "not slow", "unit and (a or b)", "", "not", "a b", "a \x1e b", "u\u2028"]
)  # pytest names an unexpected character raw: a line separator must not split the error
# Values near what each key takes, so that a good share of the documents load.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(["paths", "ignore", "deselect", "args"], st.lists(_WORDS, max_size=3)),
    **dict.fromkeys(["timeout_s", "interval_s", "max_wall_s"], _SECONDS),
    **dict.fromkeys(["markers", "keyword"], _EXPRESSIONS),
    **dict.fromkeys(["python", "results", "description"], _WORDS),
    **dict.fromkeys(["like", "compare_to"], NAMES),
    "workers": st.one_of(st.just("auto"), st.integers(-1, 8)),
    "dist": st.sampled_from([*config.DIST_MODES, "bogus"]),
    "env": st.dictionaries(_TEXT, _TEXT, max_size=2),
    "scope": st.sampled_from(["full", "subset", "half"]),
    "max_warnings": st.integers(-1, 100),
    "max_rss_bytes": st.integers(-1, 2**40),
    "enabled": st.booleans(),
}


def value_for(key: str) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all."""
    plausible = PLAUSIBLE.get(key, VALUES)
    return st.one_of(plausible, plausible, plausible, VALUES)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A pyproject.toml whose [tool.benchlib] has random values at real (and near) keys."""
    lines = ["[tool.benchlib]"]
    for key in draw(st.lists(TOP, max_size=3, unique=True)):
        lines.append(f"{json.dumps(key)} = {toml_value(draw(value_for(key)))}")
    for name in draw(st.lists(NAMES, max_size=2, unique=True)):
        lines.append(f"[tool.benchlib.strategies.{json.dumps(name)}]")
        for key in draw(st.lists(STRATEGY_KEYS, min_size=1, max_size=3, unique=True)):
            lines.append(f"{json.dumps(key)} = {toml_value(draw(value_for(key)))}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@contextlib.contextmanager
def project(root: Path, toml: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=root) as folder:
        (Path(folder) / "pyproject.toml").write_text(toml, encoding="utf-8")
        yield Path(folder)


def pending_files(argv: list[str], cfg: config.Config) -> list[dict[str, Any]]:
    """Return, as JSON, the pending result of each run `benchlib run` would start."""
    args = main.build_parser().parse_args(argv)
    docs = []
    for plan in main._plans(args, cfg):
        ctx = recording.Context(
            "run-1", plan.record(), plan.argv(), Target(str(cfg.target), None, None),
            factories.MACHINE, "logs/run-1.log", {}, {}, plan.interval_s,
        )  # fmt: skip
        pending = recording.pending(ctx, datetime.now(UTC))
        docs.append(json.loads(results.dumps(pending)))
    return docs


@pytest.mark.unit
@settings(SETTINGS, max_examples=100)
@given(toml=documents())
# Found by this property once each, and kept: pytest names an unexpected character of an
# expression raw, and a strategy's name is a TOML key that can hold a line separator.
@example(toml='[tool.benchlib]\nmarkers = "a \\u001e b"\n')
@example(toml='[tool.benchlib.strategies."\\u2028"]\ndescription = ""\n')
def test_any_configuration_loads_or_is_one_line_exit_2(scratch: Path, toml: str) -> None:
    with project(scratch, toml) as target:
        code, _, err = run_cli("list", "--target", str(target))
        event("refused" if code else "loaded")
        if code != 0:
            assert code == 2
            assert_one_line_error(err)
            return
        # What loads must give files that validate: every strategy's pending result.
        # Not the file's python or results: a random path must not be run, nor created.
        cfg = dataclasses.replace(config.load(target), python=None, results=target / "results")
        for doc in pending_files(["run", "--target", str(target)], cfg):
            jsonschema.validate(doc, SCHEMA)


# --- option values -------------------------------------------------------------------------

NUMERIC_FLAGS = ["--timeout", "--interval", "--workers", "--warmup", "--budget", "--width",
                 "--repeat"]  # fmt: skip
_NUMBERISH = st.one_of(
    st.sampled_from(
        ["nan", "inf", "-inf", "1e309", "1e300", "9223372037", "0", "-0", "-1", "0x10", "1_000",
         "\u0663", " 5 ", "+5", "2.5", "1e-300", "auto", "", "5s", "10%"]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    _TEXT,
)  # fmt: skip


@pytest.mark.unit
@SETTINGS
@given(flag=st.sampled_from(NUMERIC_FLAGS), value=_NUMBERISH)
@example(flag="--timeout", value="1e300")  # the timer thread died of OverflowError
def test_any_option_value_is_refused_in_one_line_or_gives_valid_files(
    scratch: Path, flag: str, value: str
) -> None:
    argv = ["run", "serial-full", f"{flag}={value}"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
        args = main.build_parser().parse_args(argv)
        event("accepted")
        parsed = getattr(args, flag[2:])
        if flag in ("--timeout", "--interval", "--budget", "--width"):
            assert math.isfinite(parsed) and 0 < parsed <= threading.TIMEOUT_MAX
        elif flag != "--repeat" or parsed is not None:
            assert isinstance(parsed, int) and parsed >= (1 if flag == "--repeat" else 0)
        with project(scratch, "") as target:
            for doc in pending_files([*argv, "--target", str(target)], config.load(target)):
                jsonschema.validate(doc, SCHEMA)
        return
    assert_one_line_error(err.getvalue())


# --- mutated result files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real version 3 result file: the outcomes suite, every kind of outcome, serially."""
    root = tmp_path_factory.mktemp("real")
    target = suitekit.copy_suite("outcomes", root)
    suitekit.run(target, root / "results", markers="not slow", name="serial-full")
    [path] = [p for p in (root / "results").glob("*.json") if results.is_result_name(p.name)]
    return dict(json.loads(path.read_text()))


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), _TEXT, _WORDS,
        st.floats(allow_nan=True, allow_infinity=True),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def paths_in(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the path of every value in a JSON document (keys and list indexes)."""
    yield prefix
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for key, value in items:
        yield from paths_in(value, (*prefix, key))


@st.composite
def mutations(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """Return doc with one to three values replaced, deleted, or added beside."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(sorted((p for p in paths_in(doc) if p), key=repr)))
        *head, last = path
        parent = doc
        for key in head:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(_TEXT)] = draw(JSON_VALUES)
        else:
            parent[last] = draw(JSON_VALUES)
    return doc


def write_sides(root: Path, original: dict[str, Any], mutated: dict[str, Any]) -> Path:
    """Base: the original and the mutated file; current: the original. Return the mutated."""
    (root / "base").mkdir()
    (root / "current").mkdir()
    text = json.dumps(original)
    (root / "base" / "good.json").write_text(text)
    (root / "current" / "good.json").write_text(text)
    bad = root / "base" / "mutated.json"
    # json writes NaN and Infinity, which only Python's reader accepts: the hostile case.
    bad.write_text(json.dumps(mutated))
    return bad


def check_summary_and_compare(root: Path, bad: Path) -> None:
    s = pipeline.summarize([root / "base"])
    skipped = {x.path: x.reason for x in s.skipped}
    report.render_markdown(s)
    report.render_json(s)
    report.render_table(s)
    code, out, err = run_cli("compare", str(root / "base"), str(root / "current"))
    assert "Traceback" not in err
    if str(bad) in skipped:
        assert skipped[str(bad)]
        assert f"benchlib: warning: skipped {bad}: " in err
        assert code == 0, out + err  # the good file alone, on both sides
    else:
        assert code in (0, 1, 2, compare.LOST_EXIT), out + err
        if code == 2:
            assert err.strip().splitlines()[-1].startswith("benchlib: error: ")
        sides = [resultset.load([root / side]).results for side in ("base", "current")]
        with contextlib.suppress(compare.NothingInCommon):
            report.render_gate(compare.compare(*sides, threshold=0.1))


@pytest.mark.unit
@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_summary_and_compare_never_raise_on_a_mutated_file(
    scratch: Path, real_file: dict[str, Any], data: st.DataObject
) -> None:
    mutated = data.draw(mutations(real_file))
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        bad = write_sides(Path(folder), real_file, mutated)
        check_summary_and_compare(Path(folder), bad)


@pytest.mark.integration
@settings(SETTINGS, max_examples=4)
@given(data=st.data())
def test_the_commands_never_raise_on_a_mutated_file(
    scratch: Path, real_file: dict[str, Any], data: st.DataObject
) -> None:
    """The same, through real `benchlib summary` and `benchlib compare` processes."""
    mutated = data.draw(mutations(real_file))
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        root = Path(folder)
        bad = write_sides(root, real_file, mutated)
        for argv in (["summary", str(root / "base")], ["compare", str(root / "base"),
                                                       str(root / "current")]):  # fmt: skip
            proc = subprocess.run(
                [sys.executable, "-m", "benchlib", *argv], capture_output=True, text=True,
                env=suitekit.env_without_pytest_vars(), timeout=120,
            )  # fmt: skip
            assert "Traceback" not in proc.stderr
            assert proc.returncode in (0, 1, 2, compare.LOST_EXIT), proc.stderr
            if f"skipped {bad}" in proc.stderr:
                assert proc.returncode == 0, proc.stdout + proc.stderr
