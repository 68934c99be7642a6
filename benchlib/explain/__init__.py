"""Explain a summary once: the findings every output shows, in the words every output uses."""

from __future__ import annotations

from benchlib.explain.build import build
from benchlib.explain.model import Block, Explanation, Finding, Said, Table, Verdict, plain

__all__ = ["Block", "Explanation", "Finding", "Said", "Table", "Verdict", "build", "plain"]
