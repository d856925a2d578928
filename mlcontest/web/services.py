"""What the pages read and do beyond single domain calls: the class overview, the
dataset card, sign-up and the students' own groups. Kept out of the views so that the views
stay thin and these can be tested without HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from mlcontest.contest import columnar, datasets, groups, users, visibility
from mlcontest.contest.errors import PermissionDenied
from mlcontest.contest.models import (
    Dataset,
    Group,
    Job,
    JobState,
    Role,
    Round,
    RoundState,
    User,
    WorkerSeen,
)
from mlcontest.contest.rounds import rounds_with_dataset
from mlcontest.web import plots

# Longer than the longest wait of a ping (queue.MAX_WAIT_SECONDS): a waiting worker is noted as
# its ping starts and ends, not while it sleeps.
WORKER_ALIVE_SECONDS = 45


def signup_open() -> bool:
    return bool(settings.SIGNUP_CODE)


def sign_up(username: str, password: str) -> User:
    """A new student account (the form has checked the class code)."""
    if not signup_open():
        raise PermissionDenied(_("Sign-up is closed: ask your organizer for an account."))
    return users.create_user(username, password, Role.STUDENT)


def may_create_group(user: User) -> bool:
    return groups.may_create_group(user)


def create_group_for(user: User, name: str, public: bool) -> Group:
    """The domain's rule: organizers, and students where the class allows it (they join)."""
    return groups.create_group(user, name, public)


@dataclass
class RoundLists:
    open: list[Round] = field(default_factory=list)
    upcoming: list[Round] = field(default_factory=list)
    closed: list[Round] = field(default_factory=list)
    drafts: list[Round] = field(default_factory=list)


def split_rounds(rounds: list[Round], viewer: User) -> RoundLists:
    """Open, upcoming, closed (and, for organizers, unscheduled drafts).

    Students do not see drafts through the domain, but a scheduled draft is announced (name,
    dataset and start only) so that its countdown can be shown: the page does not link it."""
    lists = RoundLists()
    if not visibility.sees_drafts(viewer):
        rounds = rounds + list(
            rounds_with_dataset().filter(state=RoundState.DRAFT, starts_at__isnull=False)
        )
    for round_ in rounds:
        if round_.state == RoundState.OPEN:
            lists.open.append(round_)
        elif round_.state == RoundState.CLOSED:
            lists.closed.append(round_)
        elif round_.starts_at is not None:
            lists.upcoming.append(round_)
        else:
            lists.drafts.append(round_)
    lists.upcoming.sort(key=lambda r: r.starts_at or timezone.now())
    return lists


def dataset_card(dataset: Dataset, all_labels: bool) -> dict[str, Any]:
    """Description, size per split and a scatter plot; students see the training points only
    (the labels of the other splits are what they are scored on). Everything comes from the
    dataset's row (its preview was projected when the points were stored), so the card costs
    the same for 150 points and for 70,000."""
    if all_labels:
        title = gettext("%(name)s (all points)") % {"name": dataset.name}
    else:
        title = gettext("%(name)s (training points)") % {"name": dataset.name}
    shown = (dataset.preview or {}).get("all" if all_labels else "training", [])
    return {
        "dataset": dataset,
        "size": dataset.size,
        "splits": {split: int(dataset.split_sizes.get(split, 0)) for split in datasets.SPLITS},
        "features": list(dataset.feature_names),
        "plot": plots.scatter_projected(shown, dataset.feature_names, title),
    }


def table_preview(table: datasets.DatasetTable, name: str) -> dict[str, Any]:
    counts = {split: table.splits.count(split) for split in datasets.SPLITS}
    return {
        "description": getattr(table, "description", ""),
        "size": len(table),
        "splits": counts,
        "features": table.feature_names,
        "classes": sorted(set(table.labels)),
        # Projected as a stored dataset's preview is (the first 2,000 points), from a list of
        # rows or the columnar reader's table alike.
        "plot": plots.scatter_projected(
            columnar.preview(
                columnar.features_table(table.feature_names, table.features),
                table.splits,
                table.labels,
            )["all"],
            table.feature_names,
            name or gettext("preview"),
        ),
    }


@dataclass
class GroupLine:
    group: Group
    members: list[str]
    jobs: int
    done: int
    failed: int
    running: int
    queued: int


def class_overview(round_: Round | None) -> dict[str, Any]:
    """Groups with their jobs (in one round or all), failures with messages, workers seen."""
    jobs = Job.objects.all() if round_ is None else Job.objects.filter(round=round_)
    counts = {
        row["group"]: row
        for row in jobs.values("group").annotate(
            total=Count("id"),
            done=Count("id", filter=Q(state=JobState.DONE)),
            failed=Count("id", filter=Q(state=JobState.FAILED)),
            running=Count("id", filter=Q(state=JobState.RUNNING)),
            queued=Count("id", filter=Q(state=JobState.QUEUED)),
        )
    }
    lines = []
    for group in Group.objects.prefetch_related("members").order_by("name"):
        row: dict[str, Any] = dict(counts.get(group.pk, {}))
        lines.append(
            GroupLine(
                group,
                sorted(member.username for member in group.members.all()),
                row.get("total", 0),
                row.get("done", 0),
                row.get("failed", 0),
                row.get("running", 0),
                row.get("queued", 0),
            )
        )
    now = timezone.now()
    workers = [
        {"worker": seen, "alive": now - seen.last_seen_at < timedelta(seconds=WORKER_ALIVE_SECONDS)}
        for seen in WorkerSeen.objects.select_related("user")[:50]
    ]
    failures = jobs.filter(state=JobState.FAILED).select_related("group", "round", "user")[:30]
    return {
        "groups": lines,
        "failures": list(failures),
        "workers": workers,
        "queue": {
            "queued": Job.objects.filter(state=JobState.QUEUED).count(),
            "running": Job.objects.filter(state=JobState.RUNNING).count(),
        },
    }


def worker_active() -> bool:
    """Whether a worker has asked for work within ``WORKER_ALIVE_SECONDS`` or holds a job whose
    lease runs (a worker busy with a long job asks for nothing meanwhile)."""
    now = timezone.now()
    since = now - timedelta(seconds=WORKER_ALIVE_SECONDS)
    # One query: pages poll every second while a job waits.
    seen = WorkerSeen.objects.filter(last_seen_at__gte=since).values("pk")
    busy = Job.objects.filter(state=JobState.RUNNING, lease_expires_at__gt=now).values("pk")
    return seen.union(busy).exists()


def group_jobs(round_: Round, group: Group | None, user: User) -> list[Job]:
    """The jobs a student sees in a round: their group's (or their own without a group)."""
    jobs = Job.objects.filter(round=round_).select_related("group", "user")
    jobs = jobs.filter(group=group) if group is not None else jobs.filter(user=user)
    return list(jobs.order_by("-created_at", "-id")[:50])


def jobs_signature(jobs: list[Job]) -> str:
    return ",".join(f"{job.pk}:{job.state}" for job in jobs)
