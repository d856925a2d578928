"""The seed's ``__init__``: ``env.json/`` hands out the CSRF token, then ``login`` POSTs the
form and expects a redirect to ``/ok.json``. CSRF is enforced here as in production."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.conftest import PASSWORD, Contest
from tests.protocol_helpers import assert_error, csrf_token, ok_json

LOGIN = "/accounts/login/?next=%2Fok.json"


def seed_login(client: Client, username: str, password: str, **extra: str) -> Any:
    token = csrf_token(client)
    fields = {"username": username, "password": password, "csrfmiddlewaretoken": token, "api": "1"}
    return client.post(LOGIN, {**fields, **extra})


def test_env_gives_token_and_cookie_to_anonymous(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    body = ok_json(client.get("/env.json/"))
    assert body["csrftoken"]
    assert body["authenticated"] is False and body["username"] is None
    assert client.cookies["csrftoken"].value


def test_env_accepts_post_with_token(contest: Contest) -> None:
    # After login the seed reloads env.json/ as a POST carrying the token.
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client)
    body = ok_json(client.post("/env.json/", {"csrfmiddlewaretoken": token, "api": "1"}))
    assert body["csrftoken"]


def test_post_without_csrf_token_is_refused_as_json(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    csrf_token(client)
    assert_error(client.post("/env.json/", {"api": "1"}), 403, "csrf_failed")


def test_login_redirects_to_ok_json(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    response = seed_login(client, "walter", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/ok.json"
    assert ok_json(client.get("/ok.json")) == {"status": "ok", "username": "walter"}
    assert client.session["_auth_user_id"] == str(contest.walter.pk)
    # The seed then reloads env.json/ with the token that the login rotated into the cookie.
    token = client.cookies["csrftoken"].value
    body = ok_json(client.post("/env.json/", {"csrfmiddlewaretoken": token, "api": "1"}))
    assert body["authenticated"] is True and body["username"] == "walter"


def test_login_follows_redirect_like_urllib(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    response = seed_login(client, "alice", PASSWORD)
    followed = client.get(response["Location"])
    assert ok_json(followed)["status"] == "ok"


def test_ok_json_accepts_post(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    seed_login(client, "alice", PASSWORD)
    token = client.cookies["csrftoken"].value
    assert ok_json(client.post("/ok.json", {"csrfmiddlewaretoken": token}))["status"] == "ok"


def test_wrong_password_is_not_ok(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    response = seed_login(client, "walter", "wrong")
    assert_error(response, 400, "login_failed", ("password",))
    assert "_auth_user_id" not in client.session
    assert_error(client.get("/ok.json"), 401, "not_authenticated")


def test_unknown_user_is_not_ok(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    assert_error(seed_login(client, "nobody", PASSWORD), 400, "login_failed")


def test_inactive_user_cannot_log_in(contest: Contest) -> None:
    contest.walter.is_active = False
    contest.walter.save()
    client = Client(enforce_csrf_checks=True)
    assert_error(seed_login(client, "walter", PASSWORD), 400, "login_failed")
    assert "_auth_user_id" not in client.session


def test_failed_browser_login_shows_the_form_not_ok(contest: Contest) -> None:
    # Without api=1 (a browser) the login page comes back, which the seed reads as "not ok".
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client)
    response = client.post(
        LOGIN, {"username": "walter", "password": "wrong", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "_auth_user_id" not in client.session


def test_login_without_csrf_token_is_refused(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    csrf_token(client)
    response = client.post(LOGIN, {"username": "walter", "password": PASSWORD, "api": "1"})
    assert_error(response, 403, "csrf_failed")
    assert "_auth_user_id" not in client.session


def test_login_ignores_a_foreign_next(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client)
    response = client.post(
        "/accounts/login/?next=https%3A%2F%2Fevil.example%2F",
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_old_token_after_login_is_refused(contest: Contest) -> None:
    # Why the seed reads the token from the cookie before every call: login rotates it.
    client = Client(enforce_csrf_checks=True)
    token_before = csrf_token(client)
    seed_login(client, "olga", PASSWORD)
    response = client.post(
        "/actions/add_group/", {"group_name": "Late", "csrfmiddlewaretoken": token_before}
    )
    assert_error(response, 403, "csrf_failed")
    token_after = client.cookies["csrftoken"].value
    response = client.post(
        "/actions/add_group/", {"group_name": "Late", "csrfmiddlewaretoken": token_after}
    )
    assert ok_json(response)["status"] == "ok"


def test_anonymous_action_gets_401_json_not_a_redirect(contest: Contest) -> None:
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client)
    response = client.post("/actions/get_groups.json/", {"csrfmiddlewaretoken": token, "api": 1})
    assert_error(response, 401, "not_authenticated")
