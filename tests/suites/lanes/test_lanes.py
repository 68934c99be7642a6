"""A suite whose `unit` lane is about 3x faster than the whole: 1.2 s of tests against 0.1 s."""

import time

import pytest


@pytest.mark.parametrize("i", range(3))
def test_slow(i):
    time.sleep(0.4)


@pytest.mark.unit
def test_fast():
    time.sleep(0.1)
