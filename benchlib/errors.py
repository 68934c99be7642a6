"""The errors benchlib reports to its user: each carries the input, its value and the fix.

Library code raises them with data and no wording of flags; only the command line turns them
into one line naming its own option (``--target``), and the nox sessions pass the same options
through, so the words stay true there too.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    """Return text with every unprintable character escaped: an error is one line.

    Values are quoted with repr, but a reason can carry the input raw (pytest's "unexpected
    character" does), and a line separator in it would split the line.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class BenchlibError(Exception):
    """Bad input, found before anything ran."""

    def __init__(self, message: str) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message


class ConfigError(BenchlibError):
    """A value in ``[tool.benchlib]``: the file, the key, the value, and what it must be."""

    def __init__(self, source: str, key: str, problem: str, fix: str) -> None:
        super().__init__(f"{source}: {key} {problem}; {fix}")
        self.source, self.key, self.problem, self.fix = source, key, problem, fix


class InputError(BenchlibError):
    """An input given to a command: which one (a CLI option's name), its value, the fix.

    ``what`` is the option's name without dashes ("target", "results", "python", "workers");
    the command line words it as its flag.
    """

    def __init__(self, what: str, value: str, problem: str, fix: str) -> None:
        super().__init__(f"{what} {value!r} {problem}; {fix}")
        self.what, self.value, self.problem, self.fix = what, value, problem, fix


# Kept for the modules that raise a plain message; to be phased out for the two above.
UsageError = BenchlibError
