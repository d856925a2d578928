"""Groups: creating, joining, and who sees which.

A group name may not hold ``+``: the seed's client sends the name through ``quote_plus``, so a
space and a real plus both reach the server as ``+``. Forbidding it lets ``+`` mean a space.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from mlcontest.contest.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlcontest.contest.models import Group, Membership, User
from mlcontest.contest.permissions import require_organizer

MAX_NAME_LENGTH = 64


def _normal_name(name: str) -> str:
    # NFC: "ü" typed as one character or as "u" plus a combining mark is the same name.
    return " ".join(unicodedata.normalize("NFC", name).split())


def clean_group_name(name: str) -> str:
    cleaned = _normal_name(name)
    if not cleaned:
        raise InvalidInput("A group needs a name.", fields={"group_name": "required"})
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(
            "The group name is too long.",
            fields={"group_name": f"at most {MAX_NAME_LENGTH} characters"},
        )
    if "+" in cleaned or "/" in cleaned:
        raise InvalidInput(
            "A group name may not contain '+' or '/'.",
            fields={"group_name": "'+' and '/' are not allowed"},
        )
    return cleaned


def name_from_path(raw: str) -> str:
    """The group name as the seed's ``quote_plus`` path encodes it: ``+`` reads as a space."""
    return raw.replace("+", " ")


def create_group(creator: User, name: str, public: bool = True) -> Group:
    require_organizer(creator)
    cleaned = clean_group_name(name)
    try:
        with transaction.atomic():
            return Group.objects.create(name=cleaned, public=public, created_by=creator)
    except IntegrityError:
        raise Conflict(
            f"A group named {cleaned!r} exists already.", fields={"group_name": "taken"}
        ) from None


def find_group(name: str) -> Group:
    group = Group.objects.filter(name=_normal_name(name)).first()
    if group is None:
        raise NotFound(f"No group named {name!r}.")
    return group


def group_of(user: User) -> Group | None:
    membership = Membership.objects.select_related("group").filter(user=user).first()
    return membership.group if membership else None


def join_group(user: User, group: Group, invite_code: str | None = None) -> Group:
    """Make ``user`` a member of ``group``, leaving the group they were in.

    A private group needs its invite code (organizers add members without one)."""
    if not group.public and not user.is_organizer and invite_code != group.invite_code:
        raise PermissionDenied(
            f"{group.name!r} is private: joining needs its invite code.",
            fields={"invite_code": "wrong or missing"},
        )
    with transaction.atomic():
        # Parallel joins of one user queue on the user's row; without the lock two of them
        # both found no membership and raced to insert one (IntegrityError on PostgreSQL).
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        Membership.objects.filter(user=user).exclude(group=group).delete()
        Membership.objects.get_or_create(user=user, group=group)
    return group


def add_member(organizer: User, group: Group, user: User) -> Group:
    require_organizer(organizer)
    # The organizer's say-so stands in for the invite code that a student joining alone needs.
    return join_group(user, group, invite_code=group.invite_code)


def visible_groups(viewer: User) -> QuerySet[Group]:
    """Public groups and the viewer's own; organizers see all."""
    groups = Group.objects.prefetch_related("members").order_by("name")
    if viewer.is_organizer:
        return groups
    return groups.filter(Q(public=True) | Q(membership__user=viewer)).distinct()


def describe_group(group: Group, viewer: User) -> dict[str, Any]:
    members = sorted(member.username for member in group.members.all())
    described: dict[str, Any] = {
        "id": group.pk,
        "name": group.name,
        "public": group.public,
        "members": members,
        "member_count": len(members),
        "is_member": viewer.username in members,
    }
    if viewer.is_organizer or viewer.username in members:
        described["invite_code"] = group.invite_code
    return described
