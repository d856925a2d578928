"""Accounts: the one way to create a user or change one's role, email and password, for sign-up,
the command line's rosters and the demo. (The admin is Django's own user admin.)"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from mlcontest.contest.errors import Conflict
from mlcontest.contest.models import Role, User


def create_user(
    username: str,
    password: str | None,
    role: str = Role.STUDENT,
    email: str = "",
    *,
    password_hash: str | None = None,
) -> User:
    """A new account. ``password_hash``: a hash made beforehand (a roster hashes its new
    passwords in parallel); without a password the account cannot sign in by password.
    A taken username is a 409 ``taken``."""
    user = User(username=username, role=role, email=email)
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)  # None: an unusable password, as Django's create_user
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(_("This username is taken."), fields={"username": "taken"}) from None
    return user


def update_user(
    user: User, role: str | None = None, email: str | None = None, password: str | None = None
) -> list[str]:
    """Change what is given and differs; the words for what changed (``role student``,
    ``email``, ``password``), empty when nothing did."""
    changes: list[str] = []
    if role is not None and role != user.role:
        user.role = role
        changes.append(f"role {role}")
    if email is not None and email != user.email:
        user.email = email
        changes.append("email")
    # Comparing first keeps a re-run from re-hashing: each hash costs a deliberate fraction
    # of a second, which adds up over a class.
    if password and not user.check_password(password):
        user.set_password(password)
        changes.append("password")
    if changes:
        user.save()
    return changes
