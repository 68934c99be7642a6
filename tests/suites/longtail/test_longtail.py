"""One 3 s test and 60 of 0.05 s: at -n 2 the long test binds the run, not sum / workers."""

import time

import pytest


def test_long():
    time.sleep(3.0)


@pytest.mark.parametrize("i", range(60))
def test_short(i):
    time.sleep(0.05)
