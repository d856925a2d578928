"""The ``user`` set-up commands: single users, a class roster from CSV, API tokens.

A roster import is all or nothing and safe to re-run: existing users are updated (role, email,
password, group), never duplicated, and a group a row names is made, public, if it is missing.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlcontest.cli.base import (
    CLI_USERNAME,
    Subcommands,
    cli_organizer,
    command,
    find_user,
    group_words,
    print_table,
)

if TYPE_CHECKING:
    from mlcontest.contest.models import Group, User

ROLE_CHOICES = ("student", "worker", "organizer")
ROSTER_COLUMNS = ("username", "password", "role", "group", "email")
ROSTER_REQUIRED = ("username", "password")


def register_user_commands(commands: Subcommands) -> None:
    user = commands.add_parser("user", help="create users, import a roster, make API tokens")
    actions = user.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="create a user, or update one that exists")
    add.add_argument("username")
    password = add.add_mutually_exclusive_group()
    password.add_argument("--password", help="(visible to other users of this machine)")
    password.add_argument("--password-file", type=Path, help="read the password from a file")
    add.add_argument("--role", choices=ROLE_CHOICES, help="default for a new user: student")
    add.add_argument("--group", help="made as a public group if it does not exist")
    add.add_argument("--email")
    add.set_defaults(handler=cmd_user_add)

    roster = actions.add_parser(
        "import-roster", help="create or update users from a CSV file (re-running is safe)"
    )
    roster.add_argument("file", type=Path)
    roster.set_defaults(handler=cmd_user_import_roster)

    token = actions.add_parser("token", help="print a new API token for a user")
    token.add_argument("username")
    token.add_argument("--name", default="", help="what the token is for, e.g. a worker's host")
    token.set_defaults(handler=cmd_user_token)

    actions.add_parser("list", help="list the users").set_defaults(handler=cmd_user_list)


@dataclass
class UserSpec:
    """What a command line or roster row asks for; None leaves that part of a user as it is."""

    username: str
    password: str | None = None
    role: str | None = None
    group: str | None = None
    email: str | None = None
    where: str = ""  # "line 4: " in a roster, so that errors point at the row


def check_spec(spec: UserSpec, needs_password: bool) -> None:
    """Refuse a bad row before anything is written, naming the row and the field."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from mlcontest.contest.errors import InvalidInput
    from mlcontest.contest.groups import clean_group_name
    from mlcontest.contest.models import User

    def refuse(field: str, message: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{spec.where}{message}", fields={field: problem})

    if spec.username == CLI_USERNAME:
        raise refuse("username", f"{CLI_USERNAME!r} is the command line's own account.", "reserved")
    try:
        User._meta.get_field("username").clean(spec.username, None)
    except ValidationError as error:
        raise refuse(
            "username", f"{spec.username!r} is not a valid username.", " ".join(error.messages)
        ) from None
    if spec.email:
        try:
            validate_email(spec.email)
        except ValidationError:
            raise refuse("email", f"{spec.email!r} is not an email address.", "invalid") from None
    if spec.role is not None and spec.role not in ROLE_CHOICES:
        raise refuse("role", f"Unknown role {spec.role!r}.", f"one of {', '.join(ROLE_CHOICES)}")
    if spec.group is not None:
        try:
            clean_group_name(spec.group)
        except InvalidInput as error:
            raise refuse("group", error.message, next(iter(error.fields.values()), "")) from None
    is_new = not User.objects.filter(username=spec.username).exists()
    if needs_password and not spec.password and is_new:
        raise refuse("password", f"The new user {spec.username!r} needs a password.", "required")


def weak_password_warning(spec: UserSpec) -> str | None:
    """A warning when Django's password validators would refuse the spec's password.

    Organizer-made accounts are not refused (a lecturer may hand out short first passwords on
    paper, to be changed), but sign-up would refuse such a password, so say so."""
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError

    from mlcontest.contest.models import User

    if not spec.password:
        return None
    try:
        password_validation.validate_password(
            spec.password, User(username=spec.username, email=spec.email or "")
        )
    except ValidationError as error:
        return f"warning: {spec.where}the password of {spec.username!r} is weak: " + " ".join(
            error.messages
        )
    return None


def warn_weak_passwords(specs: list[UserSpec]) -> None:
    for spec in specs:
        warning = weak_password_warning(spec)
        if warning:
            print(warning, file=sys.stderr)


def hash_new_passwords(specs: list[UserSpec]) -> dict[str, str]:
    """The stored hashes of the new users' passwords, made in parallel.

    Each hash costs a deliberate fraction of a second (PBKDF2, as Django sets it), so a class of
    30 took most of a roster import's time hashing one password after another (measured: 22 of
    28 s on a loaded machine, bench/classroom.py). The hash function releases the GIL, so
    threads spread the work over the machine's cores."""
    from django.contrib.auth.hashers import make_password

    from mlcontest.contest.models import User

    existing = set(
        User.objects.filter(username__in=[spec.username for spec in specs]).values_list(
            "username", flat=True
        )
    )
    new = [spec for spec in specs if spec.password and spec.username not in existing]
    if len(new) < 2:
        return {}
    with ThreadPoolExecutor(max_workers=min(len(new), os.cpu_count() or 1, 16)) as pool:
        hashes = list(pool.map(lambda spec: make_password(spec.password), new))
    return {spec.username: encoded for spec, encoded in zip(new, hashes, strict=True)}


def apply_spec(
    organizer: User, spec: UserSpec, hashed: dict[str, str] | None = None
) -> tuple[str, list[str]]:
    """Create or update one user: ('created' | 'updated' | 'unchanged', lines to print).
    ``hashed``: new users' password hashes made beforehand (``hash_new_passwords``)."""
    from mlcontest.contest import users
    from mlcontest.contest.groups import add_member, group_of, is_placed
    from mlcontest.contest.models import Role, User

    lines: list[str] = []
    user = User.objects.filter(username=spec.username).first()
    created = user is None
    changes: list[str] = []
    if user is None:
        user = users.create_user(
            spec.username,
            spec.password or None,
            spec.role or Role.STUDENT,
            spec.email or "",
            password_hash=(hashed or {}).get(spec.username),
        )
    else:
        changes = users.update_user(user, spec.role, spec.email, spec.password or None)
    if spec.group is not None:
        group, group_line = group_for(organizer, spec.group)
        if group_line:
            lines.append(group_line)
        # The roster's group is binding, also for a student who had joined it alone.
        if not is_placed(user, group):
            moved = group_of(user) != group
            add_member(organizer, group, user)
            changes.append(f"group {group.name!r}" if moved else f"placed in {group.name!r}")
    if created:
        joined = group_of(user)
        in_group = f" in group {joined.name!r}" if joined else ""
        lines.append(f"created user {user.username} ({user.role}){in_group}")
        return "created", lines
    if changes:
        lines.append(f"updated user {user.username}: {', '.join(changes)}")
        return "updated", lines
    lines.append(f"unchanged user {user.username}")
    return "unchanged", lines


def group_for(organizer: User, name: str) -> tuple[Group, str]:
    """The group named ``name``, made as a public group if missing (with a line saying so)."""
    from mlcontest.contest.errors import NotFound
    from mlcontest.contest.groups import create_group, find_group

    try:
        return find_group(name), ""
    except NotFound:
        group = create_group(organizer, name, public=True)
        return group, f"created group {group.name!r} ({group_words(group)})"


@command
def cmd_user_add(args: argparse.Namespace) -> None:
    from django.db import transaction

    from mlcontest.contest.models import User

    password = args.password
    if args.password_file is not None:
        password = read_password(args.password_file)
    generated = password is None and not User.objects.filter(username=args.username).exists()
    if generated:
        password = secrets.token_urlsafe(9)
    spec = UserSpec(args.username, password, args.role, args.group, args.email)
    check_spec(spec, needs_password=True)
    warn_weak_passwords([spec])
    with transaction.atomic():
        _, lines = apply_spec(cli_organizer(), spec)
    if generated:
        lines[-1] += f", password {password}"
    print("\n".join(lines))


def read_password(path: Path) -> str:
    from mlcontest.contest.errors import InvalidInput

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InvalidInput(
            f"Cannot read {path}: {error.strerror or error}.",
            fields={"password_file": "unreadable"},
        ) from None
    if not lines or not lines[0]:
        raise InvalidInput(f"{path} holds no password.", fields={"password_file": "empty"})
    return lines[0]


@command
def cmd_user_import_roster(args: argparse.Namespace) -> None:
    from django.db import transaction

    specs, left_out = read_roster(args.file)
    for spec in specs:
        check_spec(spec, needs_password=True)
    warn_weak_passwords(specs)
    if left_out:
        print(f"roster: columns left out: {', '.join(left_out)}")
    organizer = cli_organizer()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    hashed = hash_new_passwords(specs)  # before the transaction: it holds no lock meanwhile
    # All or nothing: a row that fails half-way leaves the class as it was before.
    with transaction.atomic():
        for spec in specs:
            outcome, lines = apply_spec(organizer, spec, hashed)
            counts[outcome] += 1
            print("\n".join(lines))
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    print(f"roster {args.file.name}: {summary}")


def read_roster(path: Path) -> tuple[list[UserSpec], list[str]]:
    """The roster's rows as specs, and the columns that the roster has but nobody reads."""
    from mlcontest.contest.dataset_sources import read_csv_text, sniff_delimiter
    from mlcontest.contest.errors import InvalidInput

    text, _ = read_csv_text(path)
    if not text.strip():
        raise InvalidInput("The roster is empty.", fields={"file": "empty"})
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    header = [name.strip().lower() for name in next(reader)]
    missing = [name for name in ROSTER_REQUIRED if name not in header]
    if missing:
        raise InvalidInput(
            f"The roster needs the columns {', '.join(ROSTER_REQUIRED)}; missing: "
            f"{', '.join(missing)}.",
            fields={name: "missing column" for name in missing},
        )
    specs: list[UserSpec] = []
    first_line: dict[str, int] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        username = row["username"]
        if not username:
            raise InvalidInput(f"Line {line}: the username is empty.", fields={"username": "empty"})
        if username in first_line:
            raise InvalidInput(
                f"Line {line}: {username!r} appears already on line {first_line[username]}.",
                fields={"username": "duplicate"},
            )
        first_line[username] = line
        specs.append(
            UserSpec(
                username=username,
                password=row["password"] or None,
                role=row.get("role", "").lower() or None,
                group=row.get("group") or None,
                email=row.get("email") or None,
                where=f"Line {line}: ",
            )
        )
    return specs, [name for name in header if name not in ROSTER_COLUMNS]


@command
def cmd_user_token(args: argparse.Namespace) -> None:
    from mlcontest.contest.models import ApiToken

    _, key = ApiToken.issue(find_user(args.username), args.name)
    # Only the key, so that a script can say TOKEN=$(mlcontest user token walter). The server
    # keeps only its hash: this is the one time the key is shown.
    print(key)


@command
def cmd_user_list(args: argparse.Namespace) -> None:
    from django.db.models import Count

    from mlcontest.contest.models import Membership, User

    group_names = dict(Membership.objects.values_list("user_id", "group__name"))
    rows = [
        (
            user.username,
            user.shown_role,
            group_names.get(user.pk, "-"),
            user.email or "-",
            user.n_tokens,
        )
        for user in User.objects.annotate(n_tokens=Count("tokens")).order_by("username")
    ]
    print_table(("username", "role", "group", "email", "tokens"), rows, "no users yet")
