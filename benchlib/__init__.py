"""Measure pytest acceleration strategies and report which one to use, with evidence."""

from __future__ import annotations

__version__ = "0.1.0"
