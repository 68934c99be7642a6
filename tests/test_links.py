"""Links in a summary: the files it links come along with it; on a CI page they point home."""

from __future__ import annotations

from pathlib import Path

import factories as f
import pytest

from benchlib.analyze import resultset
from benchlib.render import links

PAGE = "https://github.com/o/p/actions/runs/7#artifacts"


@pytest.mark.unit
def test_on_the_job_page_relative_links_point_to_the_run() -> None:
    text = "- Log: [logs/a b.log](logs/a%20b.log), [x](#x), [y](https://e.invalid/y)"
    assert links.for_page(text, PAGE) == (
        f"- Log: [logs/a b.log]({PAGE}), [x](#x), [y](https://e.invalid/y)"
    )


@pytest.mark.unit
def test_the_run_page_needs_the_whole_github_context() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com/", "GITHUB_REPOSITORY": "o/p"}
    assert links.run_page(env) is None
    assert links.run_page({**env, "GITHUB_RUN_ID": "7"}) == PAGE


@pytest.mark.unit
def test_a_summary_written_elsewhere_brings_its_logs_and_traces(tmp_path: Path) -> None:
    job = tmp_path / "artifacts" / "results-job"
    r = f.result(log_path="logs/run.log")
    path = f.write(r, job)
    (job / "logs").mkdir(exist_ok=True)
    (job / "logs" / "run.log").write_text("the log")
    (job / f"{r.run_id}.trace.json").write_text("{}")
    hostile = f.result(log_path="../../outside.log")  # a result may not reach out of its folder
    (tmp_path / "outside.log").write_text("no")
    f.write(hostile, job)
    out = tmp_path / "summary"
    links.gather(resultset.load([job]).runs, out)
    assert (out / "logs" / "run.log").read_text() == "the log"
    assert (out / f"{r.run_id}.trace.json").is_file()
    assert sorted(p.name for p in out.rglob("*")) == sorted(
        ["logs", "run.log", f"{r.run_id}.trace.json"]
    )
    assert path.parent == job
    assert not (tmp_path.parent / "outside.log").exists()
