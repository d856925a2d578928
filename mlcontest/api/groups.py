"""Groups: list, create (organizers), read, join, add a member (organizers)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from mlcontest.api.app import ORGANIZERS
from mlcontest.api.common import viewer
from mlcontest.api.schemas.common import answers
from mlcontest.api.schemas.groups import Group, GroupCreate, GroupJoin, GroupList, MemberAdd
from mlcontest.contest import groups
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Group as GroupModel
from mlcontest.contest.models import User

router = Router(tags=["groups"])


def _visible_group(user: User, group_id: int) -> GroupModel:
    group = groups.visible_groups(user).filter(pk=group_id).first()
    if group is None:
        raise groups.no_such_group(group_id)
    return group


@router.get("/groups/", response=answers(GroupList), url_name="api_groups")
def group_list(request: HttpRequest) -> Any:
    """Public groups and yours (organizers: all)."""
    user = viewer(request)
    return {"groups": [groups.describe_group(group, user) for group in groups.visible_groups(user)]}


@router.post("/groups/", response=answers(Group, 400, 403, 409, status=201))
def group_create(request: HttpRequest, payload: GroupCreate) -> Any:
    """Create a group (organizers)."""
    user = viewer(request)
    group = groups.create_group(user, payload.name, payload.public)
    return Status(201, groups.describe_group(group, user))


@router.get("/groups/{id:group_id}/", response=answers(Group, 404), url_name="api_group")
def group_detail(request: HttpRequest, group_id: int) -> Any:
    """One group."""
    user = viewer(request)
    return groups.describe_group(_visible_group(user, group_id), user)


@router.post(
    "/groups/{id:group_id}/join/",
    response=answers(Group, 400, 404, 409),
    url_name="api_group_join",
)
def group_join(request: HttpRequest, group_id: int, payload: GroupJoin | None = None) -> Any:
    """Join the group, leaving your current one.

    A private group needs its `invite_code`: without it, or with a wrong one, the answer is the
    404 of a group that does not exist. A student an organizer placed in a group (roster, added
    member, admin) gets 409 `placed_by_organizer` for any other group."""
    user = viewer(request)
    invite_code = (payload.invite_code if payload else "") or None
    group = GroupModel.objects.filter(pk=group_id).first()
    if group is None:
        raise groups.no_such_group(group_id)
    groups.join_group(user, group, invite_code, typed=group_id)
    return groups.describe_group(group, user)


@router.post(
    "/groups/{id:group_id}/members/",
    response=answers(Group, 400, 403, 404),
    auth=ORGANIZERS,
    url_name="api_group_members",
)
def group_members(request: HttpRequest, group_id: int, payload: MemberAdd | None = None) -> Any:
    """Put a user in the group (organizers).

    The group is binding: the student cannot leave it by themselves."""
    user = viewer(request)
    username = payload.username if payload else ""
    group = _visible_group(user, group_id)
    member = User.objects.filter(username=username).first()
    if member is None:
        raise InvalidInput(f"No user {username!r}.", fields={"username": "no such user"})
    groups.add_member(user, group, member)
    # Read again: the members were prefetched before the new one came in.
    return groups.describe_group(_visible_group(user, group_id), user)
