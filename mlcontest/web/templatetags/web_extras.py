"""Small display filters: scores, moves and timings read the same on every page, in the page's
language (codes stored in the database, such as a job's state, are shown by their name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def score(value: Any) -> str:
    """A score with three decimals (an error such as RMSE may exceed 1); a dash for none."""
    if value is None or value == "":
        return "\u2013"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number_format(number, 3)  # 0.912, or 0,912 on a German page


@register.filter
def higher_is_better(metric: str) -> bool:
    """Whether the metric ranks its highest first (False for the errors MAE and RMSE)."""
    from mlcontest.algorithms.direction import higher_is_better as direction

    return direction(metric)


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
    return f"{number * 1000:.0f} ms" if number < 1 else f"{number_format(number, 2)} s"


@register.filter
def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@register.filter
def move_text(move: int | None) -> str:
    """A group's move from the public to the final ranking, in words (for screen readers)."""
    if move is None:
        return gettext("new in the ranking")
    if move == 0:
        return gettext("same place")
    if move > 0:
        return ngettext("up %(n)d place", "up %(n)d places", move) % {"n": move}
    return ngettext("down %(n)d place", "down %(n)d places", -move) % {"n": -move}


# The states of jobs and rounds as their badges show them.
STATE_NAMES = {
    "queued": pgettext_lazy("job state", "queued"),
    "running": pgettext_lazy("job state", "running"),
    "done": pgettext_lazy("job state", "done"),
    "failed": pgettext_lazy("job state", "failed"),
    "draft": pgettext_lazy("round state", "draft"),
    "open": pgettext_lazy("round state", "open"),
    "closed": pgettext_lazy("round state", "closed"),
}


@register.filter
def state_name(state: str) -> str:
    return str(STATE_NAMES.get(state, state))


# The steps our worker times (mlcontest/worker/run.py, loop.py); another worker's are shown as
# it named them.
TIMING_NAMES = {
    "fit": _("fit"),
    "predict": _("predict"),
    "worker_total": _("on the worker in all"),
}


@register.filter
def timing_name(step: str) -> str:
    return str(TIMING_NAMES.get(step, step))


# A round's history (RoundEvent.action, mlcontest/contest/rounds.py).
EVENT_NAMES = {
    "created": _("created"),
    "opened": _("opened"),
    "closed": _("closed"),
    "reopened": _("reopened"),
    "edited": _("edited"),
    "final_choice": _("final choice"),
    "place_revealed": _("a place revealed"),
    "reveal_ended": _("the reveal ended"),
}


@register.filter
def event_name(action: str) -> str:
    return str(EVENT_NAMES.get(action, action))


@register.filter
def translate_text(text: Any) -> str:
    """A text kept in English in code that the web shows translated: the algorithm registry's
    labels and help (marked there with gettext_noop, so that the worker needs no Django)."""
    return gettext(str(text)) if text else ""


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
