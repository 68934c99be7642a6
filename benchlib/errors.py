"""The one exception the command line turns into a one-line message and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input, found before anything ran: the message names the input and the fix."""
