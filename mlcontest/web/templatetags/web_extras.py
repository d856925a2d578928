"""Small display filters: scores, moves and timings read the same on every page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

register = template.Library()


@register.filter
def score(value: Any) -> str:
    """A score in [0, 1] with three decimals; a dash where there is none."""
    if value is None or value == "":
        return "\u2013"
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def shown_params(job: Any) -> list[tuple[str, str]]:
    """A job's parameters as the registry names and explains them (``Algorithm.shown_params``)."""
    from mlcontest.algorithms import REGISTRY

    algorithm = REGISTRY.get(job.algorithm)
    if algorithm is None:
        return [(name, str(value)) for name, value in job.params.items()]
    return algorithm.shown_params(job.params)


@register.filter
def seconds(value: Any) -> str:
    if value is None:
        return "\u2013"
    number = float(value)
    return f"{number * 1000:.0f} ms" if number < 1 else f"{number:.2f} s"


@register.filter
def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@register.filter
def move_text(move: int | None) -> str:
    """A group's move from the public to the final ranking, in words (for screen readers)."""
    if move is None:
        return "new in the ranking"
    if move == 0:
        return "same place"
    places = "place" if abs(move) == 1 else "places"
    return f"up {move} {places}" if move > 0 else f"down {-move} {places}"


@register.filter
def any_tied(rows: Any) -> bool:
    """Whether a board or ranking has a tie to explain under it."""
    return any(getattr(row, "tied", False) for row in rows or ())


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.simple_tag
def signup_open() -> bool:
    from mlcontest.web.services import signup_open as is_open

    return is_open()


@register.simple_tag
def live_strings() -> str:
    """The words that static/web/live.js writes into pages, in the page's language (a JSON
    script element the script reads: the script itself stays one static file)."""
    from django.utils.html import json_script

    from mlcontest.web.live_strings import strings

    return json_script(strings(), "live-strings")
