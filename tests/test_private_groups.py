"""A private group is indistinguishable from a missing one to an outsider: joining it without
(or with a wrong) invite code answers exactly as joining a group that does not exist, through
the seed protocol, the JSON API and the web; no listing shows its name to someone not in it.
Its members and organizers see it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.test import Client
from django.urls import reverse

from mlcontest.contest.models import Membership
from tests.conftest import Contest
from tests.protocol_helpers import logged_in, ok_json

MISSING = "Gamma"  # no such group; Beta is private, carol is in no group


def same_answer(private: Any, missing: Any, private_typed: str, missing_typed: str) -> None:
    """The same status, headers that matter and body, but for the name or id as typed."""
    assert private.status_code == missing.status_code
    assert private["Content-Type"] == missing["Content-Type"]
    assert private.get("Location") == missing.get("Location")
    expected = missing.content.decode().replace(missing_typed, private_typed)
    assert private.content.decode() == expected


def seed_join(client: Client, name: str, fields: dict[str, str]) -> Any:
    return client.post(f"/actions/join_group/{quote_plus(name)}/", fields)


@pytest.mark.parametrize("fields", [{}, {"invite_code": "nope"}, {"invite_code": ""}])
def test_seed_join_of_a_private_group_answers_as_a_missing_one(
    contest: Contest, fields: dict[str, str]
) -> None:
    carol = logged_in(contest.carol)
    private = seed_join(carol, "Beta", fields)
    missing = seed_join(carol, MISSING, fields)
    same_answer(private, missing, "Beta", MISSING)
    body = json.loads(private.content)
    assert (private.status_code, body["code"], body["message"]) == (
        404,
        "not_found",
        "No group named 'Beta'.",
    )
    assert not Membership.objects.filter(user=contest.carol).exists()


@pytest.mark.parametrize("body", [{}, {"invite_code": "nope"}])
def test_api_join_of_a_private_group_answers_as_a_missing_one(
    contest: Contest, body: dict[str, str]
) -> None:
    carol = logged_in(contest.carol)
    missing_id = contest.beta.pk + 1000

    def join(group_id: int) -> Any:
        path = f"/api/groups/{group_id}/join/"
        return carol.post(path, json.dumps(body), content_type="application/json")

    same_answer(join(contest.beta.pk), join(missing_id), str(contest.beta.pk), str(missing_id))
    assert join(contest.beta.pk).status_code == 404
    detail = carol.get(f"/api/groups/{contest.beta.pk}/")
    same_answer(
        detail, carol.get(f"/api/groups/{missing_id}/"), str(contest.beta.pk), str(missing_id)
    )
    assert not Membership.objects.filter(user=contest.carol).exists()


def test_web_join_of_a_private_group_answers_as_a_missing_one(contest: Contest) -> None:
    carol = contest.client(contest.carol)

    def join(name: str) -> tuple[Any, list[str]]:
        fields = {"code-group_name": name, "code-invite_code": "nope"}
        response = carol.post(reverse("web:group_join"), fields)
        page = carol.get(response["Location"])
        return response, [str(message) for message in page.context["messages"]]

    private, private_messages = join("Beta")
    missing, missing_messages = join(MISSING)
    same_answer(private, missing, "Beta", MISSING)
    assert private_messages == ["No group named 'Beta'."]
    assert missing_messages == ["No group named 'Gamma'."]
    # The group's own page: the same 404 as an id that does not exist.
    page = carol.get(reverse("web:group", args=[contest.beta.pk]))
    assert page.status_code == carol.get(reverse("web:group", args=[10_000])).status_code == 404
    assert not Membership.objects.filter(user=contest.carol).exists()


def test_naming_a_private_group_as_a_students_final_choice_tells_nothing(
    contest: Contest,
) -> None:
    alice = logged_in(contest.alice)
    path = f"/api/rounds/{contest.round.pk}/final-choice/"

    def choose(name: str) -> Any:
        body = {"job": None, "group": name}
        return alice.post(path, json.dumps(body), content_type="application/json")

    same_answer(choose("Beta"), choose(MISSING), "Beta", MISSING)


def test_the_right_code_and_membership_still_open_a_private_group(contest: Contest) -> None:
    ok_json(seed_join(logged_in(contest.bob), "Beta", {}))  # a member needs no code
    body = ok_json(
        seed_join(logged_in(contest.carol), "Beta", {"invite_code": contest.beta.invite_code})
    )
    assert body["group"]["name"] == "Beta"
    assert Membership.objects.get(user=contest.carol).group == contest.beta


def listed_names(contest: Contest, who: str) -> list[set[str]]:
    user = getattr(contest, who)
    client = logged_in(user)
    seed = set(ok_json(client.post("/actions/get_groups.json/")))
    api = {group["name"] for group in ok_json(client.get("/api/groups/"))["groups"]}
    page = contest.client(user).get(reverse("web:groups")).content.decode()
    web = {name for name in ("Alpha", "Beta") if f">{name}<" in page}
    return [seed, api, web]


@pytest.mark.parametrize(
    ("who", "sees_beta"),
    [("carol", False), ("alice", False), ("walter", False), ("bob", True), ("olga", True)],
)
def test_no_listing_shows_a_private_group_to_outsiders(
    contest: Contest, who: str, sees_beta: bool
) -> None:
    for names in listed_names(contest, who):
        assert ("Beta" in names) is sees_beta, (who, names)
        assert "Alpha" in names
