import pytest


@pytest.mark.parametrize("n", range(12))
def test_quick(spend, n):
    spend(0.02)


class TestSerial:
    @pytest.mark.serial
    @pytest.mark.parametrize("n", range(5))
    def test_writes_shared_file(self, spend, n):
        spend(0.02)
