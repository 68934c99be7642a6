import atexit
import os
import resource
from pathlib import Path


@atexit.register
def _report_cpu():
    # Every pytest process (controller and xdist workers) reports its own CPU time as late as
    # it can, at exit: their sum is what benchlib must measure for the tree.
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out = Path(os.environ["BENCH_CPU_DIR"], f"rusage-{os.getpid()}")
    out.write_text(str(ru.ru_utime + ru.ru_stime))
