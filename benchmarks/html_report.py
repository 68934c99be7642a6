"""Measure report.html: how long it takes to write, how big it is, how long Chromium takes.

Usage: python benchmarks/html_report.py [RESULTS_DIR] [--tests 5000] [--loads 5]

Without RESULTS_DIR, a result set of 4 strategies x 5 repeats over a suite of --tests tests is
built with tests/timedruns.py. Chromium (with selenium and chromedriver) loads the page --loads
times in a fresh headless browser; the figure is the later of the navigation's loadEventEnd
(parse, style, layout) and the first contentful paint, median of the loads. The targets: under
2 MB and under 2 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchlib import pipeline
from benchlib.analyze import summary
from benchlib.explain import explanation
from benchlib.render.html import page as htmlreport


def build(results: Path | None, tests: int) -> summary.Summary:
    if results is not None:
        return pipeline.summarize([results])
    import timedruns

    return summary.analyze(timedruns.four_strategies(tests=tests, repeats=5))


def load_times(page: Path, loads: int) -> list[float]:
    """Return loadEventEnd (ms) of each load, each in a new headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    times = []
    for _ in range(loads):
        opts = Options()
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={tempfile.mkdtemp()}")
        opts.binary_location = shutil.which("chromium") or "chromium"
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        try:
            driver.get(page.as_uri())
            # loadEventEnd, or the first contentful paint when it comes later.
            script = (
                "return Math.max(performance.getEntriesByType('navigation')[0].loadEventEnd,"
                " ...performance.getEntriesByType('paint').map(e => e.startTime))"
            )
            times.append(float(driver.execute_script(script)))
        finally:
            driver.quit()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="a small setting that checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.quick:  # no browser: CI has none
        args.tests, args.loads = 50, 0
    started = time.perf_counter()
    s = build(args.results, args.tests)
    built = time.perf_counter()
    text = htmlreport.render(s, explanation.build(s, ()))
    rendered = time.perf_counter()
    page = Path(tempfile.mkdtemp()) / "report.html"
    page.write_text(text, encoding="utf-8")
    tests = sum(p.tests for p in s.charts.pictures)
    segments = sum(len(lane.segments) for p in s.charts.pictures for lane in p.lanes)
    print(f"{len(s.runs)} runs, {len(s.strategies)} strategies, {tests} tests pictured")
    print(f"summary {built - started:.2f} s; render {rendered - built:.2f} s")
    print(f"report.html {len(text.encode()) / 2**20:.2f} MiB, {segments} lane segments")
    if args.loads:
        times = load_times(page, args.loads)
        print(f"Chromium load: median {statistics.median(times):.0f} ms of {times}")


if __name__ == "__main__":
    main()
