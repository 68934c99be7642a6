import pytest


@pytest.mark.parametrize("n", range(8))
def test_quick(n):
    assert n * 2 == n + n
