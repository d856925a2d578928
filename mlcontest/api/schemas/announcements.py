"""Announcements: one line on every page (or a round's pages), posted by organizers."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mlcontest.api.schemas.common import Flag, Input, MaybeMoment, Moment, Output, Text, WholeNumber


class Announcement(Output):
    id: int
    text: str = Field(max_length=280)
    round: int | None = Field(description="null: every page; else the round's pages")
    author: str | None
    created_at: Moment
    ends_at: MaybeMoment = Field(description="null: until an organizer takes it down")
    current: bool


class AnnouncementList(Output):
    announcements: list[Announcement]


class AnnouncementCreate(Input):
    """`text`: one line, 1 to 280 characters (runs of white space become one space). `round`:
    null for every page. `minutes`: 1 to 1440, or null until taken down."""

    invalid_message: ClassVar[str] = "The announcement is not valid."
    text: Text  # the domain says what the cap is
    round: WholeNumber = None
    minutes: WholeNumber = None


class AnnouncementQuery(Input):
    round: WholeNumber = Field(None, description="only the site's and this round's")
    ended: Flag = Field(False, description="organizers: the ended ones too (the newest 100)")
