"""Courses: a course, its settings, and its standings across the revealed rounds."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, WithJsonSchema

from mlcontest.api.schemas.common import Input, Moment, Output, Text, Text200

POINTS_SCHEMA = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 1000},
    "minItems": 1,
    "maxItems": 100,
    "description": "points per final rank, first place first, never rising; a rank beyond "
    'the list earns 0 (text like `"10, 8, 6"` is read too)',
}
# As sent: the domain checks the table (``courses.parse_points`` reads the text form).
PointsIn = Annotated[Any, WithJsonSchema(POINTS_SCHEMA)]


class CourseRound(Output):
    id: int
    name: str
    state: str


class Course(Output):
    id: int
    name: str
    description: str
    points: list[int]
    rounds: list[CourseRound] = Field(
        description="the rounds you may see (drafts: organizers only), oldest first"
    )


class CourseList(Output):
    courses: list[Course]


class CourseSettings(Input):
    invalid_message: ClassVar[str] = "The course is not valid."
    name: Text200 = ""
    description: Text = ""
    points: PointsIn = None


class Placing(Output):
    group: str
    rank: int | None
    points: int


class CountedRound(Output):
    id: int
    name: str
    revealed_at: Moment
    winners: list[str]


class GroupLine(Output):
    rank: int
    group: str
    total: int
    rounds: dict[str, Placing | None]


class StudentLine(Output):
    rank: int | None
    username: str
    full_name: str
    group: str | None = Field(description="the group the student is in now")
    total: int
    rounds: dict[str, Placing | None] = Field(
        description="by round id; null: did not play the round; rank null: no validation "
        "score (0 points)"
    )


class CourseStandings(Output):
    course: int
    points: list[int]
    rounds: list[CountedRound] = Field(description="the rounds that count: revealed, oldest first")
    groups: list[GroupLine]
    me: StudentLine
    students: list[StudentLine] | None = Field(
        None, description="organizers only: every student who played a counted round"
    )
