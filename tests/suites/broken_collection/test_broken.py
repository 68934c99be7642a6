"""With BENCH_BREAK set this module cannot be imported: a collection error, pytest exits 2."""
import os

if os.environ.get("BENCH_BREAK"):
    import a_module_that_does_not_exist  # noqa: F401


def test_collected():
    pass
