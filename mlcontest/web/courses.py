"""Course pages: the standings for students, the projector's variant, and the organizers'
pages to create and edit courses and download the grades (``contest.courses``,
``contest.course_standings``, ``contest.exports``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mlcontest.contest import course_standings, courses, exports, groups
from mlcontest.contest.errors import ContestError
from mlcontest.contest.models import Course, User
from mlcontest.http.endpoints import attachment
from mlcontest.web import forms
from mlcontest.web.organizer import organizer_required
from mlcontest.web.views import contest_404, viewer


def _cells(
    line: course_standings.GroupLine | course_standings.StudentLine,
    rounds: tuple[course_standings.CountedRound, ...],
) -> list[course_standings.Placing | None]:
    """The line's placing in each counted round, in the rounds' order (templates cannot look
    a dictionary up by a variable)."""
    return [line.placings.get(counted.round_id) for counted in rounds]


def course_context(course: Course, user: User) -> dict[str, Any]:
    standings = course_standings.course_standings(course, user)
    counted = {counted.round_id: counted for counted in standings.rounds}
    mine = groups.group_of(user)
    own = course_standings.own_line(standings, user)
    return {
        "course": course,
        "standings": standings,
        "points_text": ", ".join(str(value) for value in standings.points),
        "group_rows": [(line, _cells(line, standings.rounds)) for line in standings.groups],
        "own": own,
        "own_rows": list(zip(standings.rounds, _cells(own, standings.rounds), strict=True)),
        "student_rows": (
            [(line, _cells(line, standings.rounds)) for line in standings.students]
            if user.is_organizer
            else []
        ),
        "rounds": [
            (round_, counted.get(round_.pk)) for round_ in courses.course_rounds(course, user)
        ],
        "mine": mine.name if mine else None,
    }


@login_required
@require_safe
@contest_404
def course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    user = viewer(request)
    course = courses.find_course(course_id, user)
    return render(request, "web/course.html", course_context(course, user))


@organizer_required
@require_safe
@contest_404
def course_projector(request: HttpRequest, course_id: int) -> HttpResponse:
    """The standings in big type for the room: groups only (a student's points are a grade)."""
    user = viewer(request)
    course = courses.find_course(course_id, user)
    return render(request, "web/course_projector.html", course_context(course, user))


@organizer_required
@require_safe
@contest_404
def course_grades(request: HttpRequest, course_id: int) -> HttpResponse:
    user = viewer(request)
    download = exports.grades_download(user, courses.find_course(course_id, user))
    return attachment(download.content, download.filename, download.content_type)


def _save(request: HttpRequest, form: forms.CourseForm, course: Course | None) -> Course | None:
    """Create or change the course from a valid form; a domain refusal goes next to its field."""
    data = form.cleaned_data
    user = viewer(request)
    try:
        points = courses.parse_points(data["points"])
        if course is None:
            course = courses.create_course(user, data["name"], data["description"], points)
        else:
            courses.update_course(
                user, course, name=data["name"], description=data["description"], points=points
            )
        courses.set_rounds(user, course, list(data["rounds"]))
    except ContestError as error:
        forms.show_refusal(form, error)
        return None
    return course


@organizer_required
def course_list(request: HttpRequest) -> HttpResponse:
    """Every course, and a form for a new one."""
    form = forms.CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        course = _save(request, form, None)
        if course is not None:
            messages.success(request, _("Course %(name)s created.") % {"name": course.name})
            return redirect("web:course", course_id=course.pk)
    listed = courses.all_courses().prefetch_related("rounds")
    status = 400 if request.method == "POST" else 200  # a POST gets here only if refused
    return render(
        request, "web/manage/courses.html", {"courses": listed, "form": form}, status=status
    )


@organizer_required
@contest_404
def course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    course = courses.find_course(course_id, viewer(request))
    initial = {
        "name": course.name,
        "description": course.description,
        "points": ", ".join(str(value) for value in course.points),
        "rounds": list(course.rounds.all()),
    }
    form = forms.CourseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _save(request, form, course):
        messages.success(request, _("Course %(name)s saved.") % {"name": course.name})
        return redirect("web:course", course_id=course.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/manage/course_edit.html", {"course": course, "form": form}, status=status
    )
