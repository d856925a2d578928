"""Django's password validators: web sign-up refuses weak passwords with their messages;
organizer-made accounts (``user add``, ``user import-roster``) are made anyway, with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from mlcontest.cli.main import main
from mlcontest.contest.models import User
from tests.conftest import Contest


def sign_up(username: str, password: str) -> str:
    fields = {"username": username, "password": password, "class_code": "ML-2024"}
    response = Client().post(reverse("web:signup"), fields)
    return response.content.decode() if response.status_code == 200 else "signed up"


@override_settings(SIGNUP_CODE="ML-2024")
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("pw12", "This password is too short. It must contain at least 8 characters."),
        ("password1", "This password is too common."),
        ("83920175", "This password is entirely numeric."),
        ("danielle-s", "The password is too similar to the username."),
    ],
)
def test_sign_up_refuses_a_weak_password_with_the_validators_message(
    contest: Contest, password: str, message: str
) -> None:
    page = sign_up("danielle-s", password)
    assert message in page and 'id="id_password_error"' in page
    assert not User.objects.filter(username="danielle-s").exists()


@override_settings(SIGNUP_CODE="ML-2024")
def test_sign_up_accepts_a_strong_password_and_shows_the_rules(contest: Contest) -> None:
    form = Client().get(reverse("web:signup")).content.decode()
    assert "at least 8 characters" in form
    assert sign_up("dan", "tulip-orbit-93") == "signed up"
    assert User.objects.get(username="dan").check_password("tulip-orbit-93")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_user_add_warns_of_a_weak_password_but_makes_the_account(
    contest: Contest, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "user", "add", "dora", "--password", "k7q")
    assert code == 0 and out.startswith("created user dora")
    assert err == (
        "warning: the password of 'dora' is weak: This password is too short. "
        "It must contain at least 8 characters.\n"
    )
    assert User.objects.get(username="dora").check_password("k7q")
    # A generated password passes, so no warning.
    code, _, err = run(capsys, "user", "add", "emil")
    assert (code, err) == (0, "")


def test_roster_import_warns_per_weak_row(
    contest: Contest, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("username,password\nfay,12345678\ngus,tulip-orbit-93\n", encoding="utf-8")
    code, out, err = run(capsys, "user", "import-roster", str(roster))
    assert (
        code == 0 and out.splitlines()[-1] == "roster roster.csv: 2 created, 0 updated, 0 unchanged"
    )
    assert err.splitlines() == [
        "warning: Line 2: the password of 'fay' is weak: This password is too common. "
        "This password is entirely numeric."
    ]
