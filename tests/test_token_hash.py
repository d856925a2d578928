"""API tokens are stored as the sha256 of their key: the key is shown once (CLI, admin), a
request finds its token by the hash, and migration 0003 hashes the keys of existing tokens."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from mlcontest.contest.models import ApiToken, hash_token_key
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, ok_json


def test_the_database_holds_only_the_hash_and_a_prefix(contest: Contest) -> None:
    token, key = ApiToken.issue(contest.walter, "lab")
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(value) for value in stored.values()}
    assert stored["key_hash"] == hash_token_key(key) and len(stored["key_hash"]) == 64
    assert key.startswith(stored["prefix"]) and len(stored["prefix"]) == 8
    assert len(key) >= 43  # 256 random bits, URL-safe base64


def test_a_request_is_signed_in_by_the_key_and_refused_by_its_hash(contest: Contest) -> None:
    token, key = ApiToken.issue(contest.walter)
    body = ok_json(Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}"))
    assert body["username"] == "walter" and body["auth"] == "token"
    # Whoever reads the table cannot use what is in it.
    for stolen in (token.key_hash, token.prefix):
        response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {stolen}")
        assert_error(response, 401, "invalid_token")


def test_admin_shows_a_new_key_once(contest: Contest) -> None:
    client = contest.client(contest.olga)
    contest.olga.is_staff = contest.olga.is_superuser = True
    contest.olga.save()
    client.force_login(contest.olga)
    response = client.post(
        "/admin/contest/apitoken/add/", {"user": contest.walter.pk, "name": "box"}, follow=True
    )
    token = ApiToken.objects.get(user=contest.walter)
    shown = [str(message) for message in response.context["messages"]]
    key = next(m.split(": ")[-1] for m in shown if "shown only now" in m)
    assert token.name == "box" and token.key_hash == hash_token_key(key)
    assert key not in client.get(f"/admin/contest/apitoken/{token.pk}/change/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_migration_hashes_the_keys_of_existing_tokens() -> None:
    executor = MigrationExecutor(connection)
    before = executor.loader.get_migration("contest", "0003_token_hash").dependencies
    executor.migrate(before)
    old: Any = executor.loader.project_state(before).apps
    user = old.get_model("contest", "User").objects.create(username="w", role="worker")
    old.get_model("contest", "ApiToken").objects.create(user=user, key="old-plain-key-" * 3)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    token = ApiToken.objects.get()
    assert token.key_hash == hash_token_key("old-plain-key-" * 3) and token.prefix == "old-plai"
    body = ok_json(Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {'old-plain-key-' * 3}"))
    assert body["username"] == "w"
