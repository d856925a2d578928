"""The generated OpenAPI document (django-ninja, from ``mlcontest.api.schemas``) and the docs
page: every route documented with its methods, request bodies and answers as components, the
one error body, and real answers of every operation valid against the document."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from django.test import Client
from django.urls import URLPattern

from mlcontest.api import openapi
from mlcontest.api.app import path_view_of
from mlcontest.api.urls import urlpatterns
from mlcontest.contest import courses, queue
from mlcontest.contest.models import Announcement, Course, Job, Round
from mlcontest.http.endpoints import error_response
from tests.conftest import Contest, submit
from tests.leaderboard_helpers import finish
from tests.protocol_helpers import logged_in, ok_json
from tests.test_uploads import csv_of, truthful

DOCUMENT = openapi.document()
PATHS: dict[str, Any] = DOCUMENT["paths"]
OPERATIONS = {(path, method.upper()) for path, item in PATHS.items() for method in item}


def routed() -> set[tuple[str, str]]:
    """(path as documented, method) for every operation the API's URLs serve."""
    served = set()
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = "/api/" + re.sub(r"<(?:int|id):(\w+)>", r"{\1}", str(pattern.pattern))
        if route in ("/api/openapi.json", "/api/docs/"):
            continue
        view = path_view_of(pattern.callback)
        served |= {(route, method) for operation in view.operations for method in operation.methods}
    return served


def test_every_route_and_method_is_documented_and_nothing_else() -> None:
    assert len(OPERATIONS) >= 38
    assert routed() == OPERATIONS


def test_the_document_is_served_without_signing_in(db: object) -> None:
    answer = Client().get("/api/openapi.json")
    spec = ok_json(answer)
    assert spec["openapi"].startswith("3.1") and spec == json.loads(json.dumps(DOCUMENT))


def test_every_reference_resolves() -> None:
    names = set(re.findall(r"#/components/schemas/(\w+)", json.dumps(DOCUMENT)))
    assert names and names <= set(DOCUMENT["components"]["schemas"])


def test_request_bodies_and_answers_are_components() -> None:
    bodies = 0
    for path, item in PATHS.items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is not None:
                bodies += 1
                assert "$ref" in body["content"]["application/json"]["schema"], (method, path)
            ok = next(code for code in operation["responses"] if code.startswith("2"))
            content = operation["responses"][ok]["content"]
            if "text/csv" not in content:
                schema = content["application/json"]["schema"]
                assert "$ref" in schema or schema.get("type") == "array", (method, path)
    assert bodies == 13


def test_every_operation_declares_the_error_body_for_401() -> None:
    for path, item in PATHS.items():
        for method, operation in item.items():
            answer = operation["responses"]["401"]
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_the_error_body_schema_is_the_one_error_response_makes() -> None:
    error = DOCUMENT["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"status", "code", "message", "fields"}
    made = json.loads(error_response(400, "invalid", "No.", {"name": "required"}).content)
    validate("Error", made)
    with pytest.raises(jsonschema_rs.ValidationError):
        validate("Error", {**made, "status": "ok"})


def test_the_leaderboard_documents_its_etag() -> None:
    operation = PATHS["/api/rounds/{round_id}/leaderboard/"]["get"]
    assert "304" in operation["responses"] and "ETag" in operation["responses"]["200"]["headers"]
    assert any(param["name"] == "If-None-Match" for param in operation["parameters"])


def test_the_docs_page_lists_every_operation_and_loads_nothing_from_outside(
    contest: Contest,
) -> None:
    answer = Client().get("/api/docs/")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/html")
    page = answer.content.decode()
    for path, item in PATHS.items():
        assert path in page
        for method in item:
            assert f'id="{method}-' in page
    assert "JobSubmission" in page and "RoundCreate" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "/api/openapi.json" in page


# Real answers against the document -------------------------------------------------------


def validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]}, validate_formats=False
    )


def validate(name: str, data: Any) -> None:
    validator({"$ref": f"#/components/schemas/{name}"}).validate(data)


