"""The announcements' part of the OpenAPI document (``openapi.py`` adds it to its paths)."""

from __future__ import annotations

from mlcontest.api.openapi import (
    BOOLEAN,
    INTEGER,
    STRING,
    WHEN,
    Schema,
    _list,
    nullable,
    obj,
    op,
    path_param,
    ref,
)

SCHEMAS: dict[str, Schema] = {
    "Announcement": obj(
        id=INTEGER,
        text={**STRING, "maxLength": 280},
        round=nullable("integer", description="null: every page; else the round's pages"),
        author=nullable("string"),
        created_at=WHEN,
        ends_at=nullable(
            "string", format="date-time", description="null: until an organizer takes it down"
        ),
        current=BOOLEAN,
    ),
}

PATHS: dict[str, Schema] = {
    "/api/announcements/": {
        "get": op(
            "The current announcements you may see, newest first",
            "meta",
            description="Pages show the three newest: the site's, and on a round's pages the "
            "round's (a draft's to organizers only).",
            query=(
                ("round", INTEGER, "only the site's and this round's"),
                ("ended", BOOLEAN, "organizers: the ended ones too (the newest 100)"),
            ),
            ok=_list("announcements", ref("Announcement")),
            errors=("400", "401", "404"),
        ),
        "post": op(
            "Announce (organizers): every page shows it within 2 s",
            "meta",
            description="`text`: one line, 1 to 280 characters (runs of white space become one "
            "space). `round`: null for every page. `minutes`: 1 to 1440, or null until taken "
            "down.",
            body=obj(["text"], text=STRING, round=nullable("integer"), minutes=nullable("integer")),
            ok=ref("Announcement"),
            status="201",
            errors=("400", "401", "403"),
        ),
    },
    "/api/announcements/{announcement_id}/end/": {
        "parameters": [path_param("announcement_id")],
        "post": op(
            "Take the announcement down now (organizers)",
            "meta",
            ok=ref("Announcement"),
            errors=("401", "403", "404"),
        ),
    },
}
