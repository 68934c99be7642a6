import a_module_that_does_not_exist  # noqa: F401  (a collection error: pytest exits 2)


def test_never_collected():
    pass
