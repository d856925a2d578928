"""Groups: list, create (organizers), read, join, add a member (organizers)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mlcontest.api.common import Body, only_fields, viewer
from mlcontest.contest import groups
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Group, User
from mlcontest.contest.permissions import require_organizer
from mlcontest.http import allow_methods, json_action, json_answer, parse_json_body


def _visible_group(user: User, group_id: int) -> Group:
    group = groups.visible_groups(user).filter(pk=group_id).first()
    if group is None:
        raise groups.no_such_group(group_id)
    return group


@allow_methods("GET", "POST")
@json_action
def group_list(request: HttpRequest) -> Any:
    """GET: public groups and the viewer's own (organizers: all).
    POST (organizers): ``{"name": "Alpha", "public": true}`` creates a group."""
    user = viewer(request)
    if request.method == "POST":
        body = Body(parse_json_body(request))
        only_fields(body, {"name", "public"})
        name = body.text("name", max_length=200)
        public = body.boolean("public", True)
        body.check("The group is not valid.")
        group = groups.create_group(user, name, public)
        return json_answer(groups.describe_group(group, user), status=201)
    return {"groups": [groups.describe_group(group, user) for group in groups.visible_groups(user)]}


@allow_methods("GET")
@json_action
def group_detail(request: HttpRequest, group_id: int) -> dict[str, Any]:
    user = viewer(request)
    return groups.describe_group(_visible_group(user, group_id), user)


@allow_methods("POST")
@json_action
def group_join(request: HttpRequest, group_id: int) -> dict[str, Any]:
    """Join the group (leaving your current one); a private group needs ``invite_code``."""
    user = viewer(request)
    body = Body(parse_json_body(request))
    only_fields(body, {"invite_code"})
    invite_code = body.text("invite_code", max_length=64) or None
    body.check()
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise groups.no_such_group(group_id)
    groups.join_group(user, group, invite_code, typed=group_id)
    return groups.describe_group(group, user)


@allow_methods("POST")
@json_action
def group_members(request: HttpRequest, group_id: int) -> dict[str, Any]:
    """Organizers: ``{"username": "alice"}`` puts a user in the group (private ones too)."""
    user = viewer(request)
    require_organizer(user)
    body = Body(parse_json_body(request))
    only_fields(body, {"username"})
    username = body.text("username", max_length=150)
    body.check()
    group = _visible_group(user, group_id)
    member = User.objects.filter(username=username).first()
    if member is None:
        raise InvalidInput(f"No user {username!r}.", fields={"username": "no such user"})
    groups.add_member(user, group, member)
    # Read again: the members were prefetched before the new one came in.
    return groups.describe_group(_visible_group(user, group_id), user)
