import pytest

from covpkg import classify


@pytest.mark.parametrize(("n", "word"), [(-1, "negative"), (0, "zero"), (3, "positive")])
def test_classify(n, word):
    assert classify(n) == word
