"""A real browser opens report.html from a real bench of a suite whose ids and messages are markup.

Headless Chromium (Debian: apt-get install chromium chromium-driver; pip install selenium)
loads the page offline and behind a proxy that goes nowhere: nothing may be requested, nothing
logged to the console, no injected script run, and the charts must hold what the result files
hold. The Markdown's Mermaid blocks are parsed and drawn by Mermaid itself in the same browser
(npm install mermaid in the repository, or BENCHLIB_MERMAID_JS=/path/to/mermaid.min.js).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import suitekit

from benchlib.explain.wording import seconds

# Heavy: left out of the embedded default bench (see [tool.benchlib] in pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None  # type: ignore[assignment]

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
DRIVER = shutil.which("chromedriver")
MISSING = (
    "selenium is not installed (pip install selenium)"
    if webdriver is None
    else "no Chromium found (apt-get install chromium)"
    if CHROMIUM is None
    else "no chromedriver found (apt-get install chromium-driver)"
    if DRIVER is None
    else None
)
ROOT = Path(__file__).resolve().parent.parent
MERMAID = Path(
    os.environ.get("BENCHLIB_MERMAID_JS", ROOT / "node_modules/mermaid/dist/mermaid.min.js")
)
HOSTILE = (
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</title><svg onload=window.__pwned=3>",
    "[link](javascript:window.__pwned=4)",
    "<b>bold</b>",
    "<script>window.__pwned=5</script> every test",
)
SCAN = {
    "strategy": "gate",
    "points": [
        {
            "workers": 0,
            "dist": None,
            "runs": 3,
            "wall_s_median": 3.0,
            "ci_low": 2.8,
            "ci_high": 3.3,
            "peak_rss_bytes": 50 * 2**20,
        },
        {
            "workers": 2,
            "dist": "<i>load</i>",
            "runs": 3,
            "wall_s_median": 2.0,
            "ci_low": 1.9,
            "ci_high": 2.2,
            "peak_rss_bytes": 90 * 2**20,
        },
    ],
    "fit": {
        "serial_s": 1.0,
        "parallel_s": 2.0,
        "per_worker_s": 0.02,
        "note": "<script>window.__pwned=8</script>",
    },
    "recommended": {"workers": 2, "dist": "<i>load</i>"},
    "cpus": 2,
    "predicted": [
        # This machine as it was, then an idle machine of each size: one series each.
        {"workers": 4, "dist": "<i>load</i>", "wall_s": 1.6, "cpus": 1.7},
        {"workers": 8, "dist": "<i>load</i>", "wall_s": 1.9, "cpus": 1.7},
        *(
            {
                "workers": n,
                "dist": "<i>load</i>",
                "wall_s": 1.0 + 2.0 / n + 0.02 * n,
                "cpus": n,
                "on_this_machine": False,
            }
            for n in (4, 8, 16, 32)
        ),
    ],
}
MACHINE_SIZES = 5  # this machine, and idle machines of 4, 8, 16 and 32 CPUs


def unavailable(reason: str) -> None:
    """Skip on a developer's machine without a browser; in CI, which installs one, fail."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if MISSING:
        unavailable(MISSING)
    opts = Options()
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        # Port 9 (discard) is closed: a request that leaves the page fails, and says so.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
    ):
        opts.add_argument(flag)
    opts.binary_location = str(CHROMIUM)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bench the hostile suite for real (serial, a marker lane, xdist) with a scan beside it."""
    if MISSING:
        unavailable(MISSING)
    tmp = tmp_path_factory.mktemp("hostile")
    target, results = suitekit.copy_suite("hostile", tmp), tmp / "results"
    results.mkdir()
    (results / "scan.json").write_text(json.dumps(SCAN), encoding="utf-8")
    done = suitekit.benchlib(
        "run",
        "serial-full",
        "unit",
        "gate",
        "--target",
        str(target),
        "--results",
        str(results),
        "--summary",
        env=suitekit.env_without_pytest_vars(),
    )
    assert done.returncode == 0, done.stderr
    assert "report.html" in done.stdout
    return results


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BENCHLIB_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_report(browser: Any, results: Path) -> None:
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get((results / "report.html").as_uri())


def result_files(results: Path) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(results.glob("*.json"))
        if p.name not in ("summary.json", "scan.json") and not p.name.endswith(".trace.json")
    ]


def test_report_loads_nothing_and_runs_no_injected_script(
    browser: Any, bench: Path, tmp_path: Path
) -> None:
    open_report(browser, bench)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height, 12000))
    browser.save_screenshot(str(artifacts(tmp_path) / "report.png"))
    assert browser.get_log("browser") == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    active = "script, img, iframe, object, embed, link, [onerror], [onload], [onclick]"
    assert browser.execute_script(f"return document.querySelectorAll('{active}').length") == 0
    text = browser.execute_script("return document.documentElement.textContent")
    for value in HOSTILE:
        assert value in text
    timing = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [n.loadEventEnd, n.transferSize || n.decodedBodySize];"
    )
    print(f"report.html: loaded in {timing[0]:.0f} ms, {timing[1]} bytes")


COUNT = """
const [selector, strategy, attr] = arguments;
const found = Array.from(document.querySelectorAll(selector))
    .filter(e => strategy === null || e.dataset.strategy === strategy);
