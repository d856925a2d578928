"""Courses: rounds one class plays one after another, and the points table of their standings.

A course is a name, an optional description and a points table (points per final rank, first
place first; a rank beyond the table earns 0). Organizers create and edit courses and put
rounds in them; a round is in one course at most, or in none (it works on its own, as before
courses existed). What a course's standings count is ``course_standings``; the rule is in
docs/rules.md, "Courses".
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.inputs import as_id, bad_text
from mlcontest.contest.models import Course, Round, RoundState, User, default_points
from mlcontest.contest.permissions import require_organizer, require_user
from mlcontest.contest.visibility import sees_drafts

MAX_COURSE_NAME = 100  # Course.name's column width
MAX_RANKS = 100  # a points table longer than any class has groups
MAX_POINTS = 1000


def check_points(points: Any) -> list[int]:
    """The points table as stored, or ``InvalidInput`` naming the problem.

    Whole numbers from 0 to ``MAX_POINTS``, at least one, at most ``MAX_RANKS``, and never
    more for a worse place: a table that rises is almost certainly a typo, and a grade built
    on it would reward losing."""
    problem = _points_problem(points)
    if problem:
        raise InvalidInput(
            _("The points table is not valid: %(problem)s.") % {"problem": problem},
            fields={"points": problem},
        )
    return [int(value) for value in points]


def _points_problem(points: Any) -> str | None:
    if not isinstance(points, list | tuple) or not points:
        return _("give a list of whole numbers, e.g. 10, 8, 6, 5, 4, 3, 2, 1")
    if len(points) > MAX_RANKS:
        return _("at most %(count)d places") % {"count": MAX_RANKS}
    for value in points:
        if isinstance(value, bool) or not isinstance(value, int):
            return _("whole numbers only")
        if not 0 <= value <= MAX_POINTS:
            return _("each between 0 and %(most)d") % {"most": MAX_POINTS}
    if any(later > earlier for earlier, later in pairwise(points)):
        return _("a worse place may not earn more points than a better one")
    return None


def parse_points(text: str) -> list[int]:
    """A points table typed as text: numbers separated by commas or spaces ("10, 8, 6")."""
    items = [item for item in text.replace(",", " ").split() if item]
    try:
        values: list[Any] = [int(item) for item in items]
    except ValueError:
        problem = _("whole numbers only")
        raise InvalidInput(
            _("The points table is not valid: %(problem)s.") % {"problem": problem},
            fields={"points": problem},
        ) from None
    return check_points(values)


def _check_text(name: str, value: str) -> None:
    if bad_text(value):  # PostgreSQL refuses a NUL; no database stores a lone surrogate
        raise InvalidInput(
            _("The course is not valid."),
            fields={name: "contains a NUL character or a lone surrogate"},
        )


def _check_name(name: str) -> str:
    _check_text("name", str(name))
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise InvalidInput(_("Name the course."), fields={"name": "required"})
    if len(cleaned) > MAX_COURSE_NAME:
        raise InvalidInput(
            _("The course's name is too long."),
            fields={"name": f"at most {MAX_COURSE_NAME} characters"},
        )
    return cleaned


def _taken(name: str) -> Conflict:
    return Conflict(
        _("A course named %(name)s exists already.") % {"name": repr(name)},
        code="taken",
        fields={"name": "taken"},
    )


def create_course(organizer: User, name: str, description: str = "", points: Any = None) -> Course:
    require_organizer(organizer)
    cleaned = _check_name(name)
    table = default_points() if points is None else check_points(points)
    _check_text("description", description)
    try:
        with transaction.atomic():
            return Course.objects.create(name=cleaned, description=description, points=table)
    except IntegrityError:
        raise _taken(cleaned) from None


EDITABLE = ("name", "description", "points")


def update_course(organizer: User, course: Course, **changes: Any) -> Course:
    """Change a course's name, description or points table. The standings follow at once:
    they are computed from the final rankings whenever they are read, never stored."""
    require_organizer(organizer)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            f"Cannot change {', '.join(unknown)}.", fields=dict.fromkeys(unknown, "not editable")
        )
    if "name" in changes:
        course.name = _check_name(changes["name"])
    if "description" in changes:
        _check_text("description", str(changes["description"] or ""))
        course.description = str(changes["description"] or "")
    if "points" in changes:
        course.points = check_points(changes["points"])
    try:
        with transaction.atomic():
            course.save()
    except IntegrityError:
        taken = course.name
        course.refresh_from_db()  # the caller's object says what is stored, not what was refused
        raise _taken(taken) from None
    return course


def assign_round(organizer: User, round_: Round, course: Course | None) -> Round:
    """Put the round in ``course`` (None: take it out of its course). A round counts in one
    course at most; moving it moves its points."""
    require_organizer(organizer)
    if round_.course_id != (course.pk if course else None):
        round_.course = course
        round_.save(update_fields=["course"])
    return round_


def set_rounds(organizer: User, course: Course, chosen: list[Round]) -> Course:
    """Make ``chosen`` the course's rounds: the others leave it (and count in no course)."""
    require_organizer(organizer)
    ids = [round_.pk for round_ in chosen]
    with transaction.atomic():
        Round.objects.filter(course=course).exclude(pk__in=ids).update(course=None)
        Round.objects.filter(pk__in=ids).update(course=course)
    return course


def get_course(course_id: Any) -> Course:
    number = as_id(course_id)  # None for text or an id beyond 64 bits
    course = Course.objects.filter(pk=number).first() if number is not None else None
    if course is None:
        raise NotFound(_("No course %(id)s.") % {"id": repr(str(course_id)[:40])})
    return course


def find_course(course_id: Any, viewer: User) -> Course:
    """A course, for any signed-in user (a course shows only what its rounds show)."""
    require_user(viewer)
    return get_course(course_id)


def find_course_by_name_or_id(ref: str) -> Course:
    """For the command line: a course by its id or its exact name."""
    course = Course.objects.filter(name=ref).first()
    return course if course is not None else get_course(ref)


def all_courses() -> QuerySet[Course]:
    return Course.objects.all()


def course_rounds(course: Course, viewer: User) -> list[Round]:
    """The course's rounds the viewer may see (drafts: organizers only), in the order they
    were created: the order a class plays them in."""
    from mlcontest.contest.rounds import apply_schedule, rounds_with_dataset

    apply_schedule()  # a round whose end has passed is closed (and revealed) before counting
    listed = rounds_with_dataset().filter(course=course).order_by("created_at", "id")
    if not sees_drafts(viewer):
        listed = listed.exclude(state=RoundState.DRAFT)
    return list(listed)


def describe_course(course: Course, viewer: User) -> dict[str, Any]:
    return {
        "id": course.pk,
        "name": course.name,
        "description": course.description,
        "points": list(course.points),
        "rounds": [
            {"id": round_.pk, "name": round_.name, "state": round_.state}
            for round_ in course_rounds(course, viewer)
        ],
    }
