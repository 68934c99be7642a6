import pytest


@pytest.mark.parametrize("n", range(17))
def test_quick(spend, n):
    spend(0.02)
