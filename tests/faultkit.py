"""Helpers of the reliability lane: a token on every process a case starts, and its scan.

Every case runs under a token of its own (``BENCHLIB_TEST_TOKEN``) that every process it starts
inherits, and ends by scanning ``/proc/*/environ`` for it: nothing a case started may outlive
it, whatever killed what. The lane's modules import ``tree_token`` (autouse) from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import suitekit

from benchlib.model import results

TOKEN_VAR = "BENCHLIB_TEST_TOKEN"


# --- the token scan ------------------------------------------------------------------------


def token_holders(token: str) -> dict[int, str]:
    """Return the live processes whose environment carries the token, with their commands."""
    needle = f"{TOKEN_VAR}={token}\0".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        with contextlib.suppress(OSError):  # gone, or a zombie (its environ reads empty)
            if needle in Path(f"/proc/{name}/environ").read_bytes():
                cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
                found[int(name)] = cmd.decode(errors="replace").strip()
    return found


@pytest.fixture(autouse=True)
def tree_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Mark every process the test starts; afterwards, fail if any of them is alive."""
    token = uuid.uuid4().hex
    monkeypatch.setenv(TOKEN_VAR, token)
    yield token
    left = token_holders(token)
    deadline = time.monotonic() + 5  # a process SIGKILLed a moment ago may still be exiting
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = token_holders(token)
    for pid in left:  # do not leak them into the rest of the session
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == {}, f"processes outlived the case: {left}"


# --- helpers -------------------------------------------------------------------------------


def env(**extra: str) -> dict[str, str]:
    return suitekit.env_without_pytest_vars() | extra


def benchlib(*args: str | Path, cwd: Path | None = None, **extra: str) -> Any:
    return suitekit.benchlib(*map(str, args), cwd=cwd, env=env(**extra))


def start(*args: str | Path, preexec_fn: Callable[[], None] | None = None, **extra: str) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "benchlib", *map(str, args)],
        env=env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def wait_for(what: Callable[[], object], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def result_files(folder: Path) -> list[Path]:
    """Return the run results in a folder: not the summary, nor the runs' traces."""
    return sorted(p for p in folder.glob("*.json") if results.is_result_name(p.name))


def one_result(folder: Path) -> dict[str, Any]:
    [path] = result_files(folder)
    return suitekit.validate(path)


def one_line_error(proc: Any, *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert re.match(r"benchlib( \w+)?: error: ", line), line  # argparse names the command
    for needle in needles:
        assert needle in line
    return str(line)


def pids_in(folder: Path) -> set[int]:
    return {int(p.name.rsplit(".", 1)[1]) for p in folder.iterdir()}


def project_with_venv(root: Path) -> Path:
    """The markers suite as a project with its own .venv (pytest and xdist from ours, by .pth)."""
    project = suitekit.copy_suite("markers", root).rename(root / "proj")
    venv = project / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = (venv / "lib").glob("python*/site-packages")
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (site / "ours.pth").write_text(ours + "\n")
    return project


def run_once(target: Path, out: Path, *names: str) -> None:
    """Run strategies in a module fixture: its own token, scanned like a case's."""
    token = uuid.uuid4().hex
    proc = suitekit.benchlib(
        "run", *names, "--target", str(target), "--results", str(out),
        env=env(**{TOKEN_VAR: token}),
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    assert token_holders(token) == {}


def copy_results(source: Path, dest: Path, *strategies: str) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in result_files(source):
        if not strategies or suitekit.validate(path)["strategy"]["name"] in strategies:
            copied.append(dest / path.name)
            copied[-1].write_bytes(path.read_bytes())
    return copied


def _outside_code(line: str) -> str:
    """Return a line of Markdown with its code spans blanked: the part that renders as markup."""
    kept, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            kept.append(line[i : i + 2])  # an escaped character is text
            i += 2
            continue
        if line[i] != "`":
            kept.append(line[i])
            i += 1
            continue
        n = len(line[i:]) - len(line[i:].lstrip("`"))
        j = i + n
        while j < len(line):  # the span closes at the next run of exactly n backticks
            m = len(line[j:]) - len(line[j:].lstrip("`"))
            if m == n:
                break
            j += m or 1
        if j < len(line):
            kept.append(" ")
            i = j + n
        else:
            kept.append("`" * n)  # never closed: literal backticks
            i += n
    return "".join(kept)


def markup(markdown: str) -> str:
    """Return the Markdown without fenced blocks and code spans (CommonMark's literal text)."""
    lines, fence = [], ""
    for line in markdown.splitlines():
        if fence:
            fence = "" if line.strip() == fence else fence
        elif line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        else:
            lines.append(_outside_code(line))
    return "\n".join(lines)
