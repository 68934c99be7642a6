"""Tests whose ids and messages are markup: a report that renders them unescaped runs them."""

import os
import time

import pytest

HOSTILE = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</title><svg onload=window.__pwned=3>",
    "`tick` *star* [link](javascript:window.__pwned=4) | pipe & amp",
]


@pytest.mark.unit
@pytest.mark.parametrize("text", HOSTILE, ids=HOSTILE)
def test_markup_id(text):
    time.sleep(0.05)


@pytest.mark.parametrize("text", HOSTILE[:2], ids=HOSTILE[:2])
def test_markup_failure(text):
    time.sleep(0.05)
    raise AssertionError(f"<b>bold</b> {text}")


@pytest.fixture
def broken():
    raise RuntimeError('<img src=x onerror="window.__pwned=7"> setup exploded')


def test_markup_error(broken):
    pass


@pytest.mark.parametrize("text", HOSTILE[:1], ids=HOSTILE[:1])
def test_fails_only_under_xdist(text):
    time.sleep(0.05)
    # Fails only on an xdist worker: an instability row, with its id and message.
    assert "PYTEST_XDIST_WORKER" not in os.environ, f"<i>worker</i> {text}"


@pytest.mark.unit
@pytest.mark.parametrize("n", range(8))
def test_sleep(n):
    time.sleep(0.05)
