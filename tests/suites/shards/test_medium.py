import pytest


@pytest.mark.parametrize("n", range(4))
def test_medium(spend, n):
    spend(0.25)


@pytest.mark.serial
@pytest.mark.parametrize("n", range(2))
def test_medium_shared_state(spend, n):
    spend(0.25)
