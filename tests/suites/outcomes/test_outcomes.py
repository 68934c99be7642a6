import warnings

import pytest


def test_pass():
    pass


def test_fail():
    assert 1 == 2, "one is not two"


def test_error_in_setup(broken_setup):
    pass


def test_error_in_teardown(broken_teardown):
    pass


def test_fail_and_error_in_teardown(broken_teardown):
    raise AssertionError("fails, then its teardown errors too")


@pytest.mark.skip(reason="skipped on purpose")
def test_skip():
    pass


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="fixed but still marked")
def test_xpass():
    pass


def test_warns():
    warnings.warn("old API", DeprecationWarning)
    warnings.warn("odd value", UserWarning)


@pytest.mark.slow
def test_slow_deselected():
    pass


@pytest.mark.slow
def test_slow_deselected_too():
    pass


@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n
