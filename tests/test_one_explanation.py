"""Every output says the same things: one explanation, walked by every renderer.

Real benches on a fixture suite: a subset lane (`quick`); a parallel lane of it (`xdist-quick`)
faster than the baseline but slower than its own compare_to; a two-step gate; a scan; two runs
of each (an even number: the median is a mean of two, which a representative run is not). The
ratios, verdicts, whys, recommendations and the bottom line are extracted from the terminal,
summary.md, summary.json and report.html, and must agree.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
import suitekit

from benchlib.explain import explanation

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# No plugin autoload (this environment's hypothesis plugin costs every xdist worker a second at
# shutdown): the suite's shape decides, and xdist is loaded by name.
NO_AUTOLOAD = 'env = { PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }'
CONFIG = (
    suitekit.ONLY_THE_BASELINE.replace(
        'args = ["-q", "-p", "no:cacheprovider"]',
        'args = ["-q", "-p", "no:cacheprovider", "-p", "xdist"]',
    )
    + """\
[tool.benchlib.strategies.serial-full]
@NO_AUTOLOAD@

[tool.benchlib.strategies.quick]
@NO_AUTOLOAD@
description = "the quick tests only"
paths = ["test_quick.py"]
scope = "subset"
compare_to = "serial-full"

[tool.benchlib.strategies.xdist-quick]
@NO_AUTOLOAD@
description = "the quick tests on 2 workers"
paths = ["test_quick.py"]
scope = "subset"
workers = 2
compare_to = "quick"

