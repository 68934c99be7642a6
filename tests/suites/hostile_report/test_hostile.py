"""Tests whose node ids and failure messages are hostile Markdown and HTML.

They pass unless BENCH_HOSTILE is set, so one strategy can fail them where the baseline passed
(new failures, instability). test_long_command fails with a whole argv as its first line.
"""
import os
import subprocess

import pytest

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<b>bold</b>",
    "[link](http://evil)",
    "a | pipe in a table cell",
]


def _fail(message):
    if os.environ.get("BENCH_HOSTILE"):
        raise AssertionError(message)


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img", "b", "link", "pipe"])
def test_message(payload):
    _fail(payload)


@pytest.mark.parametrize("n", [1], ids=["tick`s"])
def test_backtick_id(n):
    _fail("id with a backtick")


def test_long_command():
    if os.environ.get("BENCH_HOSTILE"):
        argv = ["/opt/venv/bin/python", "-m", "pytest"] + [f"tests/unit/test_module_{i}.py" for i in range(30)]
        raise subprocess.CalledProcessError(3, argv)
