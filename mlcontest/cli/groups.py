"""``mlcontest group``: create groups, list them with their invite codes, add members
(docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from mlcontest.cli.base import (
    Subcommands,
    cli_organizer,
    command,
    find_user,
    group_words,
    print_table,
)

# --- group -----------------------------------------------------------------------------------


def register_group_commands(commands: Subcommands) -> None:
    group = commands.add_parser("group", help="create groups and add members")
    actions = group.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a group (public unless --private)")
    add.add_argument("name")
    add.add_argument("--private", action="store_true", help="joining needs the invite code")
    add.set_defaults(handler=cmd_group_add)
    actions.add_parser("list", help="list groups with invite codes").set_defaults(
        handler=cmd_group_list
    )
    add_member = actions.add_parser("add-member", help="put a user in a group")
    add_member.add_argument("group")
    add_member.add_argument("username")
    add_member.set_defaults(handler=cmd_group_add_member)


@command
def cmd_group_add(args: argparse.Namespace) -> None:
    from mlcontest.contest.groups import create_group

    group = create_group(cli_organizer(), args.name, public=not args.private)
    print(f"created group {group.name!r} ({group_words(group)})")


@command
def cmd_group_list(args: argparse.Namespace) -> None:
    from mlcontest.contest.groups import describe_group, visible_groups

    organizer = cli_organizer()
    rows = []
    for group in visible_groups(organizer):
        described = describe_group(group, organizer)
        access = "public" if group.public else "private"
        members = ", ".join(described["members"])
        rows.append(
            (group.name, access, described["invite_code"], len(described["members"]), members)
        )
    print_table(("group", "access", "invite code", "size", "members"), rows, "no groups yet")


@command
def cmd_group_add_member(args: argparse.Namespace) -> None:
    from mlcontest.contest.groups import add_member, find_group, group_of, is_placed

    group = find_group(args.group)
    user = find_user(args.username)
    before = group_of(user)
    if is_placed(user, group):
        print(f"{user.username} is in group {group.name!r} already")
        return
    add_member(cli_organizer(), group, user)
    if before == group:  # joined alone before: now the student cannot leave by themselves
        print(f"placed {user.username} in group {group.name!r}")
        return
    moved = f" (left {before.name!r})" if before else ""
    print(f"added {user.username} to group {group.name!r}{moved}")