[tool.benchlib.strategies.gate-two-step]
@NO_AUTOLOAD@
description = "xdist-safe tests on 2 workers, then the serial ones in one process"
compare_to = "serial-full"
steps = [
  { markers = "not serial", workers = 2 },
  { markers = "serial", workers = 0 },
]
"""
).replace("@NO_AUTOLOAD@", NO_AUTOLOAD)

# Slow tests only the full lanes run, quick ones a subset lane runs (where 2 workers cost more
# to start than they save), and one test that must not run on an xdist worker.
SUITE = {
    "pytest.ini": "[pytest]\nmarkers =\n    serial: not xdist-safe\n",
    "conftest.py": (
        "import os\nimport pytest\n\n\n@pytest.fixture(autouse=True)\n"
        "def _serial(request):\n"
        "    on_worker = os.environ.get('PYTEST_XDIST_WORKER')\n"
        "    if request.node.get_closest_marker('serial') and on_worker:\n"
        "        pytest.fail('a serial test ran on an xdist worker')\n"
    ),
    "test_slow.py": (
        "import time\nimport pytest\n\n\n@pytest.mark.parametrize('n', range(3))\n"
        "def test_slow(n):\n    time.sleep(2.0)\n"
    ),
    "test_quick.py": (
        "import pytest\n\n\n@pytest.mark.parametrize('n', range(20))\ndef test_quick(n):\n"
        "    assert n >= 0\n"
    ),
    "test_serial.py": (
        "import pytest\n\n\n@pytest.mark.serial\ndef test_alone():\n    assert True\n"
    ),
}


class Texts(HTMLParser):
    """The text inside every element that carries one of the attributes asked for."""

    def __init__(self, page: str, *keys: str) -> None:
        super().__init__()
        self.keys, self.open, self.found = keys, [], []  # type: ignore[var-annotated]
        self.stack: list[tuple[str, int | None]] = []
        self.found_by: dict[str, list[tuple[str | None, str]]] = {k: [] for k in keys}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        mine = dict(attrs)
        hit = next((k for k in self.keys if k in mine or f"{tag}.{mine.get('class')}" == k), None)
        if hit is not None:
            self.found_by[hit].append((mine.get(hit), ""))
            self.stack.append((tag, len(self.found_by[hit]) - 1))
            self.open.append(hit)
        else:
            self.stack.append((tag, None))
            self.open.append(None)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            t, _ = self.stack.pop()
            self.open.pop()
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        for depth, key in enumerate(self.open):
            if key is not None:
                index = self.stack[depth][1]
                assert index is not None
                attr, text = self.found_by[key][index]
                self.found_by[key][index] = (attr, text + data)


@cache
def _benched(root: Path) -> Path:
    target = root / "project"
    target.mkdir()
    for name, text in {**SUITE, "pyproject.toml": CONFIG}.items():
        (target / name).write_text(text, encoding="utf-8")
    env = suitekit.env_without_pytest_vars()
    for args in (
        ("run", "serial-full", "quick", "xdist-quick", "gate-two-step", "--repeat", "4"),
        ("scan", "quick", "--workers", "0,2", "--repeat", "2"),
    ):
        proc = suitekit.benchlib(*args, "--target", str(target), env=env)
        assert proc.returncode == 0, proc.stderr
    # Right after `benchlib scan`, its page has the scaling section: scan.json came first.
    page = (target / "results" / "report.html").read_text(encoding="utf-8")
    assert 'data-chart="scan-0"' in page and 'data-finding="scaling-quick"' in page
    return target / "results"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    results = _benched(tmp_path_factory.mktemp("bench"))
    proc = suitekit.benchlib("summary", str(results))
    assert proc.returncode == 0, proc.stderr
    return {
        "terminal": proc.stdout,
        "md": (results / "summary.md").read_text(encoding="utf-8"),
        "json": json.loads((results / "summary.json").read_text(encoding="utf-8")),
        "html": (results / "report.html").read_text(encoding="utf-8"),
        "results": results,
    }


def _e(outputs: dict[str, object]) -> dict:  # type: ignore[type-arg]
    data = outputs["json"]
    assert isinstance(data, dict)
    return data["explanation"]  # type: ignore[no-any-return]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_bottom_line_comes_first_and_is_the_same_everywhere(
    outputs: dict[str, object],
) -> None:
    line = _e(outputs)["bottom_line"]
    md, terminal, html = str(outputs["md"]), str(outputs["terminal"]), str(outputs["html"])
    assert line.startswith("On this machine, ")
    assert md.split("\n\n")[1] == f"**Bottom line:** {line}"
    assert explanation.plain(line) in terminal.splitlines()
    (found,) = Texts(html, "data-bottom-line").found_by["data-bottom-line"]
    assert _squash(found[1]) == explanation.plain(line)


def test_every_verdict_and_ratio_agree_and_name_their_reference(
    outputs: dict[str, object],
) -> None:
    e = _e(outputs)
    data, md, terminal = outputs["json"], str(outputs["md"]), str(outputs["terminal"])
    assert isinstance(data, dict)
    html = Texts(str(outputs["html"]), "td.verdict", "data-strategy")
    verdict_cells = [_squash(t) for _, t in html.found_by["td.verdict"]]
    for s in data["strategies"]:
        c = s["comparison"]
        if c is None:
            continue
        v = next(
            v for v in e["verdicts"] if (v["strategy"], v["against"]) == (s["name"], c["before"])
        )
        assert c["verdict_text"] == v["text"]
        assert f"- Speedup: {v['text']}" in md
        assert explanation.plain(v["text"]) in verdict_cells
        row = next(line for line in terminal.splitlines() if line.startswith(s["name"] + " "))
        assert v["text"] in row and c["before"] in row
    # A ratio always names what it is against: in the chart labels as in the text.
    page = str(outputs["html"])
    for _name, label in e["labels"]:
        named = (" than `", " from `", "\N{ALMOST EQUAL TO} `", " with `")
        assert label == "baseline" or any(n in label for n in named), label
        if label:
            assert explanation.plain(label) in page  # the wall chart's label under the name
    # The lane faster than the baseline but slower than its own compare_to says both.
    x = [v for v in e["verdicts"] if v["strategy"] == "xdist-quick"]
    assert {v["against"] for v in x} == {"quick", "serial-full"}


def test_every_why_agrees_and_uses_the_verdicts_medians(outputs: dict[str, object]) -> None:
    e, md, terminal = _e(outputs), str(outputs["md"]), str(outputs["terminal"])
    data = outputs["json"]
    assert isinstance(data, dict)
    html = Texts(str(outputs["html"]), "data-why").found_by["data-why"]
    html_whys = {name: _squash(t).removeprefix("Why: ") for name, t in html}
    assert e["whys"]
    for w in e["whys"]:
        name, text = w["strategy"], w["text"]
        facts = next(s for s in data["strategies"] if s["name"] == name)
        assert facts["why_text"] == text
        assert f"- {text}" in md  # in Where the Time Went
        if name != data["baseline"]:
            assert f"Why: {text}" in md  # and in the strategy's own section
        assert f"why: {explanation.plain(text)}" in terminal
        assert html_whys[name] == explanation.plain(text)
        c = facts["comparison"]
        if c is None or facts["why"] is None:
            continue
        # The why's seconds are the verdict's delta (medians of the same runs), never one run's.
        said = re.search(r"(?:lost|gained|took) (\d+\.\d\d)s", text)
        assert said is not None, text
        assert said.group(1) == f"{abs(c['delta_s']):.2f}"
        if c["word"] not in ("faster", "slower"):
            assert " lost " not in text and " gained " not in text


def test_every_recommendation_agrees_with_the_scan(outputs: dict[str, object]) -> None:
    e, md, terminal = _e(outputs), str(outputs["md"]), str(outputs["terminal"])
    recs = [r["text"] for r in e["recommendations"]]
    data = outputs["json"]
    assert isinstance(data, dict)
    assert [r["text"] for r in data["recommendations"]] == recs
    listed = md.split("## Summary Recommendation\n\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(". ", 1)[1] for line in listed] == recs
    said = [line.strip() for line in terminal.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert [line.split(". ", 1)[1] for line in said] == [explanation.plain(r) for r in recs]
    page = str(outputs["html"])
    items = [
        _squash(t) for _, t in Texts(page, "data-recommendation").found_by["data-recommendation"]
    ]
    assert items == [explanation.plain(r) for r in recs]
    # One decision: a lane of the scanned strategy is the scan's pick, in every sentence.
    (pick,) = e["scan_picks"]
    assert pick["text"] in md  # the scaling section states the same pick
    for r in e["recommendations"]:
        if r["kind"] in ("local", "gate") and r["strategy"].startswith("quick@"):
            assert r["strategy"] == pick["strategy"]
    assert explanation.plain(pick["text"]) in _squash(
        " ".join(t for _, t in Texts(page, "data-finding").found_by["data-finding"])
    )


def test_the_page_has_every_section_the_markdown_has(outputs: dict[str, object]) -> None:
    e, md, page = _e(outputs), str(outputs["md"]), str(outputs["html"])
    keys = {f["key"] for f in e["findings"]}
    assert {"steps", "where", "profile"} <= keys and any(k.startswith("scaling-") for k in keys)
    for f in e["findings"]:
        assert f"## {f['title']}" in md
        assert f'data-finding="{f["key"]}"' in page
    # The two-step gate's command is both steps, in the text and on the page.
    data = outputs["json"]
    assert isinstance(data, dict)
    gate = next(s for s in data["strategies"] if s["name"] == "gate-two-step")
    assert len(gate["steps"]) == 2 and gate["command"] == " && ".join(gate["steps"])
    assert "-m 'not serial'" in gate["command"] and "-m serial" in gate["command"]
    assert "`" not in _squash(
        " ".join(t for _, t in Texts(page, "data-finding").found_by["data-finding"])
    )
