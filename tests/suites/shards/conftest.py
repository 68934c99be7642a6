"""60 tests with skewed durations: 3 long, 6 medium, 51 short (about 4.9 s in all).

SUITE_SCALE multiplies every duration (0.1 for a quick replay). Tests marked `serial` fail when
run by an xdist worker, as tests that are not xdist-safe would.
"""

import os
import time

import pytest

SCALE = float(os.environ.get("SUITE_SCALE", "1"))


@pytest.fixture
def spend():
    def spend(seconds):
        time.sleep(seconds * SCALE)

    return spend


@pytest.fixture(autouse=True)
def _serial_means_serial(request):
    if request.node.get_closest_marker("serial") and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("a serial test ran on an xdist worker")
