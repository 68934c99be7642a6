"""Nox integration: a session per strategy (per shard), `bench` for all of them, `summary`.

A noxfile calls ``register(install=...)``; the sessions are generated from the target's
configuration, so a strategy added in pyproject.toml gets its session; a strategy with
``shards = K`` gets one session per shard (``bench-NAME-1ofK`` ...), each a CI job of the
matrix (tagged ``benchlib-strategy``), and an untagged ``bench-NAME`` that runs them all in turn.
They measure only the pytest runs: venv creation and installs happen before benchlib starts its
clock, and a venv that is already up to date is not installed into again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import nox

from benchlib.plan import config

# `nox -l --json` shows this tag on every strategy session: CI builds its matrix from it.
STRATEGY_TAG = "benchlib-strategy"
# uv when it is installed, else virtualenv, which nox always has.
VENV_BACKEND = "uv|virtualenv"

Install = Callable[[nox.Session], None]


def _install_once(session: nox.Session, install: Install, root: Path) -> None:
    """Install unless this venv already has the current pyproject.toml installed."""
    location = getattr(session.virtualenv, "location", None)
    if not location:
        install(session)
        return
    pyproject = root / "pyproject.toml"
    digest = hashlib.sha256(pyproject.read_bytes() if pyproject.exists() else b"").hexdigest()
    stamp = Path(location) / ".benchlib-installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    install(session)
    stamp.write_text(digest)


def _session(
    name: str, doc: str, tags: list[str], *, default: bool = True
) -> Callable[[Callable[..., None]], None]:
    def decorate(fn: Callable[..., None]) -> None:
        fn.__doc__ = doc
        nox.session(
            name=name,
            venv_backend=VENV_BACKEND,
            reuse_venv=True,
            tags=tags,
            default=default,
            allow_parallel=False,  # concurrent sessions would disturb each other's timings
        )(fn)

    return decorate


def _register_run(
    name: str, doc: str, tags: list[str], install: Install, root: Path, args: tuple[str, ...]
) -> None:
    @_session(name, doc, tags)
    def one(session: nox.Session) -> None:
        _install_once(session, install, root)
        session.run("benchlib", "run", *args, *session.posargs)


def register(*, install: Install, root: Path | str = ".") -> None:
    """Register bench-NAME for each strategy of the project at root, plus bench and summary."""
    root = Path(root)
    cfg = config.load(root)
    for name, strategy in cfg.strategies.items():
        k = strategy.shards
        # A sharded strategy's CI jobs are its shards; bench-NAME runs them all here, in turn.
        tags = [STRATEGY_TAG] if k == 1 else []
        doc = f"Bench {name}: {strategy.description}"
        _register_run(f"bench-{name}", doc, tags, install, root, (name,))
        for i in range(1, k + 1) if k > 1 else ():
            doc = f"Bench shard {i}/{k} of {name}: one CI job of {k}."
            args = (name, "--shard", f"{i}/{k}")
            _register_run(f"bench-{name}-{i}of{k}", doc, [STRATEGY_TAG], install, root, args)

    @_session("bench", "Bench every strategy, then write the summary.", ["bench"])
    def bench(session: nox.Session) -> None:
        _install_once(session, install, root)
        session.run("benchlib", "run", "--summary", *session.posargs)

    # Many runs per strategy: only when asked for (nox -s scan -- gate --repeat 5).
    @_session("scan", "Scan one strategy's workers and --dist modes.", ["scan"], default=False)
    def scan(session: nox.Session) -> None:
        _install_once(session, install, root)
        session.run("benchlib", "scan", *session.posargs)

    @_session("explore", "Race the known accelerations against one strategy.", ["explore"],
              default=False)  # fmt: skip
    def explore(session: nox.Session) -> None:
        _install_once(session, install, root)
        session.run("benchlib", "explore", *session.posargs)

    @_session("summary", "Merge the result files in results/ into summary.md.", ["summary"])
    def summary(session: nox.Session) -> None:
        _install_once(session, install, root)
        session.run("benchlib", "summary", *session.posargs)
