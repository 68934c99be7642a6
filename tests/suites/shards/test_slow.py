import pytest


@pytest.mark.parametrize("n", range(3))
def test_long(spend, n):
    spend(0.8)
