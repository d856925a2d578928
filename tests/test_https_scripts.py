"""Over HTTPS, Django's CSRF check also wants a same-site Referer, which the seed's urllib
client never sends; a script's POST (no Origin, no Referer) must still pass on the token,
while a browser's cross-site POST (with its Origin) must not."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD, Contest


def signed_in_over_https(contest: Contest) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    token = client.get("/env.json/", secure=True).json()["csrftoken"]
    answer = client.post(
        "/accounts/login/?next=%2Fok.json",
        {"username": contest.olga.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        secure=True,
    )
    assert answer.status_code == 302, answer.content
    return client, client.cookies["csrftoken"].value


@pytest.mark.django_db
def test_a_script_without_referer_passes_over_https(contest: Contest) -> None:
    client, token = signed_in_over_https(contest)
    answer = client.post(
        "/actions/add_group/",
        {"group_name": "Gamma", "public": "True", "csrfmiddlewaretoken": token, "api": 1},
        secure=True,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["group"]["name"] == "Gamma"


@pytest.mark.django_db
def test_a_scripts_json_body_with_the_token_header_passes_over_https(contest: Contest) -> None:
    """Our client's JSON posts (results, the JSON API) carry the token in X-CSRFToken."""
    client, token = signed_in_over_https(contest)
    answer = client.post(
        "/api/groups/",
        json.dumps({"name": "Delta", "public": True}),
        content_type="application/json",
        secure=True,
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["name"] == "Delta"


@pytest.mark.django_db
def test_a_cross_site_browser_post_is_still_refused(contest: Contest) -> None:
    client, token = signed_in_over_https(contest)
    answer = client.post(
        "/actions/add_group/",
        {"group_name": "Gamma", "public": "True", "csrfmiddlewaretoken": token, "api": 1},
        secure=True,
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "csrf_failed"
    from mlcontest.contest.models import Group

    assert not Group.objects.filter(name="Gamma").exists()
