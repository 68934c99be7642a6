"""pytest 9's subtests fixture: three subtests pass, one fails, in one test."""


def test_with_subtests(subtests):
    for i in range(3):
        with subtests.test(msg="passes", i=i):
            assert i < 3
    with subtests.test(msg="fails"):
        assert False, "subtest failed on purpose"


def test_plain():
    pass
