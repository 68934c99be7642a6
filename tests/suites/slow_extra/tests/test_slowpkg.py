import time

import pytest

from slowpkg import double


@pytest.mark.parametrize("n", range(6))
def test_double(n):
    assert double(n) == n + n


@pytest.mark.slow
def test_double_many():
    time.sleep(0.4)
    assert all(double(n) == 2 * n for n in range(1000))
