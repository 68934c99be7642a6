import os
import resource
from pathlib import Path


def pytest_unconfigure(config):
    # Every pytest process (controller and xdist workers) reports its own CPU time: their
    # sum is what benchlib must measure for the tree, independently of any other run.
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out = Path(os.environ["BENCH_CPU_DIR"], f"rusage-{os.getpid()}")
    out.write_text(str(ru.ru_utime + ru.ru_stime))
