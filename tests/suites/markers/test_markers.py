import pytest


@pytest.mark.unit
def test_unit():
    pass


@pytest.mark.unit
@pytest.mark.network
def test_unit_network():
    pass


@pytest.mark.network
def test_network():
    pass


@pytest.mark.fast
def test_fast():
    pass


@pytest.mark.unit
def test_unit_slow_keyword():
    pass


def test_plain():
    pass
