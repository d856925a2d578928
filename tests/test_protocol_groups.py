"""The seed's ``add_group``, ``join_group`` and ``list_groups``.

``join_group`` puts the name through ``quote_plus``: the server sees a space and a real ``+``
both as ``+``, so names may not hold ``+`` and ``+`` in the path reads as a space."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from mlcontest.contest.models import Group, Membership
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, csrf_token, logged_in, ok_json

ADD = "/actions/add_group/"


def group_names() -> set[str]:
    return set(Group.objects.values_list("name", flat=True))


def member_of(user_pk: int) -> str | None:
    membership = Membership.objects.filter(user_id=user_pk).select_related("group").first()
    return membership.group.name if membership else None


# add_group


@pytest.mark.parametrize(("sent", "public"), [("True", True), ("False", False)])
def test_organizer_adds_group(contest: Contest, sent: str, public: bool) -> None:
    client = logged_in(contest.olga)
    body = ok_json(client.post(ADD, {"group_name": "Grüne Gruppe", "public": sent, "api": "1"}))
    assert body["status"] == "ok"
    assert body["group"]["name"] == "Grüne Gruppe" and body["group"]["public"] is public
    group = Group.objects.get(name="Grüne Gruppe")
    assert group.public is public and group.created_by == contest.olga
    assert body["group"]["invite_code"] == group.invite_code


@pytest.mark.parametrize(("sent", "public"), [("yes", True), ("off", False), ("0", False)])
def test_public_takes_the_one_parsers_spellings(contest: Contest, sent: str, public: bool) -> None:
    ok_json(logged_in(contest.olga).post(ADD, {"group_name": "Delta", "public": sent}))
    assert Group.objects.get(name="Delta").public is public


def test_a_public_field_that_is_no_boolean_is_refused(contest: Contest) -> None:
    # It used to create a public group: any typo read as true.
    answer = logged_in(contest.olga).post(ADD, {"group_name": "Delta", "public": "Flase"})
    assert_error(answer, 400, "invalid", ("public",))
    assert "Delta" not in group_names()


def test_add_group_without_public_field_is_public(contest: Contest) -> None:
    ok_json(logged_in(contest.olga).post(ADD, {"group_name": "Gamma"}))
    assert Group.objects.get(name="Gamma").public is True


def test_add_group_collapses_whitespace(contest: Contest) -> None:
    ok_json(logged_in(contest.olga).post(ADD, {"group_name": "  Grüne   Gruppe "}))
    assert "Grüne Gruppe" in group_names()


def test_add_group_with_csrf_enforced(contest: Contest) -> None:
    client = logged_in(contest.olga, enforce_csrf_checks=True)
    assert_error(client.post(ADD, {"group_name": "Gamma"}), 403, "csrf_failed")
    assert "Gamma" not in group_names()
    token = csrf_token(client)
    ok_json(client.post(ADD, {"group_name": "Gamma", "csrfmiddlewaretoken": token}))
    assert "Gamma" in group_names()


@pytest.mark.parametrize("name", ["", "   ", "A+B", "Grüne+Gruppe", "a/b", "x" * 65], ids=repr)
def test_bad_group_names_are_refused(contest: Contest, name: str) -> None:
    before = group_names()
    response = logged_in(contest.olga).post(ADD, {"group_name": name, "public": "True"})
    assert_error(response, 400, "invalid", ("group_name",))
    assert group_names() == before


def test_missing_group_name_is_refused(contest: Contest) -> None:
    response = logged_in(contest.olga).post(ADD, {"public": "True"})
    assert_error(response, 400, "invalid", ("group_name",))


def test_duplicate_group_is_a_conflict(contest: Contest) -> None:
    response = logged_in(contest.olga).post(ADD, {"group_name": " Alpha "})
    assert_error(response, 409, "conflict", ("group_name",))
    assert Group.objects.filter(name="Alpha").count() == 1


def test_a_name_typed_with_a_combining_mark_is_the_same_name(contest: Contest) -> None:
    composed, decomposed = "Gr\u00fcne", "Gru\u0308ne"  # "ü" as one character, and as two
    olga = logged_in(contest.olga)
    ok_json(olga.post(ADD, {"group_name": decomposed}))
    assert group_names() == {"Alpha", "Beta", composed}  # stored composed
    assert_error(olga.post(ADD, {"group_name": composed}), 409, "conflict", ("group_name",))
    ok_json(logged_in(contest.carol).post(join_path(decomposed)))
    assert member_of(contest.carol.pk) == composed


@pytest.mark.parametrize("who", ["alice", "carol", "walter"])
def test_only_organizers_add_groups(contest: Contest, who: str) -> None:
    response = logged_in(getattr(contest, who)).post(ADD, {"group_name": "Gamma"})
    assert_error(response, 403, "forbidden")
    assert "Gamma" not in group_names()


def test_anonymous_add_group_is_401(contest: Contest) -> None:
    assert_error(logged_in(None).post(ADD, {"group_name": "Gamma"}), 401, "not_authenticated")
    assert "Gamma" not in group_names()


def test_add_group_is_post_only(contest: Contest) -> None:
    response = logged_in(contest.olga).get(ADD, {"group_name": "Gamma"})
    assert_error(response, 405, "method_not_allowed")
    assert "Gamma" not in group_names()


# join_group


@pytest.fixture
def gruene(contest: Contest) -> Group:
    return Group.objects.create(name="Grüne Gruppe", public=True)


def join_path(name: str) -> str:
    return f"/actions/join_group/{quote_plus(name)}/"


def test_join_path_is_encoded_as_the_seed_does(gruene: Group) -> None:
    assert join_path("Grüne Gruppe") == "/actions/join_group/Gr%C3%BCne+Gruppe/"


def test_join_group_with_space_and_umlaut(contest: Contest, gruene: Group) -> None:
    client = logged_in(contest.carol)
    response = client.post("/actions/join_group/Gr%C3%BCne+Gruppe/")
    body = ok_json(response)
    assert body["status"] == "ok" and body["group"]["name"] == "Grüne Gruppe"
    assert body["group"]["is_member"] is True
    assert member_of(contest.carol.pk) == "Grüne Gruppe"


def test_join_group_name_with_digits(contest: Contest) -> None:
    Group.objects.create(name="Grüne Gruppe 1")
    ok_json(logged_in(contest.carol).post(join_path("Grüne Gruppe 1")))
    assert member_of(contest.carol.pk) == "Grüne Gruppe 1"


def test_joining_moves_student_to_new_group(contest: Contest, gruene: Group) -> None:
    ok_json(logged_in(contest.alice).post(join_path("Grüne Gruppe")))
    assert member_of(contest.alice.pk) == "Grüne Gruppe"
    assert Membership.objects.filter(user=contest.alice).count() == 1


def test_joining_own_group_again_changes_nothing(contest: Contest) -> None:
    ok_json(logged_in(contest.alice).post(join_path("Alpha")))
    assert Membership.objects.filter(user=contest.alice).count() == 1


def test_private_group_needs_invite_code(contest: Contest) -> None:
    client = logged_in(contest.carol)
    # Answered as for a missing group (tests/test_private_groups.py compares the two).
    assert_error(client.post(join_path("Beta")), 404, "not_found")
    assert_error(client.post(join_path("Beta"), {"invite_code": "nope"}), 404, "not_found")
    assert member_of(contest.carol.pk) is None
    body = ok_json(client.post(join_path("Beta"), {"invite_code": contest.beta.invite_code}))
    assert body["group"]["name"] == "Beta"
    assert member_of(contest.carol.pk) == "Beta"


def test_private_group_invite_code_in_query(contest: Contest) -> None:
    client = logged_in(contest.carol)
    path = f"{join_path('Beta')}?invite_code={contest.beta.invite_code}"
    ok_json(client.post(path))
    assert member_of(contest.carol.pk) == "Beta"


def test_refused_join_keeps_old_group(contest: Contest) -> None:
    assert_error(logged_in(contest.alice).post(join_path("Beta")), 404, "not_found")
    assert member_of(contest.alice.pk) == "Alpha"


def test_organizer_joins_private_group_without_code(contest: Contest) -> None:
    ok_json(logged_in(contest.olga).post(join_path("Beta")))
    assert member_of(contest.olga.pk) == "Beta"


def test_join_unknown_group_is_404(contest: Contest) -> None:
    assert_error(logged_in(contest.carol).post(join_path("Nobody")), 404, "not_found")
    assert member_of(contest.carol.pk) is None


def test_plus_never_reaches_a_group_named_with_plus(contest: Contest) -> None:
    # Such a group cannot be made through the protocol; even if one existed, '+' reads as space.
    Group.objects.create(name="A B")
    ok_json(logged_in(contest.carol).post("/actions/join_group/A%2BB/"))
    assert member_of(contest.carol.pk) == "A B"


def test_anonymous_join_is_401(contest: Contest, gruene: Group) -> None:
    assert_error(logged_in(None).post(join_path("Grüne Gruppe")), 401, "not_authenticated")
    assert not gruene.members.exists()


# list_groups


LIST = "/actions/get_groups.json/"


@pytest.mark.parametrize("method", ["get", "post"])
def test_student_sees_public_and_own_groups(contest: Contest, method: str) -> None:
    Group.objects.create(name="Secret", public=False)
    Group.objects.create(name="Grüne Gruppe", public=True)
    body = ok_json(getattr(logged_in(contest.bob), method)(LIST))
    assert set(body) == {"Alpha", "Beta", "Grüne Gruppe"}
    assert body["Beta"]["is_member"] is True and body["Beta"]["members"] == ["bob"]
    assert body["Beta"]["invite_code"] == contest.beta.invite_code
    assert "invite_code" not in body["Alpha"]
    assert body["Alpha"]["members"] == ["alice"] and body["Alpha"]["is_member"] is False


def test_student_without_group_sees_only_public(contest: Contest) -> None:
    body = ok_json(logged_in(contest.carol).post(LIST))
    assert set(body) == {"Alpha"}
    assert all("invite_code" not in group for group in body.values())


def test_organizer_sees_every_group_with_codes(contest: Contest) -> None:
    Group.objects.create(name="Secret", public=False)
    body = ok_json(logged_in(contest.olga).post(LIST))
    assert set(body) == {"Alpha", "Beta", "Secret"}
    assert all(group["invite_code"] for group in body.values())


def test_anonymous_list_is_401(contest: Contest) -> None:
    assert_error(logged_in(None).post(LIST), 401, "not_authenticated")
