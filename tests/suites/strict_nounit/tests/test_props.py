import time

import pytest


# The slow tail: property-style tests that dominate the suite's time.
@pytest.mark.parametrize("n", range(3))
def test_property(n):
    time.sleep(0.3)
    assert n >= 0
