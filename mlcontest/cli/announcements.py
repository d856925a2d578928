"""``mlcontest announcement post | list | end``: announcements from a script or a terminal, as
the organizers' page and the API make them (``contest/announcements.py``). They act as the
``mlcontest-cli`` account, like the other set-up commands (``cli.base``)."""

from __future__ import annotations

import argparse

from mlcontest.cli.base import Subcommands, cli_organizer, command, print_table, shown_time


def register_announcement_commands(commands: Subcommands) -> None:
    announcement = commands.add_parser(
        "announcement", help="post, list and take down announcements on every page"
    )
    actions = announcement.add_subparsers(dest="action", required=True)

    post = actions.add_parser("post", help="announce: every page shows it within 2 s")
    post.add_argument("text", help="one line, at most 280 characters")
    post.add_argument("--round", type=int, help="only on this round's pages (its id)")
    post.add_argument(
        "--minutes", type=int, help="shown for this many minutes (default: until taken down)"
    )
    post.set_defaults(handler=cmd_announcement_post)

    listing = actions.add_parser("list", help="the current announcements")
    listing.add_argument("--all", action="store_true", help="the ended ones too")
    listing.set_defaults(handler=cmd_announcement_list)

    end = actions.add_parser("end", help="take an announcement down now")
    end.add_argument("id", type=int)
    end.set_defaults(handler=cmd_announcement_end)


def _where(round_id: int | None) -> str:
    return f"round {round_id}'s pages" if round_id else "every page"


@command
def cmd_announcement_post(args: argparse.Namespace) -> None:
    from mlcontest.contest import announcements
    from mlcontest.contest.rounds import get_round

    round_ = get_round(args.round) if args.round is not None else None
    posted = announcements.post(cli_organizer(), args.text, round_, args.minutes)
    until = f"until {shown_time(posted.ends_at)}" if posted.ends_at else "until taken down"
    print(f"announced {posted.pk} on {_where(posted.round_id)}, {until}: {posted.text}")


@command
def cmd_announcement_list(args: argparse.Namespace) -> None:
    from mlcontest.contest import announcements

    rows = [
        (
            row.pk,
            "current" if announcements.is_current(row) else "ended",
            row.round_id or "all",
            shown_time(row.created_at),
            shown_time(row.ends_at),
            row.text,
        )
        for row in announcements.listed(cli_organizer(), ended=args.all)
    ]
    headers = ("id", "state", "round", "posted", "ends", "text")
    print_table(headers, rows, "no announcements")


@command
def cmd_announcement_end(args: argparse.Namespace) -> None:
    from mlcontest.contest import announcements

    organizer = cli_organizer()
    announcement = announcements.take_down(organizer, announcements.find(organizer, args.id))
    print(f"ended announcement {announcement.pk} at {shown_time(announcement.ends_at)}")
