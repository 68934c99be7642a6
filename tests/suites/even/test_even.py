"""40 tests of 0.25 s each: at -n 2 the summed time over the workers binds the run."""

import time

import pytest


@pytest.mark.parametrize("i", range(40))
def test_sleep(i):
    time.sleep(0.25)
