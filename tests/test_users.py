"""contest.users: the one way sign-up, rosters and the demo create and update accounts."""

from __future__ import annotations

from typing import Any

import pytest

from mlcontest.contest import users
from mlcontest.contest.errors import Conflict
from mlcontest.contest.models import Role, User


def test_create_user_and_a_taken_name(db: Any) -> None:
    made = users.create_user("nina", "tulip-orbit-93", Role.WORKER, "nina@example.org")
    stored = User.objects.get(username="nina")
    assert stored.pk == made.pk and stored.role == Role.WORKER
    assert stored.email == "nina@example.org" and stored.check_password("tulip-orbit-93")
    with pytest.raises(Conflict) as refused:
        users.create_user("nina", "other-pass-12")
    assert refused.value.fields == {"username": "taken"}
    assert User.objects.filter(username="nina").count() == 1
    nopass = users.create_user("otto", None)
    assert not User.objects.get(pk=nopass.pk).has_usable_password()


def test_update_user_says_what_changed(db: Any) -> None:
    user = users.create_user("nina", "tulip-orbit-93")
    assert users.update_user(user, Role.STUDENT, None, "tulip-orbit-93") == []
    assert users.update_user(user, Role.ORGANIZER, "n@example.org", "new-pass-77") == [
        "role organizer",
        "email",
        "password",
    ]
    stored = User.objects.get(pk=user.pk)
    assert stored.role == Role.ORGANIZER and stored.check_password("new-pass-77")
