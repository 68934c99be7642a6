from __future__ import annotations

import sys
from pathlib import Path

# The fixture suites are targets for benchlib, copied into tmp_path by the tests that run them;
# they fail on purpose and must never be collected as part of this project's own suite.
collect_ignore = ["suites"]

# Tests import their helpers (factories) as plain modules.
sys.path.insert(0, str(Path(__file__).parent))

# A quiet machine for the tests that measure the machine's load (quietkit.quiet_machine).
pytest_plugins = ["quietkit"]
