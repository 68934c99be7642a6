from __future__ import annotations

import sys

from benchlib.cli.main import main

sys.exit(main())
