"""The API's other resources: who am I, groups (list, create, join, add a member), datasets
(visibility and hidden labels), and the index."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from mlcontest.contest import rounds
from mlcontest.contest.models import Group, Membership
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, logged_in, ok_json


def post(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def test_me(contest: Contest) -> None:
    body = ok_json(logged_in(contest.alice).get("/api/me/"))
    assert (body["username"], body["role"], body["is_organizer"]) == ("alice", "student", False)
    assert body["group"]["name"] == "Alpha" and body["auth"] == "session"
    assert ok_json(logged_in(contest.carol).get("/api/me/"))["group"] is None
    assert ok_json(logged_in(contest.olga).get("/api/me/"))["is_organizer"] is True


def test_the_index_links_the_docs(contest: Contest) -> None:
    body = ok_json(logged_in(contest.alice).get("/api/"))
    assert body["openapi"] == "/api/openapi.json" and body["docs"] == "/api/docs/"


def test_groups_a_student_sees_public_ones_and_their_own(contest: Contest) -> None:
    names = [
        group["name"] for group in ok_json(logged_in(contest.carol).get("/api/groups/"))["groups"]
    ]
    assert names == ["Alpha"]  # Beta is private
    bobs = ok_json(logged_in(contest.bob).get("/api/groups/"))["groups"]
    beta = next(group for group in bobs if group["name"] == "Beta")
    assert beta["invite_code"] == contest.beta.invite_code
    assert_error(logged_in(contest.carol).get(f"/api/groups/{contest.beta.pk}/"), 404)


def test_an_organizer_creates_a_group_and_a_student_cannot(contest: Contest) -> None:
    answer = ok_json(
        post(logged_in(contest.olga), "/api/groups/", {"name": "Delta", "public": False}), 201
    )
    assert answer["name"] == "Delta" and answer["public"] is False
    assert Group.objects.filter(name="Delta", public=False).exists()
    assert_error(post(logged_in(contest.alice), "/api/groups/", {"name": "Mine"}), 403)
    assert_error(post(logged_in(contest.olga), "/api/groups/", {"name": "A+B"}), 400,
                 fields=("group_name",))  # fmt: skip
    assert_error(post(logged_in(contest.olga), "/api/groups/", {"name": "Alpha"}), 409)
    assert not Group.objects.filter(name__in=["Mine", "A+B"]).exists()


def test_joining_a_private_group_needs_its_code(contest: Contest) -> None:
    path = f"/api/groups/{contest.beta.pk}/join/"
    assert_error(post(logged_in(contest.carol), path, {}), 404, "not_found")  # as if missing
    assert not Membership.objects.filter(user=contest.carol).exists()
    body = ok_json(post(logged_in(contest.carol), path, {"invite_code": contest.beta.invite_code}))
    assert body["is_member"] is True and "carol" in body["members"]
    assert Membership.objects.get(user=contest.carol).group == contest.beta


def test_an_organizer_adds_a_member(contest: Contest) -> None:
    path = f"/api/groups/{contest.beta.pk}/members/"
    ok_json(post(logged_in(contest.olga), path, {"username": "carol"}))
    assert Membership.objects.get(user=contest.carol).group == contest.beta
    assert_error(post(logged_in(contest.olga), path, {"username": "nobody"}), 400,
                 fields=("username",))  # fmt: skip
    assert_error(post(logged_in(contest.alice), path, {"username": "alice"}), 403)
    assert Membership.objects.get(user=contest.alice).group == contest.alpha


def test_datasets_and_hidden_labels(contest: Contest) -> None:
    body = ok_json(logged_in(contest.alice).get("/api/datasets/"))
    assert [dataset["name"] for dataset in body["datasets"]] == ["tiny"]
    described = body["datasets"][0]
    assert described["points_url"] == f"/api/datasets/{contest.dataset.pk}/points/"
    assert described["splits"] == {"training": 12, "test": 4, "validation": 4}
    points = ok_json(logged_in(contest.alice).get(described["points_url"]))
    assert {point["label"] is None for point in points if point["split"] != "training"} == {True}
    worker_points = ok_json(logged_in(contest.walter).get(described["points_url"]))
    assert worker_points == points  # workers fit on training labels only
    organizer_points = ok_json(logged_in(contest.olga).get(described["points_url"]))
    assert len(organizer_points) == 20
    assert all(point["label"] in ("a", "b") for point in organizer_points)


def test_a_dataset_of_a_draft_only_is_hidden_from_students(contest: Contest) -> None:
    from mlcontest.contest import datasets
    from tests.conftest import tiny_table

    hidden = datasets.store_dataset("secret", tiny_table(seed=3))
    rounds.create_round(contest.olga, name="Soon", dataset=hidden, metric="accuracy")
    assert_error(logged_in(contest.alice).get(f"/api/datasets/{hidden.pk}/"), 404)
    assert ok_json(logged_in(contest.olga).get(f"/api/datasets/{hidden.pk}/"))["name"] == "secret"
