import pytest

from covlib import collatz_steps, work


@pytest.mark.parametrize("seed", range(1, 9))
def test_work(seed):
    assert work(seed * 1000) > 0


def test_collatz():
    assert collatz_steps(27) == 111
