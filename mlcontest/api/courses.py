"""Courses: list, create and edit (organizers), the standings, the grade export (organizers).

Thin views over ``contest.courses``, ``contest.course_standings`` and ``contest.exports``. A
round is put in a course through the round itself (``"course"`` in ``POST /api/rounds/`` and
``PATCH /api/rounds/{id}/``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from mlcontest.api.common import Body, only_fields, viewer
from mlcontest.contest import course_standings, courses, exports
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Course
from mlcontest.http import allow_methods, attachment, json_action, json_answer, parse_json_body


def _points(body: Body) -> Any:
    """The points table as sent: a list (checked by the domain) or text like "10, 8, 6"."""
    value = body.data.get("points")
    if isinstance(value, str):
        return courses.parse_points(value)
    return value


@allow_methods("GET", "POST")
@json_action
def course_list(request: HttpRequest) -> Any:
    """GET: every course, with the rounds the viewer may see. POST (organizers): create one,
    ``{"name": "ML 1", "points": [10, 8, 6]}`` (points optional: 10, 8, 6, 5, 4, 3, 2, 1)."""
    user = viewer(request)
    if request.method == "POST":
        body = Body(parse_json_body(request))
        only_fields(body, {"name", "description", "points"})
        name = body.text("name", max_length=200)
        description = body.text("description")
        body.check("The course is not valid.")
        course = courses.create_course(user, name, description, _points(body))
        return json_answer(courses.describe_course(course, user), status=201)
    return {"courses": [courses.describe_course(c, user) for c in courses.all_courses()]}


@allow_methods("GET", "PATCH")
@json_action
def course_detail(request: HttpRequest, course_id: int) -> Any:
    """GET: one course. PATCH (organizers): change its name, description or points table."""
    user = viewer(request)
    course = courses.find_course(course_id, user)
    if request.method == "PATCH":
        body = Body(parse_json_body(request))
        only_fields(body, set(courses.EDITABLE))
        changes: dict[str, Any] = {}
        if body.has("name"):
            changes["name"] = body.text("name", max_length=200)
        if body.has("description"):
            changes["description"] = body.text("description")
        body.check("The course is not valid.")
        if body.has("points"):
            changes["points"] = _points(body)
        course = courses.update_course(user, course, **changes)
    return courses.describe_course(course, user)


@allow_methods("GET")
@json_action
def course_standings_view(request: HttpRequest, course_id: int) -> Any:
    """The standings: groups for everyone, the viewer's own line (``me``), every student's
    for organizers; only revealed rounds count."""
    user = viewer(request)
    course = courses.find_course(course_id, user)
    return course_standings.standings_json(course_standings.course_standings(course, user), user)


@allow_methods("GET")
@json_action
def course_grades(request: HttpRequest, course_id: int) -> HttpResponse:
    """Organizers: the grades as CSV, one row per student."""
    user = viewer(request)
    download = exports.grades_download(user, courses.find_course(course_id, user))
    return attachment(download.content, download.filename, download.content_type)


def course_field(body: Body) -> tuple[bool, Course | None]:
    """``"course"`` of a round's body: (whether it was sent, the course or None to take the
    round out of its course). An unknown id is a 400 naming the field."""
    if not body.has("course"):
        return False, None
    course_id = body.integer("course")
    body.check("The round is not valid.")
    if course_id is None:
        return True, None
    try:
        return True, courses.get_course(course_id)
    except NotFound:
        raise InvalidInput(f"No course {course_id}.", fields={"course": "no such course"}) from None
