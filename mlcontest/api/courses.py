"""Courses: list, create and edit (organizers), the standings, the grade export (organizers).

Thin views over ``contest.courses``, ``contest.course_standings`` and ``contest.exports``. A
round is put in a course through the round itself (``"course"`` in ``POST /api/rounds/`` and
``PATCH /api/rounds/{id}/``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from mlcontest.api.app import csv_file
from mlcontest.api.common import viewer
from mlcontest.api.schemas.common import answers
from mlcontest.api.schemas.courses import Course, CourseList, CourseSettings, CourseStandings
from mlcontest.api.schemas.rounds import RoundChanges
from mlcontest.contest import course_standings, courses, exports
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Course as CourseModel
from mlcontest.http.endpoints import attachment

router = Router(tags=["courses"])


def _points(value: Any) -> Any:
    """The points table as sent: a list (checked by the domain) or text like "10, 8, 6"."""
    if isinstance(value, str):
        return courses.parse_points(value)
    return value


@router.get("/courses/", response=answers(CourseList), url_name="api_courses")
def course_list(request: HttpRequest) -> Any:
    """Every course."""
    user = viewer(request)
    return {"courses": [courses.describe_course(c, user) for c in courses.all_courses()]}


@router.post("/courses/", response=answers(Course, 400, 403, 409, status=201))
def course_create(request: HttpRequest, payload: CourseSettings) -> Any:
    """Create a course (organizers).

    Required: `name`. Put rounds in it with `course` on the round. Points optional: 10, 8, 6,
    5, 4, 3, 2, 1."""
    user = viewer(request)
    points = _points(payload.points)
    course = courses.create_course(user, payload.name, payload.description, points)
    return Status(201, courses.describe_course(course, user))


@router.get("/courses/{id:course_id}/", response=answers(Course, 404), url_name="api_course")
def course_detail(request: HttpRequest, course_id: int) -> Any:
    """One course."""
    user = viewer(request)
    return courses.describe_course(courses.find_course(course_id, user), user)


@router.patch("/courses/{id:course_id}/", response=answers(Course, 400, 403, 404, 409))
def course_edit(request: HttpRequest, course_id: int, payload: CourseSettings | None = None) -> Any:
    """Change a course's name, description or points table (organizers)."""
    user = viewer(request)
    course = courses.find_course(course_id, user)
    payload = payload or CourseSettings.model_validate({})
    changes = {name: getattr(payload, name) for name in payload.model_fields_set}
    if "points" in changes:
        changes["points"] = _points(changes["points"])
    course = courses.update_course(user, course, **changes)
    return courses.describe_course(course, user)


@router.get(
    "/courses/{id:course_id}/standings/",
    response=answers(CourseStandings, 404),
    url_name="api_course_standings",
)
def course_standings_view(request: HttpRequest, course_id: int) -> Any:
    """The standings across the course's revealed rounds.

    A group earns the points of its final rank in each revealed round; a student earns their
    group's points in each round they submitted a job in for it before the reveal. Everyone
    gets the groups and their own line (`me`); organizers also every student's."""
    user = viewer(request)
    course = courses.find_course(course_id, user)
    return course_standings.standings_json(course_standings.course_standings(course, user), user)


@router.get(
    "/courses/{id:course_id}/grades.csv",
    response=answers(str, 403, 404),
    url_name="api_course_grades",
    openapi_extra=csv_file(),
)
def course_grades(request: HttpRequest, course_id: int) -> HttpResponse:
    """The grades as CSV, one row per student (organizers).

    UTF-8 with BOM, RFC 4180, CRLF. Columns: `username`, `full_name`, `group`, per counted
    round `<round>: group`, `<round>: rank`, `<round>: points`, then `total`, `course_rank`."""
    user = viewer(request)
    download = exports.grades_download(user, courses.find_course(course_id, user))
    return attachment(download.content, download.filename, download.content_type)


def course_field(payload: RoundChanges) -> tuple[bool, CourseModel | None]:
    """``"course"`` of a round's body: (whether it was sent, the course or None to take the
    round out of its course). An unknown id is a 400 naming the field."""
    if "course" not in payload.model_fields_set or payload.course is None:
        return "course" in payload.model_fields_set, None
    try:
        return True, courses.get_course(payload.course)
    except NotFound:
        raise InvalidInput(
            f"No course {payload.course}.", fields={"course": "no such course"}
        ) from None