class Checked:
    """Calls the API and validates each answer against the document: its status must be
    listed for the operation, its body fit that status's schema."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.answers = 0

    def call(self, client: Client, method: str, url: str, body: Any = None) -> Any:
        if body is None:
            response = client.generic(method, url)
        else:
            response = client.generic(method, url, json.dumps(body), "application/json")
        path, operation = self.operation(method, url)
        status = str(response.status_code)
        assert status in operation["responses"], (method, url, status, response.content[:300])
        content = operation["responses"][status].get("content", {})
        if "application/json" in content:
            data = json.loads(response.content)
            validator(content["application/json"]["schema"]).validate(data)
            self.answers += 1
        elif status == "200":
            assert response["Content-Type"].startswith("text/csv")
        self.seen.add((path, method))
        return response

    @staticmethod
    def operation(method: str, url: str) -> tuple[str, dict[str, Any]]:
        plain = url.split("?")[0]
        for path, item in PATHS.items():
            pattern = "^" + re.sub(r"\\{\w+\\}", r"[0-9]+", re.escape(path)) + "$"
            if re.match(pattern, plain) and method.lower() in item:
                return path, item[method.lower()]
        raise AssertionError(f"{method} {url} is not documented")


def test_real_answers_of_every_operation_fit_the_document(contest: Contest) -> None:
    check = Checked()
    alice, olga, walter = (
        logged_in(user) for user in (contest.alice, contest.olga, contest.walter)
    )
    round_ = f"/api/rounds/{contest.round.pk}"
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    finish(contest, submit(contest, contest.bob), test_wrong=1, validation_wrong=0)
    finish(contest, queue.submit_job(contest.olga, contest.round, "knn", {}, baseline=True))
    course = courses.create_course(contest.olga, "ML 1", "", None)
    courses.assign_round(contest.olga, contest.round, course)
    for client in (alice, olga, walter):
        for url in (
            "/api/",
            "/api/me/",
            "/api/algorithms/",
            "/api/groups/",
            f"/api/groups/{contest.alpha.pk}/",
            "/api/datasets/",
            f"/api/datasets/{contest.dataset.pk}/",
            f"/api/datasets/{contest.dataset.pk}/points/",
            "/api/rounds/",
            f"{round_}/",
            f"{round_}/jobs/",
            f"{round_}/final-choice/",
            f"{round_}/leaderboard/",
            f"{round_}/version/",
            f"{round_}/history/",
            f"{round_}/final/",  # 403 not_revealed for alice, a preview for olga
            f"{round_}/events/",  # 403 for alice
            f"{round_}/data/training.csv",
            f"{round_}/data/test-validation.csv",
            f"/api/jobs/{Job.objects.first().pk}/?labels=1",  # type: ignore[union-attr]
            "/api/announcements/",
            "/api/courses/",
            f"/api/courses/{course.pk}/",
            f"/api/courses/{course.pk}/standings/",
            f"/api/courses/{course.pk}/grades.csv",
        ):
            check.call(client, "GET", url)
    check.call(alice, "GET", "/api/rounds/999/")  # 404
    check.call(Client(), "GET", "/api/me/")  # 401
    check.call(alice, "POST", f"{round_}/jobs/", {"algorithm": "knn", "params": {}})
    check.call(alice, "POST", f"{round_}/jobs/", {"algorithm": 5})  # 400
    predictions = {"csv": csv_of(truthful(contest)).decode()}
    check.call(alice, "POST", f"{round_}/predictions/", predictions)  # 409: uploads are off
    check.call(olga, "PATCH", f"{round_}/", {"prediction_uploads": True})
    check.call(alice, "POST", f"{round_}/predictions/", {"csv": "id,label\n"})  # 400
    check.call(alice, "POST", f"{round_}/predictions/", predictions)
    check.call(alice, "POST", f"{round_}/final-choice/", {"job": None})
    check.call(olga, "POST", "/api/groups/", {"name": "Gamma", "public": False})
    check.call(logged_in(contest.carol), "POST", f"/api/groups/{contest.alpha.pk}/join/", {})
    check.call(olga, "POST", f"/api/groups/{contest.alpha.pk}/members/", {"username": "carol"})
    check.call(olga, "POST", "/api/announcements/", {"text": "5 minutes left", "minutes": 5})
    announcement = Announcement.objects.get()
    check.call(olga, "GET", "/api/announcements/?ended=1")
    check.call(olga, "POST", f"/api/announcements/{announcement.pk}/end/")
    new = {"name": "Round 2", "dataset": contest.dataset.pk, "metric": "accuracy"}
    second = check.call(olga, "POST", "/api/rounds/", new)
    second_url = f"/api/rounds/{json.loads(second.content)['id']}"
    check.call(olga, "PATCH", f"{second_url}/", {"description": "Second", "course": course.pk})
    check.call(olga, "POST", f"{second_url}/open/", {})
    check.call(olga, "POST", f"{round_}/close/")  # reveals
    check.call(olga, "POST", f"{round_}/reveal/", {"all": True})
    for url in (
        f"{round_}/final/",
        f"{round_}/leaderboard/",
        f"/api/courses/{course.pk}/standings/",
    ):
        check.call(alice, "GET", url)
        check.call(olga, "GET", url)
    check.call(olga, "POST", "/api/courses/", {"name": "ML 2", "points": "10, 5"})
    check.call(olga, "PATCH", f"/api/courses/{course.pk}/", {"points": [3, 2, 1]})
    assert Course.objects.count() == 2 and Round.objects.count() == 2
    assert check.seen == OPERATIONS, sorted(OPERATIONS - check.seen)
    assert check.answers > 80
