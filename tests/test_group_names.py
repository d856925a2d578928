"""Group names are NFKC-normalised (a fullwidth or ligature spelling is the same name as the
plain one) and may not hold invisible characters: controls, zero-width, text direction, other
formatting, unassigned or private-use characters are refused with a message naming the
character. The old rules stay (no ``+`` or ``/``, at most 64 characters)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.urls import reverse

from mlcontest.contest import groups
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Group, Membership
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, logged_in, ok_json

ADD = "/actions/add_group/"

REFUSED = [
    ("Al\u200bpha", "U+200B (ZERO WIDTH SPACE) is a zero-width character"),
    ("Alpha\u200d", "U+200D (ZERO WIDTH JOINER) is a zero-width character"),
    ("\ufeffAlpha", "U+FEFF (ZERO WIDTH NO-BREAK SPACE) is a zero-width character"),
    ("\u202eahplA", "U+202E (RIGHT-TO-LEFT OVERRIDE) is a text-direction control"),
    ("A\u2066B", "U+2066 (LEFT-TO-RIGHT ISOLATE) is a text-direction control"),
    ("Al\u00adpha", "U+00AD (SOFT HYPHEN) is an invisible formatting character"),
    ("A\x00B", "U+0000 is a control character"),
    ("A\tB", "U+0009 is a control character"),
    ("A\x1bB", "U+001B is a control character"),
    ("A\ue000B", "U+E000 is a private-use character"),
    ("A\u0378B", "U+0378 is not an assigned character"),
]


def group_names() -> set[str]:
    return set(Group.objects.values_list("name", flat=True))


@pytest.mark.parametrize(("name", "problem"), REFUSED, ids=[p for _, p in REFUSED])
def test_invisible_characters_are_refused_naming_the_character(
    contest: Contest, name: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        groups.clean_group_name(name)
    assert problem in refused.value.message and refused.value.fields == {"group_name": problem}
    before = group_names()
    form = logged_in(contest.olga).post(ADD, {"group_name": name})
    if "\x00" in name:
        # A NUL in any form field is refused before any view sees it (guards.CleanText...).
        assert assert_error(form, 400, "invalid_text")["fields"] == {
            "group_name": "contains a NUL character or a lone surrogate"
        }
    else:
        body = assert_error(form, 400, "invalid")
        assert body["fields"] == {"group_name": problem} and problem in body["message"]
    api = logged_in(contest.olga).post(
        "/api/groups/", json.dumps({"name": name}), content_type="application/json"
    )
    refused = assert_error(api, 400, "invalid")["message"]
    assert ("NUL character" if "\x00" in name else problem) in refused
    assert group_names() == before


def test_the_web_form_shows_the_problem(contest: Contest) -> None:
    page = contest.client(contest.olga).post(
        reverse("web:groups"), {"create-group_name": "\u202eahplA", "create-public": "on"}
    )
    assert "RIGHT-TO-LEFT OVERRIDE" in page.content.decode()
    assert "\u202eahplA" not in group_names()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\uff27\uff52\uff55\uff4e", "Grun"),  # fullwidth letters
        ("\ufb01sh", "fish"),  # a ligature
        ("Gr\u00fcne\u3000Gruppe", "Grüne Gruppe"),  # an ideographic space
        ("Gru\u0308ne\u00a0 Gruppe", "Grüne Gruppe"),  # a combining mark, a no-break space
        ("Team \u2460", "Team 1"),  # a circled digit
    ],
)
def test_names_are_nfkc_normalised(contest: Contest, typed: str, stored: str) -> None:
    body = ok_json(logged_in(contest.olga).post(ADD, {"group_name": typed}))
    assert body["group"]["name"] == stored and stored in group_names()


def test_a_fullwidth_name_is_the_same_group(contest: Contest) -> None:
    fullwidth = "\uff21\uff4c\uff50\uff48\uff41"  # "Alpha" in fullwidth letters
    response = logged_in(contest.olga).post(ADD, {"group_name": fullwidth})
    assert_error(response, 409, "conflict", ("group_name",))
    assert group_names() == {"Alpha", "Beta"}
    joined = ok_json(logged_in(contest.carol).post(f"/actions/join_group/{quote_plus(fullwidth)}/"))
    assert joined["group"]["name"] == "Alpha"
    assert Membership.objects.get(user=contest.carol).group == contest.alpha


@pytest.mark.parametrize("name", ["A\uff0bB", "a\uff0fb", "x" * 65], ids=repr)
def test_the_old_rules_hold_after_normalising(contest: Contest, name: str) -> None:
    # Fullwidth "+" and "/" become the plain ones, which stay refused.
    assert_error(logged_in(contest.olga).post(ADD, {"group_name": name}), 400, "invalid")
    assert group_names() == {"Alpha", "Beta"}


@pytest.mark.parametrize("name", ["Al\u200bpha", "\u202eBeta", "Al\udc80pha"], ids=repr)
def test_joining_by_a_name_with_invisible_characters_finds_nothing(
    contest: Contest, name: str
) -> None:
    with pytest.raises(NotFound) as missing:
        groups.find_group(name)
    assert missing.value.args[0] == f"No group named {name!r}."


def test_a_roster_group_name_is_checked_too(contest: Contest, tmp_path: Any) -> None:
    from mlcontest.cli.main import main

    roster = tmp_path / "roster.csv"
    roster.write_text("username,password,group\ndora,tulip-orbit-93,Team\u200b1\n", "utf-8")
    assert main(["user", "import-roster", str(roster)]) == 2
    assert group_names() == {"Alpha", "Beta"}


def test_the_admin_applies_the_same_rules(contest: Contest) -> None:
    contest.olga.is_staff = contest.olga.is_superuser = True
    contest.olga.save()
    client = contest.client(contest.olga)
    fields = {
        "name": "\uff27amma",
        "public": "on",
        "invite_code": "abc",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "membership_set-TOTAL_FORMS": "0",
        "membership_set-INITIAL_FORMS": "0",
    }
    client.post("/admin/contest/group/add/", fields)
    assert "Gamma" in group_names()  # stored normalised
    page = client.post("/admin/contest/group/add/", {**fields, "name": "Del\u202eta"})
    assert "RIGHT-TO-LEFT OVERRIDE" in page.content.decode()
    assert group_names() == {"Alpha", "Beta", "Gamma"}
