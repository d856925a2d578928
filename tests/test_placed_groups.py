"""Groups an organizer gives are binding (issue 11, item 5): a student placed by a roster, by
an organizer adding them, or in the admin cannot leave or switch by themselves, on the seed
protocol, the JSON API and the web; an organizer can still move them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.contrib import admin
from django.test import override_settings
from django.urls import reverse

from mlcontest.cli.main import main
from mlcontest.contest import groups
from mlcontest.contest.admin import MembershipForm
from mlcontest.contest.errors import Conflict
from mlcontest.contest.models import Group, Membership, User
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, logged_in, ok_json


def membership(user: User) -> tuple[str, bool] | None:
    """The user's group and whether an organizer placed them there, as stored."""
    row = Membership.objects.filter(user=user).select_related("group").first()
    return (row.group.name, row.placed_by_organizer) if row else None


@pytest.fixture
def placed(contest: Contest) -> User:
    """carol, placed in Alpha by olga (a public group: joining Beta alone needs its code)."""
    groups.add_member(contest.olga, contest.alpha, contest.carol)
    return contest.carol


@pytest.fixture
def gamma(contest: Contest) -> Group:
    return groups.create_group(contest.olga, "Gamma", public=True)


def seed_join(user: User, name: str, **fields: str) -> Any:
    return logged_in(user).post(f"/actions/join_group/{quote_plus(name)}/", fields)


def api_join(user: User, group: Group, **body: str) -> Any:
    return logged_in(user).post(
        f"/api/groups/{group.pk}/join/", json.dumps(body), content_type="application/json"
    )


def test_a_student_who_joined_alone_moves_freely(contest: Contest, gamma: Group) -> None:
    ok_json(seed_join(contest.carol, "Alpha"))
    assert membership(contest.carol) == ("Alpha", False)
    ok_json(api_join(contest.carol, gamma))
    assert membership(contest.carol) == ("Gamma", False)


def test_the_seed_join_refuses_a_placed_student_with_409(
    contest: Contest, placed: User, gamma: Group
) -> None:
    body = assert_error(seed_join(placed, "Gamma"), 409, "placed_by_organizer", ("group",))
    assert "An organizer placed you in the group 'Alpha'" in body["message"]
    assert "Ask an organizer to move you" in body["message"]
    # With the invite code of a private group too: the placement, not the door, stops them.
    assert_error(seed_join(placed, "Beta", invite_code=contest.beta.invite_code), 409)
    assert membership(placed) == ("Alpha", True)


def test_the_api_join_refuses_a_placed_student_with_409(
    contest: Contest, placed: User, gamma: Group
) -> None:
    body = assert_error(api_join(placed, gamma), 409, "placed_by_organizer")
    assert "'Alpha'" in body["message"]
    assert_error(api_join(placed, contest.beta, invite_code=contest.beta.invite_code), 409)
    assert membership(placed) == ("Alpha", True)


def test_a_private_group_stays_a_missing_one_to_a_placed_outsider(
    contest: Contest, placed: User
) -> None:
    """Without the code the answer is the 404 of a missing group, as for anyone."""
    assert_error(seed_join(placed, "Beta"), 404, "not_found")
    assert_error(api_join(placed, contest.beta), 404, "not_found")
    assert membership(placed) == ("Alpha", True)


def test_rejoining_the_own_group_is_fine(contest: Contest, placed: User) -> None:
    """A seed script that joins its group at every start keeps working."""
    ok_json(seed_join(placed, "Alpha"))
    ok_json(api_join(placed, contest.alpha))
    assert membership(placed) == ("Alpha", True)


def test_the_web_join_refuses_and_says_why(contest: Contest, placed: User, gamma: Group) -> None:
    client = logged_in(placed)
    response = client.post(reverse("web:group_join"), {"code-group_name": "Gamma"}, follow=True)
    assert "An organizer placed you in the group" in response.content.decode()
    assert membership(placed) == ("Alpha", True)


def test_a_placed_student_cannot_create_and_join_a_group(contest: Contest, placed: User) -> None:
    client = logged_in(placed)
    with override_settings(STUDENTS_CREATE_GROUPS=True):
        page = client.post(reverse("web:groups"), {"create-group_name": "Delta"})
    assert "An organizer placed you in the group" in page.content.decode()
    assert not Group.objects.filter(name="Delta").exists()  # not made either
    assert membership(placed) == ("Alpha", True)


def test_an_organizer_still_moves_a_placed_student(
    contest: Contest, placed: User, gamma: Group
) -> None:
    answer = logged_in(contest.olga).post(
        f"/api/groups/{gamma.pk}/members/",
        json.dumps({"username": placed.username}),
        content_type="application/json",
    )
    assert ok_json(answer)["members"] == ["carol"]
    assert membership(placed) == ("Gamma", True)
    assert_error(seed_join(placed, "Alpha"), 409, "placed_by_organizer")


def test_an_organizer_adding_a_student_to_their_own_group_makes_it_binding(
    contest: Contest, gamma: Group
) -> None:
    ok_json(seed_join(contest.carol, "Alpha"))
    assert membership(contest.carol) == ("Alpha", False)
    groups.add_member(contest.olga, contest.alpha, contest.carol)
    assert membership(contest.carol) == ("Alpha", True)
    assert_error(api_join(contest.carol, gamma), 409)


def test_an_organizer_in_a_group_moves_themselves(contest: Contest, gamma: Group) -> None:
    groups.add_member(contest.olga, contest.alpha, contest.olga)
    ok_json(api_join(contest.olga, gamma))
    assert membership(contest.olga) == ("Gamma", False)


