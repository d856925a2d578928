"""A corpus of malformed and hostile requests: each gets a 4xx, never a 500 or a hang.

Over the seed protocol, the JSON API and the web forms (the cases: tests/hostile_cases.py): NUL
characters and lone surrogates in paths, query strings, form fields and JSON bodies; 400-digit
integers and 100,000-deep JSON in results; round settings that overflow; ids of 2^63 and more
in every URL with an id; GET on state-changing seed calls; bodies too large or chunked;
unmatched paths. Each case checks the status, the one JSON error body
(``mlcontest.http.endpoints.error_response``) where JSON is spoken, and that the contest's
tables are as they were. Run it on PostgreSQL too:
``DATABASE_URL=postgres://... pytest tests/test_hostile_corpus.py``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.db import DataError
from django.test import Client

from mlcontest.contest.models import Group, Job, Membership, Round, RoundEntry, User
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.hostile_cases import CASES, JSON_PREFIXES, Case
from tests.protocol_helpers import assert_error, logged_in, ping


def test_the_corpus_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 150
    assert len({case.name for case in CASES}) == len(CASES)


def snapshot() -> dict[str, Any]:
    """Row counts of every contest table, and the rows a refused request might touch."""
    counts = {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("contest").get_models()
    }
    rows = {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in (Round, Job, Group, Membership, RoundEntry)
    }
    return {"counts": counts, "rows": rows}


@pytest.fixture
def clients(contest: Contest) -> dict[str | None, Client]:
    """A client per user; walter's holds a running job (so a result wrongly accepted would be
    stored) and another job waits in the queue (so a GET ping that claimed would show)."""
    job = submit(contest, contest.alice)
    made: dict[str | None, Client] = {
        name: logged_in(getattr(contest, name)) for name in ("alice", "carol", "olga")
    }
    made["walter"] = logged_in(contest.walter)
    assert ping(made["walter"]) == job.pk
    submit(contest, contest.bob)
    made[None] = Client()
    return made


def _encode(value: Any, encoding: str) -> Any:
    if encoding == "json" or value is None:
        return value
    return value if isinstance(value, str) else json.dumps(value)


def build(case: Case, contest: Contest, job: Job) -> tuple[str, bytes, str]:
    ids = {
        "round": contest.round.pk,
        "job": job.pk,
        "dataset": contest.dataset.pk,
        "group": contest.beta.pk,
    }
    path = case.path.format(**ids)
    if case.result is not None:
        labels = true_labels(contest.dataset)
        if case.result_as == "json":
            fields: dict[str, Any] = {
                **{f"labels_{s}": v for s, v in labels.items()},
                "success": True,
                "message": None,
            }
        else:
            fields = result_fields(labels)
        for name, value in case.result.items():
            if value is ...:
                fields.pop(name, None)
            else:
                fields[name] = _encode(value, case.result_as)
        if case.result_as == "json":
            return path, json.dumps(fields).encode(), "application/json"
        return path, urlencode(fields).encode(), "application/x-www-form-urlencoded"
    if case.form is not None:
        form = {key: value.format(**ids) for key, value in case.form.items()}
        return path, urlencode(form).encode(), "application/x-www-form-urlencoded"
    if case.body is not None:
        text = case.body.replace("{dataset}", str(ids["dataset"]))
        return path, text.encode("utf-8", "surrogatepass"), case.content_type
    return path, b"", "application/octet-stream"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request_is_refused(
    case: Case, contest: Contest, clients: dict[str | None, Client], settings: Any
) -> None:
    if case.max_body is not None:
        settings.MAX_BODY_BYTES = case.max_body
    job = Job.objects.filter(state="running").get()
    path, data, content_type = build(case, contest, job)
    before = snapshot()
    meta: dict[str, Any] = dict(case.meta)
    response = clients[case.who].generic(
        case.method, quote(path, safe="/?=&%+:"), data, content_type=content_type, **meta
    )
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert response.status_code in expected, (response.status_code, response.content[:300])
    assert 400 <= response.status_code < 500
    plain_path = path.split("?")[0]
    if plain_path.startswith(JSON_PREFIXES) or "HTTP_AUTHORIZATION" in case.meta:
        assert_error(response, response.status_code)
    assert snapshot() == before


def test_a_server_error_on_a_json_path_is_the_json_body(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr("mlcontest.api.views.groups.group_of", fail)
    client = Client(raise_request_exception=False)
    client.force_login(contest.alice)
    assert_error(client.get("/api/me/"), 500, "server_error")


def test_a_server_error_on_a_page_is_html(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr("mlcontest.web.views.groups.group_of", fail)
    client = Client(raise_request_exception=False)
    client.force_login(contest.alice)
    response = client.get("/groups/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_a_database_data_error_is_a_400(contest: Contest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net behind the checks: a value the database refuses is the client's error."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise DataError("value out of range")

    monkeypatch.setattr("mlcontest.api.views.groups.group_of", fail)
    assert_error(logged_in(contest.alice).get("/api/me/"), 400, "invalid")


def test_a_too_large_form_on_a_page_is_refused_in_text(contest: Contest, settings: Any) -> None:
    settings.MAX_BODY_BYTES = 100
    response = logged_in(contest.olga).post("/manage/rounds/new/", {"name": "x" * 500})
    assert response.status_code == 413 and response["Content-Type"].startswith("text/plain")
    assert not Round.objects.exclude(pk=contest.round.pk).exists()


def test_a_missing_page_is_html(contest: Contest) -> None:
    response = logged_in(contest.alice).get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_nothing_of_a_user_is_lost_by_the_corpus_fixture(clients: dict[str | None, Client]) -> None:
    # The fixture's own state, so that a broken fixture cannot make every case pass.
    assert Job.objects.filter(state="running").count() == 1
    assert Job.objects.filter(state="queued").count() == 1
    assert User.objects.count() == 5
