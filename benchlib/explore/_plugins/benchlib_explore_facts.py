"""A pytest plugin explore loads with `-p` for one collect-only run (the preflight): what loaded
under this exact variant, the coverage core it runs, what it selects.

It runs in the project's interpreter (any Python pytest supports): standard library only, no
benchlib import. It writes one JSON file, named by BENCHLIB_EXPLORE_FACTS, at the end of
collection.
"""

import json
import os
import sys
from typing import Any


def _coverage(config: Any) -> Any:
    plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    if cov is None:
        return None
    core = getattr(cov, "_core", None)
    c = cov.config
    return {
        "branch": bool(c.branch),
        "timid": bool(c.timid),
        "concurrency": list(c.concurrency or ()),
        "dynamic_context": c.dynamic_context,
        "core": core.tracer_class.__name__ if core is not None else None,
        "version": __import__("coverage").__version__,
    }


def pytest_collection_finish(session: Any) -> None:
    config = session.config
    pm = config.pluginmanager
    facts = {
        "python": list(sys.version_info[:3]),
        "plugins": sorted(
            n for n, p in pm.list_name_plugin() if n and p is not None and not n.isdigit()
        ),
        "xdist": pm.hasplugin("xdist"),
        "autoload_off": bool(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")),
        "capture": getattr(config.option, "capture", None),
        "coverage": _coverage(config),
        "nodeids": [item.nodeid for item in session.items],
    }
    with open(os.environ["BENCHLIB_EXPLORE_FACTS"], "w", encoding="utf-8") as f:
        json.dump(facts, f)