def test_the_domain_refuses_with_a_conflict(contest: Contest, placed: User, gamma: Group) -> None:
    with pytest.raises(Conflict) as refused:
        groups.join_group(placed, gamma)
    assert refused.value.status == 409 and refused.value.code == "placed_by_organizer"
    assert groups.is_placed(placed) and groups.is_placed(placed, contest.alpha)
    assert not groups.is_placed(placed, gamma)


# --- the command line and the admin ----------------------------------------------------------


def run(*argv: str) -> int:
    return main(list(argv))


def test_a_roster_places_its_students(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("username,password,group\ns07,pw-s07,Ants\ns08,pw-s08,\n", encoding="utf-8")
    assert run("user", "import-roster", str(roster)) == 0
    s07 = User.objects.get(username="s07")
    assert membership(s07) == ("Ants", True)
    Group.objects.create(name="Bees", public=True)
    assert_error(seed_join(s07, "Bees"), 409, "placed_by_organizer")
    # s08 has no group from the roster: free to join one and to move on.
    s08 = User.objects.get(username="s08")
    ok_json(seed_join(s08, "Bees"))
    ok_json(seed_join(s08, "Ants"))
    assert membership(s07) == ("Ants", True) and membership(s08) == ("Ants", False)


def test_a_roster_rerun_places_a_student_who_joined_alone(
    contest: Contest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok_json(seed_join(contest.carol, "Alpha"))
    roster = tmp_path / "roster.csv"
    roster.write_text("username,password,group\ncarol,,Alpha\n", encoding="utf-8")
    assert run("user", "import-roster", str(roster)) == 0
    out = capsys.readouterr().out
    assert "updated user carol: placed in 'Alpha'" in out
    assert membership(contest.carol) == ("Alpha", True)
    assert run("user", "import-roster", str(roster)) == 0
    assert "unchanged user carol" in capsys.readouterr().out


def test_group_add_member_places_and_moves(
    contest: Contest, gamma: Group, capsys: pytest.CaptureFixture[str]
) -> None:
    ok_json(seed_join(contest.carol, "Alpha"))
    assert run("group", "add-member", "Alpha", "carol") == 0
    assert capsys.readouterr().out.strip() == "placed carol in group 'Alpha'"
    assert membership(contest.carol) == ("Alpha", True)
    assert run("group", "add-member", "Alpha", "carol") == 0
    assert "is in group 'Alpha' already" in capsys.readouterr().out
    assert run("group", "add-member", "Gamma", "carol") == 0
    assert "left 'Alpha'" in capsys.readouterr().out
    assert membership(contest.carol) == ("Gamma", True)


def test_the_admin_places_new_members_unless_unticked(contest: Contest) -> None:
    assert admin.site._registry[Membership].form is MembershipForm
    new = MembershipForm()
    assert new.fields["placed_by_organizer"].initial is True
    form = MembershipForm(
        {"group": contest.alpha.pk, "user": contest.carol.pk, "joined_at": "2026-12-01 10:00:00"}
        | {"placed_by_organizer": "on"}
    )
    assert form.is_valid(), form.errors
    form.save()
    assert membership(contest.carol) == ("Alpha", True)
    assert_error(seed_join(contest.carol, "Beta", invite_code=contest.beta.invite_code), 409)
    existing = Membership.objects.get(user=contest.alice)
    assert MembershipForm(instance=existing).initial["placed_by_organizer"] is False
    unticked = MembershipForm(
        {"group": contest.beta.pk, "user": contest.alice.pk, "joined_at": "2026-12-01 10:00:00"},
        instance=existing,
    )
    assert unticked.is_valid(), unticked.errors
    unticked.save()
    assert membership(contest.alice) == ("Beta", False)
    ok_json(seed_join(contest.alice, "Alpha"))


def test_a_member_added_on_the_groups_admin_page_is_placed(contest: Contest) -> None:
    contest.olga.is_staff = contest.olga.is_superuser = True
    contest.olga.save()
    client = logged_in(contest.olga)
    url = f"/admin/contest/group/{contest.alpha.pk}/change/"
    page = client.get(url).content.decode()
    existing_box = page.split('name="membership_set-0-placed_by_organizer"')[1].split(">")[0]
    new_box = page.split('name="membership_set-1-placed_by_organizer"')[1].split(">")[0]
    assert "checked" not in existing_box and "checked" in new_box  # a new row comes ticked
    alice = Membership.objects.get(user=contest.alice)
    form = {
        "name": "Alpha",
        "public": "on",
        "invite_code": contest.alpha.invite_code,
        "created_at_0": "2026-12-01",
        "created_at_1": "10:00:00",
        "membership_set-TOTAL_FORMS": "2",
        "membership_set-INITIAL_FORMS": "1",
        "membership_set-0-id": str(alice.pk),
        "membership_set-0-group": str(contest.alpha.pk),
        "membership_set-0-user": str(contest.alice.pk),
        "membership_set-0-joined_at_0": "2026-12-01",
        "membership_set-0-joined_at_1": "10:00:00",
        "membership_set-1-group": str(contest.alpha.pk),
        "membership_set-1-user": str(contest.carol.pk),
        "membership_set-1-joined_at_0": "2026-12-01",
        "membership_set-1-joined_at_1": "10:00:00",
        "membership_set-1-placed_by_organizer": "on",  # as the new row comes ticked
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert membership(contest.carol) == ("Alpha", True)
    assert membership(contest.alice) == ("Alpha", False)
    assert_error(seed_join(contest.carol, "Beta", invite_code=contest.beta.invite_code), 409)
    ok_json(seed_join(contest.alice, "Beta", invite_code=contest.beta.invite_code))
