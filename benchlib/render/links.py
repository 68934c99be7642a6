"""Links in a summary that resolve wherever it is read.

A run's log and trace are linked relative to its results folder (`logs/RUN.log`). A summary
written elsewhere (CI's merge of every job's artifact into summary/) brings them along: each
linked file is copied beside the summary under the same relative path, so the links resolve
inside the merged folder and its artifact. Run ids are unique, so no two runs' files collide.

On a CI job's summary page no relative link can resolve: there they point to the workflow
run's page, where the artifact holding the files is listed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from benchlib.analyze.resultset import Run

# A Markdown link as wording.link writes it: the target is URL-quoted, so it has no `)`.
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def gather(runs: Iterable[Run], out: Path) -> None:
    """Copy each run's log and trace from its results folder into out, under the same paths."""
    for run in runs:
        if run.source is None or run.source.parent.resolve() == out.resolve():
            continue
        folder = run.source.parent
        names = (
            run.result.log_path,
            f"{run.result.run_id}.trace.json",
            f"logs/{run.result.run_id}.trace.json",
        )
        for relative in names:
            _copy(folder, relative, out)


def _copy(folder: Path, relative: str, out: Path) -> None:
    source, target = folder / relative, out / relative
    inside = os.path.normpath(relative)
    if inside.startswith("..") or os.path.isabs(inside):
        return  # a result file's own path may not reach outside its folder
    if source.is_file() and not target.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        except OSError:
            return  # out cannot be written: writing the summary there says so, in one line


def run_page(env: Mapping[str, str]) -> str | None:
    """Return the GitHub Actions run's page (its artifacts), or None outside a workflow run."""
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if not all(env.get(k) for k in keys):
        return None
    server, repo, run_id = (env[k] for k in keys)
    return f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}#artifacts"


def for_page(markdown: str, page: str) -> str:
    """Point every relative link at the run's page; anchors and absolute links stay."""

    def target(m: re.Match[str]) -> str:
        url = m.group(1)
        return m.group(0) if url.startswith("#") or "://" in url else f"]({page})"

    return _LINK.sub(target, markdown)
