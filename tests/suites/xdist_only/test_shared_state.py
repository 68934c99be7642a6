"""test_reads_marker passes serially and errors in teardown under xdist, like a fixture
that cleans up a resource another process owns."""

import os

import pytest


@pytest.fixture
def docker_like():
    yield
    if os.environ.get("PYTEST_XDIST_WORKER"):
        raise RuntimeError("APIError: did not receive an exit event")


def test_reads_marker(docker_like):
    pass


def test_plain():
    pass
