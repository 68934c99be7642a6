"""Tests that each do a fixed amount of CPU work, not a fixed time: a busy machine slows them.

SUITE_WORK sets the loop count of each test (default 300,000: ~30 ms on an idle core).
"""

import os

import pytest

WORK = int(os.environ.get("SUITE_WORK", "300000"))


def _work():
    n = 0
    for i in range(WORK):
        n += i * i
    return n


@pytest.mark.unit
@pytest.mark.parametrize("n", range(4))
def test_unit(n):
    assert _work() > 0


@pytest.mark.parametrize("n", range(8))
def test_integration(n):
    assert _work() > 0