return attr === null ? found.length : found.reduce((n, e) => n + Number(e.dataset[attr]), 0);
"""


def count(browser: Any, selector: str, strategy: str | None = None, attr: str | None = None) -> int:
    return int(browser.execute_script(COUNT, selector, strategy, attr))


def test_charts_hold_what_the_result_files_hold(browser: Any, bench: Path) -> None:
    open_report(browser, bench)
    runs = result_files(bench)
    assert len(runs) == 3
    assert count(browser, "[data-chart=walls] circle[data-kind=run]") == len(runs)
    assert count(browser, "[data-chart=parts] rect[data-kind=part]") == 7 * len(runs)
    assert count(browser, "[data-chart=resources] path[data-series]") == 3 * len(runs)
    for run in runs:
        name, rows = run["strategy"]["name"], run["tests"]
        fields = run["test_fields"]
        timed = [dict(zip(fields, row, strict=False)) for row in rows]
        timed = [t for t in timed if t.get("start_s") is not None]
        workers = {t.get("worker") or "main" for t in timed}
        failing = sum(1 for t in timed if t["outcome"] in ("failed", "error"))
        assert count(browser, "rect[data-kind=lane]", name) == len(workers)
        assert count(browser, "rect[data-kind=segment]", name, "tests") == len(timed)
        assert count(browser, "path[data-kind=fail]", name, "failing") == failing
    assert len({r["strategy"]["workers"] for r in runs}) == 2  # serial and xdist lanes drawn
    assert count(browser, "[data-chart=scan-0] circle[data-kind=measured]") == len(SCAN["points"])
    assert count(browser, "[data-chart=scan-0] circle[data-kind=predicted]") == 6
    assert count(browser, "[data-chart=scan-0] path[data-kind=predicted-line]") == 1
    assert count(browser, "tr[data-unstable]") == 1  # fails only under xdist


PARSE = """
const [blocks, done] = arguments;
mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
(async () => {
  const out = [];
  for (const [i, text] of blocks.entries()) {
    try {
      const parsed = await mermaid.parse(text);
      const {svg} = await mermaid.render("chart" + i, text);
      const box = document.createElement("div");
      box.innerHTML = svg;
      out.push({type: parsed.diagramType, tasks: box.querySelectorAll("rect.task").length,
                bars: box.querySelectorAll("g.bar-plot-0 rect").length});
    } catch (e) { out.push({error: String((e && e.message) || e)}); }
  }
  done(out);
})();
"""


def test_mermaid_blocks_parse_and_say_the_tables_numbers(
    browser: Any, bench: Path, tmp_path: Path
) -> None:
    if not MERMAID.is_file():
        unavailable(f"no Mermaid bundle at {MERMAID} (npm install mermaid, or BENCHLIB_MERMAID_JS)")
    md = (bench / "summary.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)\n```", md, re.S)
    page = tmp_path / "mermaid.html"
    page.write_text(f'<!DOCTYPE html><script src="{MERMAID.as_uri()}"></script>', encoding="utf-8")
    browser.get(page.as_uri())
    parsed = browser.execute_async_script(PARSE, blocks)
    assert [p.get("type", p.get("error")) for p in parsed] == ["xychart", "gantt"]
    strategies = json.loads((bench / "summary.json").read_text(encoding="utf-8"))["strategies"]
    medians = [seconds(s["wall"]["median_s"])[:-1] for s in strategies]
    assert f"bar [{', '.join(medians)}]" in blocks[0]
    assert parsed[0]["bars"] == len(strategies)
    tasks = [line for line in blocks[1].splitlines() if re.search(r" :(done|active|crit), ", line)]
    assert parsed[1]["tasks"] == len(tasks)
    pictures = json.loads((bench / "summary.json").read_text(encoding="utf-8"))["charts"]
    for p in pictures["pictures"]:
        b = p["breakdown"]
        section = blocks[1].split(f"section {p['strategy']}\n")[1]
        assert section.startswith(f"    start-up {seconds(b['startup_s'])} :done, 00:00:00.000, ")
        assert f"    shutdown {seconds(b['shutdown_s'])} :done, " in section


# Every text box of a chart against every other and against every point: none may overlap.
OVERLAPS = """
const chart = document.querySelector(arguments[0]);
const box = e => e.getBoundingClientRect();
const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const texts = Array.from(chart.querySelectorAll("text")).map(e => [e.textContent, box(e)]);
const dots = Array.from(chart.querySelectorAll("circle")).map(e => [e.dataset.kind, box(e)]);
const found = [];
texts.forEach(([t, a], i) => {
  texts.slice(i + 1).forEach(([u, b]) => { if (hit(a, b)) found.push(t + " / " + u); });
  dots.forEach(([k, b]) => { if (hit(a, b)) found.push(t + " / a " + k + " point"); });
});
return [texts.length, found];
"""


def test_the_new_sections_and_the_scaling_chart_read_at_a_glance(
    browser: Any, bench: Path, tmp_path: Path
) -> None:
    open_report(browser, bench)
    folder = artifacts(tmp_path)
    data = json.loads((bench / "summary.json").read_text(encoding="utf-8"))
    e = data["explanation"]
    # The bottom line first, then each finding summary.md has, as a section of its own.
    first = browser.execute_script(
        "return document.querySelector('header h1').nextElementSibling.dataset.bottomLine"
    )
    assert first == ""  # the attribute is there, on the element right after the title
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-finding]')).map(e => e.id)"
    )
    assert shown == [f["key"] for f in e["findings"]]
    assert {"where", "profile"} <= set(shown)
    text = browser.execute_script("return document.body.innerText")
    said = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-finding], [data-why], "
        "[data-recommendation], [data-bottom-line]')).map(e => e.innerText).join(' ')"
    )
    # Markdown's marks became elements: no code marks around a name, no escaped pipe or bold.
    for name in (s["name"] for s in data["strategies"]):
        assert f"`{name}`" not in said
    assert "\\|" not in said and "**" not in said
    assert "Why:" in text and count(browser, "[data-why]") == len(e["whys"])
    for key in ("where", "profile"):
        browser.execute_script(f"document.getElementById('{key}').scrollIntoView()")
        browser.find_element("id", key).screenshot(str(folder / f"section-{key}.png"))
    # The scaling chart: one series per machine size, in the legend; no label over anything.
    chart = "[data-chart=scan-0]"
    series = browser.execute_script(
        f"return Array.from(new Set(Array.from(document.querySelectorAll('{chart} "
        "circle[data-kind=predicted]')).map(e => e.dataset.series)))"
    )
    assert len(series) == MACHINE_SIZES
    legend = browser.execute_script(
        f"return document.querySelector('{chart}').closest('figure').innerText"
    )
    for label in series:
        assert label in legend
    assert count(browser, f"{chart} line[data-kind=cpus]") == 1
    assert count(browser, f"{chart} path[data-kind=fit]") == 1
    texts, overlaps = browser.execute_script(OVERLAPS, chart)
    assert texts > 0 and overlaps == []
    browser.execute_script(f"document.querySelector('{chart}').scrollIntoView()")
    browser.find_element("css selector", chart).screenshot(str(folder / "scaling.png"))
