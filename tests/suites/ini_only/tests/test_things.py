import time

import pytest


@pytest.mark.parametrize("n", range(6))
def test_fast(n):
    assert n < 6


def test_slow_io():
    time.sleep(0.4)
