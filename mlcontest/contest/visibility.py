"""What each role may see of a round: decided here, and only here.

The web pages, the JSON API and the seed protocol all ask this module; none of them decides on
its own (docs/rules.md, "What each role can see", is the same table in words).

Roles: anonymous; a student (of a group in the round, of another group, or of none: they differ
only in which jobs are their own); a worker; an organizer. A worker is not an organizer: it
needs job parameters and datasets, nothing more, and gets a student's view of rounds and
boards. It never learns which group or user a job belongs to.

Views, each allowed or denied by :func:`may` from the role and the round's reveal stage
(:class:`Stage`: hidden before the first close, ``Round.revealed_at``; then the show, while the
organizer reveals the final ranking place by place on the projector, for a round with
``reveal_show``; then shown):

- ``recipes``: other groups' algorithms and parameters on the boards;
- ``validation``: validation scores, the group's own and others';
- ``final``: the final ranking (an organizer's look before the reveal is a preview; during the
  show the others see only the places revealed so far, :func:`final_places_shown`);
- ``other_jobs``: other groups' jobs (everyone sees their own and their group's jobs);
- ``job_owner``: which group and user a job that is not one's own belongs to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db.models import Q, QuerySet

from mlcontest.contest.groups import group_of
from mlcontest.contest.models import Group, Job, Round


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    STUDENT = "student"
    WORKER = "worker"
    ORGANIZER = "organizer"


class View(StrEnum):
    RECIPES = "recipes"
    VALIDATION = "validation"
    FINAL = "final"
    OTHER_JOBS = "other_jobs"
    JOB_OWNER = "job_owner"


class Stage(StrEnum):
    """Where a round is in its reveal."""

    HIDDEN = "hidden"  # before the first close
    SHOW = "show"  # revealed, the organizer is revealing the places one by one
    SHOWN = "shown"  # revealed, and the show (if any) is over


# Revealed with the final ranking, to every signed-in role at once, when the show is over.
_AT_THE_REVEAL = frozenset({View.RECIPES, View.VALIDATION, View.FINAL})

# "Not given": group_of(viewer) is read only when the caller has not read it already.
UNREAD: Any = object()


def role_of(viewer: Any) -> Role:
    """The viewer's role, without a query (``viewer`` may be an anonymous user or None)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return Role.ANONYMOUS
    if viewer.is_organizer:
        return Role.ORGANIZER
    if viewer.is_worker:
        return Role.WORKER
    return Role.STUDENT


def revealed(round_: Round) -> bool:
    """Whether the round's final ranking has been revealed (at its first close): from then on
    it is final. Whether students see it all yet is :func:`stage`'s question."""
    return round_.revealed_at is not None


def stage(round_: Round) -> Stage:
    """The round's reveal stage: a round without a show is shown at once at its first close."""
    if round_.revealed_at is None:
        return Stage.HIDDEN
    if round_.reveal_show and round_.reveal_ended_at is None:
        return Stage.SHOW
    return Stage.SHOWN


def may(role: Role, view: View, at: Stage) -> bool:
    """The whole policy: organizers see everything at any time, anonymous callers nothing;
    students and workers see the reveal's views once the round is revealed and its show is
    over; during the show only the final ranking, cut to the places revealed so far
    (:func:`final_places_shown`), so that nothing spoils the projector. Nobody but organizers
    sees other groups' jobs nor whose a job is."""
    if role is Role.ORGANIZER:
        return True
    if role is Role.ANONYMOUS or view not in _AT_THE_REVEAL:
        return False
    return at is Stage.SHOWN or (at is Stage.SHOW and view is View.FINAL)


def final_places_shown(role: Role, round_: Round) -> int | None:
    """How many places of the final ranking, counted from the last, ``role`` sees: None for
    all of them (organizers always; everyone once the show is over)."""
    if role is Role.ORGANIZER or stage(round_) is not Stage.SHOW:
        return None
    return round_.revealed_places


def sees(viewer: Any, view: View, round_: Round) -> bool:
    return may(role_of(viewer), view, stage(round_))


def sees_recipes(viewer: Any, round_: Round) -> bool:
    return sees(viewer, View.RECIPES, round_)


def sees_validation(viewer: Any, round_: Round) -> bool:
    return sees(viewer, View.VALIDATION, round_)


def sees_final(viewer: Any, round_: Round) -> bool:
    return sees(viewer, View.FINAL, round_)


def sees_drafts(viewer: Any) -> bool:
    """Draft rounds: organizers only (a scheduled draft's name and start are announced)."""
    return role_of(viewer) is Role.ORGANIZER


def sees_job_internals(viewer: Any) -> bool:
    """Which worker ran a job, its lease and attempts, the worker's own scores: organizers."""
    return role_of(viewer) is Role.ORGANIZER


# --- jobs ------------------------------------------------------------------------------------


def _own_job(viewer: Any, job: Job, group: Group | None) -> bool:
    return job.user_id == viewer.pk or (group is not None and job.group_id == group.pk)


def _sees_of_job(viewer: Any, job: Job, view: View, group: Group | None) -> bool:
    """``view`` of ``job``: as the policy says, and always for one's own and one's group's."""
    role = role_of(viewer)
    if role is Role.ANONYMOUS:
        return False
    if may(role, view, stage(job.round)):
        return True
    return _own_job(viewer, job, group_of(viewer) if group is UNREAD else group)


def sees_job(viewer: Any, job: Job, group: Group | None = UNREAD) -> bool:
    """Everyone signed in sees their own jobs and their group's; organizers every job.

    ``group``: the viewer's group when the caller has read it already (saves a query)."""
    return _sees_of_job(viewer, job, View.OTHER_JOBS, group)


def sees_job_owner(viewer: Any, job: Job, group: Group | None = UNREAD) -> bool:
    """Which group and user the job belongs to: one's own job, or an organizer."""
    return _sees_of_job(viewer, job, View.JOB_OWNER, group)


def visible_jobs(
    viewer: Any, round_: Round, jobs: QuerySet[Job], group: Group | None = UNREAD
) -> QuerySet[Job]:
    """``jobs`` (of ``round_``) narrowed in the database to those :func:`sees_job` allows: a
    round may hold 100,000 jobs of other groups."""
    role = role_of(viewer)
    if role is Role.ANONYMOUS:
        return jobs.none()
    if may(role, View.OTHER_JOBS, stage(round_)):
        return jobs
    group = group_of(viewer) if group is UNREAD else group
    return jobs.filter(Q(group=group) | Q(user=viewer)) if group else jobs.filter(user=viewer)


# --- the boards ------------------------------------------------------------------------------


def audience(viewer: Any) -> Role:
    """The boards are the same for everyone of one audience: cached bodies and entity tags are
    filed under it. Workers and students alike get the students' boards."""
    role = role_of(viewer)
    return Role.STUDENT if role is Role.WORKER else role


def board_sees(board_audience: Role, view: View, at: Stage) -> bool:
    """:func:`may` for a board's audience (the leaderboard caches per audience, not viewer)."""
    return may(board_audience, view, at)
