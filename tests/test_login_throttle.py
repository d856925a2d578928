"""Login throttling: a name is locked out after a few failed sign-ins (the right password
too is refused then), an address only after many, so that one locked name does not lock out the
class behind the same NAT. Counts live in the database; time moves by a patched
``timezone.now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from mlcontest.contest import login_throttle
from mlcontest.contest.models import LoginAttempt
from tests.conftest import PASSWORD, Contest
from tests.protocol_helpers import assert_error, csrf_token

LOGIN = "/accounts/login/?next=%2Fok.json"
ROOM = "192.0.2.10"  # the class's NAT address


def seed_login(username: str, password: str, address: str = ROOM) -> Any:
    """As the seed's client signs in: a fresh session, the CSRF token, ``api=1``."""
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    fields = {
        "username": username,
        "password": password,
        "csrfmiddlewaretoken": csrf_token(client),
        "api": "1",
    }
    return client.post(LOGIN, fields)


def signed_in(response: Any) -> bool:
    # Only a successful sign-in redirects to ``next``; a refusal is a JSON error body.
    return response.status_code == 302 and response["Location"] == "/ok.json"


def lock_out(username: str, attempts: int, address: str = ROOM) -> list[int]:
    return [seed_login(username, "wrong", address).status_code for _ in range(attempts)]


def move_time(monkeypatch: pytest.MonkeyPatch, seconds: float) -> datetime:
    later = timezone.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(timezone, "now", lambda: later)
    return later


def test_after_too_many_wrong_passwords_the_right_one_is_refused(contest: Contest) -> None:
    limit = settings.LOGIN_FAILURES_PER_NAME
    statuses = lock_out("alice", 30)
    assert statuses == [400] * limit + [429] * (30 - limit)

    response = seed_login("alice", PASSWORD)
    body = assert_error(response, 429, "login_throttled", ("username",))
    assert "this user name" in body["message"]
    assert 0 < int(response["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert not signed_in(response)
    # Refused attempts checked no password: only the real failures are counted.
    assert LoginAttempt.objects.filter(username="alice").count() == limit


def test_another_user_of_the_same_address_still_signs_in(contest: Contest) -> None:
    lock_out("alice", 30)
    response = seed_login("bob", PASSWORD)
    assert signed_in(response)
    assert LoginAttempt.objects.filter(username="bob").count() == 0


def test_the_lock_out_ends_after_the_window(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock_out("alice", settings.LOGIN_FAILURES_PER_NAME)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    first_wait = int(assert_error_429(seed_login("alice", PASSWORD))["Retry-After"])

    move_time(monkeypatch, window / 2)
    later_wait = int(assert_error_429(seed_login("alice", PASSWORD))["Retry-After"])
    assert later_wait <= first_wait - window / 2 + 1

    move_time(monkeypatch, window + 1)
    assert signed_in(seed_login("alice", PASSWORD))
    assert not LoginAttempt.objects.filter(username="alice").exists()


def assert_error_429(response: Any) -> Any:
    assert_error(response, 429, "login_throttled")
    return response


def test_a_success_resets_only_its_own_name(contest: Contest) -> None:
    limit = settings.LOGIN_FAILURES_PER_NAME
    lock_out("alice", limit - 1)
    lock_out("bob", 3)
    assert signed_in(seed_login("bob", PASSWORD))
    assert LoginAttempt.objects.filter(username="bob").count() == 0
    assert LoginAttempt.objects.filter(username="alice").count() == limit - 1
    assert lock_out("alice", 2) == [400, 429]


def test_an_address_is_locked_out_after_many_names(
    contest: Contest, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.LOGIN_FAILURES_PER_ADDRESS >= 10 * settings.LOGIN_FAILURES_PER_NAME
    settings.LOGIN_FAILURES_PER_ADDRESS = 12
    # One guess at each of many names stays under every name's limit, not the address's.
    statuses = [seed_login(f"name{i}", "guess").status_code for i in range(12)]
    assert statuses == [400] * 12
    body = assert_error(seed_login("bob", PASSWORD), 429, "login_throttled")
    assert "network address" in body["message"]
    assert signed_in(seed_login("bob", PASSWORD, address="198.51.100.7"))
    move_time(monkeypatch, settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    assert signed_in(seed_login("bob", PASSWORD))


def test_the_web_login_page_shows_the_lock_out_as_a_form_error(contest: Contest) -> None:
    lock_out("alice", settings.LOGIN_FAILURES_PER_NAME)
    client = Client(REMOTE_ADDR=ROOM)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and response["Retry-After"]
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Too many failed sign-ins for this user name" in page and "<form" in page
    assert "_auth_user_id" not in client.session


def test_the_admin_login_counts_against_the_same_limit(contest: Contest) -> None:
    contest.olga.is_staff = True
    contest.olga.save()
    lock_out("olga", settings.LOGIN_FAILURES_PER_NAME)
    client = Client(REMOTE_ADDR=ROOM)
    response = client.post("/admin/login/?next=/admin/", {"username": "olga", "password": PASSWORD})
    assert response.status_code == 200  # the admin's own form page, with the error
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # And failures there count for the seed's sign-in too.
    client.post("/admin/login/", {"username": "carol", "password": "wrong"})
    assert LoginAttempt.objects.filter(username="carol").count() == 1


def test_attempts_under_way_count_so_parallel_guesses_cannot_slip_in(contest: Contest) -> None:
    # Each attempt is counted before its password is checked: attempts that have not finished
    # yet already hold their places under the limit.
    limit = settings.LOGIN_FAILURES_PER_NAME
    for _ in range(limit):
        login_throttle.begin("alice", ROOM)
    with pytest.raises(login_throttle.LoginThrottled) as refused:
        login_throttle.begin("alice", ROOM)
    assert refused.value.by == "name" and refused.value.retry_after > 0
    assert LoginAttempt.objects.filter(username="alice").count() == limit


def test_an_organizer_lifts_a_lock_out_by_deleting_the_rows(contest: Contest) -> None:
    lock_out("alice", settings.LOGIN_FAILURES_PER_NAME)
    assert seed_login("alice", PASSWORD).status_code == 429
    LoginAttempt.objects.filter(username="alice").delete()  # what the admin's delete does
    assert signed_in(seed_login("alice", PASSWORD))
