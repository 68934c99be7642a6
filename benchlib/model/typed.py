"""Check that values read from a file have the types their dataclass fields declare.

A result file is JSON anyone can edit: a ``"wall_s": "fast"`` or a node id of ``null`` must stop
at the reader with the field's name, not surface as a TypeError deep inside the summary.
Dataclasses do not check their fields; this does, from the annotations, for the few kinds of
type the file format uses: str, int, float (finite: JSON's NaN is no time), bool, None,
Literal, unions, tuple[X, ...], dict[str, X] and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

_NONE = type(None)
_NAMED = {str: "a string", int: "a whole number", float: "a finite number", bool: "true or false"}


_HINTS: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    """Return a dataclass's field types, resolved once (annotations are strings here)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def fits(value: Any, hint: Any) -> bool:
    """Tell whether a value read from JSON has the type hint (bool is never a number)."""
    if hint in (str, bool, _NONE):
        return type(value) is hint
    if hint is int:
        return type(value) is int
    if hint is float:
        return type(value) in (int, float) and math.isfinite(value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return any(type(value) is type(a) and value == a for a in args)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, a) for a in args)
    if origin is tuple:  # tuple[X, ...]: read from a JSON array
        return type(value) in (list, tuple) and all(fits(v, args[0]) for v in value)
    if origin is dict:
        return type(value) is dict and all(
            type(k) is str and fits(v, args[1]) for k, v in value.items()
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    return True  # Any, or a kind the format does not use


def words(hint: Any) -> str:
    """Say a type hint the way a reader of the file would: "a number or null"."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return " or ".join(map(repr, args))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(map(words, args))
    if origin is tuple:
        return f"an array of {words(args[0])}"
    if origin is dict:
        return f"an object of {words(args[1])}"
    named = {
        str: "a string",
        int: "a whole number",
        float: "a finite number",
        bool: "true or false",
    }
    return named.get(hint, "null" if hint is _NONE else getattr(hint, "__name__", str(hint)))


# A field's range by its name, in any dataclass checked: (least, greatest, what it is).
Bounds = Mapping[str, tuple[float, float, str]]


def check(
    obj: Any, where: str, *, skip: frozenset[str] = frozenset(), bounds: Bounds | None = None
) -> None:
    """Raise TypeError naming the first field of a dataclass (or nested one) of the wrong type,
    or ValueError naming the first number out of its bounds."""
    for name, hint in hints(type(obj)).items():
        if name in skip:
            continue
        value = getattr(obj, name)
        if not fits(value, hint):
            raise TypeError(f"{where}{name} is {_short(value)}, not {words(hint)}")
        if bounds and name in bounds:
            in_bounds(value, f"{where}{name}", bounds[name])
        nested = value if isinstance(value, tuple) else (value,)
        for i, item in enumerate(nested):
            if dataclasses.is_dataclass(item) and not isinstance(item, type):
                check(item, f"{where}{name}{f'[{i}]' if nested is value else ''}.", bounds=bounds)


def in_bounds(value: Any, name: str, bound: tuple[float, float, str]) -> None:
    """Raise ValueError if a number (None and other kinds pass) is outside its bounds."""
    low, high, what = bound
    if type(value) in (int, float) and not low <= value <= high:
        raise ValueError(f"{name} is {_short(value)}, out of range for {what}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MISSING = object()


def check_rows(
    rows: Sequence[Sequence[Any]], cls: type, fields: Sequence[str], bounds: Bounds | None = None
) -> None:
    """Raise TypeError if a column of per-test rows (fields in order) holds a wrong type, or
    ValueError if a number is out of its bounds.

    Column by column, each distinct (type, value) once: a summary reads files of 5,000 rows.
    """
    columns = itertools.zip_longest(*rows, fillvalue=_MISSING)
    for name, column in zip(fields, columns, strict=False):
        hint = hints(cls)[name]
        try:
            seen = set(zip(map(type, column), column, strict=True))  # True and 1 stay apart
        except TypeError:  # an array or an object where a value belongs
            raise TypeError(
                f"a test's {name} holds an array or object, not {words(hint)}"
            ) from None
        for kind, value in seen:
            if kind is not object and not fits(value, hint):
                raise TypeError(f"a test's {name} is {_short(value)}, not {words(hint)}")
            if bounds and name in bounds:
                in_bounds(value, f"a test's {name}", bounds[name])
