"""Groups: what a group looks like, and the bodies that create, join and fill one."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mlcontest.api.schemas.common import Flag, Input, Output, Text64, Text150, Text200


class Group(Output):
    id: int
    name: str
    public: bool
    members: list[str]
    member_count: int
    is_member: bool
    invite_code: str | None = Field(None, description="members and organizers only")


class GroupList(Output):
    groups: list[Group]


class GroupCreate(Input):
    invalid_message: ClassVar[str] = "The group is not valid."
    name: Text200 = ""
    public: Flag = True


class GroupJoin(Input):
    invite_code: Text64 = Field("", description="a private group's code")


class MemberAdd(Input):
    username: Text150 = ""
