"""The Jinja2 environment: autoescape always on, undefined names an error, numbers trimmed."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import jinja2


def number(value: float) -> str:
    """Write a coordinate with one decimal at most: 2,000 shapes stay small."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("benchlib.render.html", "templates"),
        # Every value is escaped unless the template says otherwise, and it never does for
        # anything that comes from the suite.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = number
    return env


def render(page: object, helpers: Mapping[str, object]) -> str:
    """Lay out a page (html.page.Page: this module sits below it, so it takes any object)."""
    return environment().get_template("report.html.j2").render(page=page, **helpers)
