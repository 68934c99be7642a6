"""The strategies a command runs on this project: the configured ones that fit it.

Between the configuration and the runs: the project's pytest is asked (probe) how it is set
up, then each strategy is judged (fit.check) before anything runs.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from benchlib.errors import InputError
from benchlib.plan import config, fit, machine, probe
from benchlib.plan.strategy import resolve_workers


@dataclass(frozen=True)
class Fitted:
    """The strategies to run, their workers, and what was found of the project."""

    runnable: tuple[str, ...]
    workers: Mapping[str, int]
    interpreter: machine.Interpreter  # as the runs must use it (no `-n 0` without xdist)
    shared_args: tuple[str, ...]
    found: fit.Fit


def shared_args(cfg: config.Config) -> tuple[str, ...]:
    return (*cfg.args, *(f"--ignore={p}" for p in cfg.ignore))


def ask(cfg: config.Config, interpreter: machine.Interpreter) -> probe.ProjectProbe:
    """Ask the project's pytest how it is configured, with the arguments every run shares."""
    return probe.probe(interpreter.path, cfg.target, [*cfg.paths, *shared_args(cfg)])


def workers_of(cfg: config.Config, names: Sequence[str], override: int | None) -> dict[str, int]:
    cpus = machine.usable_cpus()
    return {
        n: override if override is not None else resolve_workers(cfg.strategies[n].workers, cpus)
        for n in names
    }


def fitted(
    cfg: config.Config,
    interpreter: machine.Interpreter,
    names: Sequence[str],
    workers: Mapping[str, int],
    requested: Collection[str],
) -> Fitted:
    """Return what to run: a built-in that cannot work is left out, a declared one raises."""
    found = ask(cfg, interpreter)
    declared = cfg.declared | set(requested)
    runnable, left = fit.check(cfg.strategies, names, workers, found, declared)
    if not runnable:
        raise InputError(
            "target", str(cfg.target), "fits none of the strategies asked for",
            "; ".join(fit.not_applicable_words(n) for n in left) or "configure one",
        )  # fmt: skip
    if found.xdist_version and not found.xdist_loaded:
        # Installed but not loaded: a serial run's `-n 0` would be an unknown option.
        interpreter = dataclasses.replace(interpreter, xdist=None)
    notes = [
        *fit.marker_warnings(cfg.strategies, runnable, found),
        *shared_notes(interpreter.path),
    ]
    built = fit.build(found, left, notes)
    return Fitted(tuple(runnable), workers, interpreter, shared_args(cfg), built)


def shared_notes(python: str) -> list[str]:
    """Say once when benchlib runs in the tests' own interpreter, and how to keep them apart."""
    if not machine.same_environment(python, sys.executable):
        return []
    return [
        f"benchlib runs in the tests' own environment ({python}): installing it there can "
        "change the code under test (its dependencies replace the project's versions); "
        "install benchlib in a venv of its own and pass --python with the project's Python"
    ]
