"""Groups: creating, joining, and who sees which.

A group name may not hold ``+``: the seed's client sends the name through ``quote_plus``, so a
space and a real plus both reach the server as ``+``. Forbidding it lets ``+`` mean a space.
Names are NFKC-normalised and may not hold invisible characters (controls, zero-width, text
direction, other formatting, unassigned, private use), so that two names that look the same
are the same name.
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.models import Group, Membership, Role, User
from mlcontest.contest.permissions import require_organizer

MAX_NAME_LENGTH = 64


# Invisible characters that make two names look alike, or a name look like another text.
_DIRECTION = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_ZERO_WIDTH = {0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}
_KINDS = {
    "Cc": gettext_noop("a control character"),
    "Cf": gettext_noop("an invisible formatting character"),
    "Cn": gettext_noop("not an assigned character"),
    "Co": gettext_noop("a private-use character"),
    "Cs": gettext_noop("a lone surrogate"),
}


def _normal_name(name: str) -> str:
    # NFKC: "ü" typed as one character or as "u" plus a combining mark, and a fullwidth letter
    # (U+FF21) or a ligature (U+FB01) and their plain letters, are the same name. White space
    # collapses.
    return " ".join(unicodedata.normalize("NFKC", name).split())


def refused_character(name: str) -> str | None:
    """What is wrong with the first character a group name may not hold, or None."""
    for char in unicodedata.normalize("NFKC", name).strip():
        category = unicodedata.category(char)
        if not category.startswith("C"):
            continue
        code = ord(char)
        if code in _DIRECTION:
            kind = gettext_noop("a text-direction control")
        elif code in _ZERO_WIDTH:
            kind = gettext_noop("a zero-width character")
        else:
            kind = _KINDS.get(category, gettext_noop("not allowed"))
        label = unicodedata.name(char, "")
        shown = f"U+{code:04X}{f' ({label})' if label else ''}"
        return _("%(char)s is %(kind)s") % {"char": shown, "kind": _(kind)}
    return None


def clean_group_name(name: str) -> str:
    problem = refused_character(name)
    if problem:
        raise InvalidInput(
            _("A group name may hold only visible characters and spaces: %(problem)s.")
            % {"problem": problem},
            fields={"group_name": problem},
        )
    cleaned = _normal_name(name)
    if not cleaned:
        raise InvalidInput(_("A group needs a name."), fields={"group_name": "required"})
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(
            _("The group name is too long."),
            fields={"group_name": f"at most {MAX_NAME_LENGTH} characters"},
        )
    if "+" in cleaned or "/" in cleaned:
        raise InvalidInput(
            _("A group name may not contain '+' or '/'."),
            fields={"group_name": "'+' and '/' are not allowed"},
        )
    return cleaned


def name_from_path(raw: str) -> str:
    """The group name as the seed's ``quote_plus`` path encodes it: ``+`` reads as a space."""
    return raw.replace("+", " ")


