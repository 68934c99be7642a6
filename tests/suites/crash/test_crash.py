"""The second test ends its process at once, as a segfaulting extension or a stray
sys.exit in a fork would: serially the run dies there; under xdist the worker does."""
import os


def test_1_before():
    pass


def test_2_exits():
    os._exit(1)


def test_3_never_reached():
    pass


def test_4_never_reached():
    pass
