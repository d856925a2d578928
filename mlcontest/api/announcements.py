"""Announcements: list the current ones, post one and take one down (organizers)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mlcontest.api.common import Body, only_fields, viewer
from mlcontest.contest import announcements, rounds
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Round
from mlcontest.contest.permissions import require_organizer
from mlcontest.http import allow_methods, json_action, json_answer, parse_json_body


@allow_methods("GET", "POST")
@json_action
def announcement_list(request: HttpRequest) -> Any:
    """GET: the current announcements you may see, newest first (``?round=`` only the site's and
    that round's, as its pages show them; organizers: ``?ended=1`` adds the ended ones).
    POST (organizers): ``{"text": "5 minutes left", "round": null, "minutes": 5}``."""
    user = viewer(request)
    if request.method == "POST":
        require_organizer(user)
        body = Body(parse_json_body(request))
        only_fields(body, {"text", "round", "minutes"})
        if not body.has("text"):
            body.errors["text"] = "required"
        text = body.text("text", max_length=10_000)  # the domain says what the cap is
        round_id = body.integer("round")
        minutes = body.integer("minutes")
        body.check("The announcement is not valid.")
        round_ = _round(round_id, user) if round_id is not None else None
        announcement = announcements.post(user, text, round_, minutes)
        return json_answer(announcements.describe(announcement), status=201)
    query = Body(dict(request.GET.items()))
    only_fields(query, {"round", "ended"})
    round_id = query.integer("round")
    ended = query.boolean("ended")
    query.check()
    round_ = rounds.find_round(round_id, user) if round_id is not None else None
    listed = announcements.listed(user, round_, ended=ended)
    return {"announcements": [announcements.describe(row) for row in listed]}


def _round(round_id: int, user: Any) -> Round:
    try:
        return rounds.find_round(round_id, user)
    except NotFound:
        raise InvalidInput(f"No round {round_id}.", fields={"round": "no such round"}) from None


@allow_methods("POST")
@json_action
def announcement_end(request: HttpRequest, announcement_id: int) -> Any:
    """Organizers: take the announcement down now (one that has ended stays as it is)."""
    user = viewer(request)
    announcement = announcements.find(user, announcement_id)
    return announcements.describe(announcements.take_down(user, announcement))