def may_create_group(user: User) -> bool:
    """Organizers create groups; students too where the class allows it
    (``MLCONTEST_STUDENTS_CREATE_GROUPS``). Workers never do."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_organizer:
        return True
    return user.role == Role.STUDENT and bool(settings.STUDENTS_CREATE_GROUPS)


def create_group(creator: User, name: str, public: bool = True) -> Group:
    """A new group. A student who may create one joins it at once, in the same transaction:
    a student an organizer placed elsewhere may not join the new group (409), and then it is
    not made either."""
    if not may_create_group(creator):
        require_organizer(creator)  # the same refusal as every organizer-only action
    cleaned = clean_group_name(name)
    try:
        with transaction.atomic():
            group = Group.objects.create(name=cleaned, public=public, created_by=creator)
            if not creator.is_organizer:
                join_group(creator, group, group.invite_code)
    except IntegrityError:
        raise Conflict(
            _("A group named %(name)s exists already.") % {"name": repr(cleaned)},
            fields={"group_name": "taken"},
        ) from None
    return group


def ensure_group(name: str, public: bool, creator: User) -> Group:
    """The group of this name, made by ``creator`` if it does not exist yet (setup and demo
    data: running twice keeps what exists)."""
    cleaned = clean_group_name(name)
    found = Group.objects.filter(name=cleaned).first()
    return found if found is not None else create_group(creator, cleaned, public)


def no_such_group(typed: str | int) -> NotFound:
    """The answer for a group that does not exist (by the name or id as typed), and the very same
    for a private group to someone who is not in it and lacks its invite code: an outsider
    cannot tell a private group from a missing one."""
    if isinstance(typed, int):
        return NotFound(_("No group %(id)s.") % {"id": typed})
    return NotFound(_("No group named %(name)s.") % {"name": repr(typed)})


def find_group(name: str) -> Group:
    # No group holds a refused character, so such a name is not even looked up.
    group = (
        None if refused_character(name) else Group.objects.filter(name=_normal_name(name)).first()
    )
    if group is None:
        raise no_such_group(name)
    return group


def group_of(user: User) -> Group | None:
    membership = Membership.objects.select_related("group").filter(user=user).first()
    return membership.group if membership else None


def may_enter(user: User, group: Group, invite_code: str | None) -> bool:
    """Public groups are open; a private one to its members, organizers and its invite code."""
    if group.public or user.is_organizer:
        return True
    if secrets.compare_digest((invite_code or "").encode(), group.invite_code.encode()):
        return True
    return Membership.objects.filter(user=user, group=group).exists()


def join_group(
    user: User, group: Group, invite_code: str | None = None, *, typed: str | int | None = None
) -> Group:
    """Make ``user`` a member of ``group``, leaving the group they were in.

    A private group needs its invite code (organizers add members without one); without it
    the answer is that of a missing group named ``typed`` (the name or id the caller gave).
    A student an organizer placed in a group cannot leave it by themselves (409
    ``placed_by_organizer``); joining the group they are in already is fine."""
    if not may_enter(user, group, invite_code):
        raise no_such_group(group.name if typed is None else typed)
    return _enter(user, group, by_organizer=False)


def add_member(organizer: User, group: Group, user: User) -> Group:
    """Put ``user`` in ``group`` for good: the student cannot leave it by themselves.

    Also for a student who joined this group alone: the organizer's say-so makes it binding.
    The organizer's say-so stands in for the invite code that a student joining alone needs."""
    require_organizer(organizer)
    return _enter(user, group, by_organizer=True)


def is_placed(user: User, group: Group | None = None) -> bool:
    """Whether an organizer placed ``user`` in their group (in ``group``, if given)."""
    placed = Membership.objects.filter(user=user, placed_by_organizer=True)
    return (placed.filter(group=group) if group is not None else placed).exists()


def _enter(user: User, group: Group, *, by_organizer: bool) -> Group:
    with transaction.atomic():
        # Parallel joins of one user queue on the user's row; without the lock two of them
        # both found no membership and raced to insert one (IntegrityError on PostgreSQL).
        # The lock also orders a student's own move after an organizer's placement.
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        current = Membership.objects.select_related("group").filter(user=user).first()
        if current is not None and current.group_id == group.pk:
            if by_organizer and not current.placed_by_organizer:
                current.placed_by_organizer = True
                current.save(update_fields=["placed_by_organizer"])
            return group
        if (
            current is not None
            and current.placed_by_organizer
            and not by_organizer
            and not user.is_organizer
        ):
            raise Conflict(
                _(
                    "An organizer placed you in the group %(name)s: you cannot leave it or "
                    "switch groups yourself. Ask an organizer to move you."
                )
                % {"name": repr(current.group.name)},
                code="placed_by_organizer",
                fields={"group": f"placed in {current.group.name!r} by an organizer"},
            )
        if current is not None:
            current.delete()
        Membership.objects.create(user=user, group=group, placed_by_organizer=by_organizer)
    return group


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
