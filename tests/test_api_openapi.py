"""The OpenAPI document and the browsable docs: every route documented, every documented path
routed, the same error body declared, and a page that needs no internet."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import URLPattern

from mlcontest.api import openapi
from mlcontest.api.urls import urlpatterns
from tests.conftest import Contest
from tests.protocol_helpers import logged_in, ok_json


def routed_paths() -> set[str]:
    paths = set()
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = re.sub(r"<(?:int|id):(\w+)>", r"{\1}", str(pattern.pattern))
        paths.add(f"/api/{route}")
    return paths - {"/api/openapi.json", "/api/docs/"}


def test_every_route_is_documented_and_every_documented_path_routed() -> None:
    assert set(openapi.PATHS) == routed_paths()


def test_the_document_is_served_without_signing_in(db: object) -> None:
    answer = Client().get("/api/openapi.json")
    spec = ok_json(answer)
    assert spec["openapi"].startswith("3.1") and spec["paths"] == openapi.document()["paths"]
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {
        "status",
        "code",
        "message",
        "fields",
    }


def test_every_reference_resolves() -> None:
    text = str(openapi.document())
    names = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert names and names <= set(openapi.SCHEMAS)


def test_every_operation_declares_the_error_body_for_401() -> None:
    for path, item in openapi.PATHS.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "401" in operation["responses"], (method, path)
            assert "Error" in str(operation["responses"]["401"]), (method, path)


def test_the_leaderboard_documents_its_etag() -> None:
    operation = openapi.PATHS["/api/rounds/{round_id}/leaderboard/"]["get"]
    assert "304" in operation["responses"]
    assert any(param["name"] == "If-None-Match" for param in operation["parameters"])


def test_the_docs_page_lists_every_operation_and_loads_nothing_from_outside(
    contest: Contest,
) -> None:
    answer = Client().get("/api/docs/")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/html")
    page = answer.content.decode()
    for path, item in openapi.PATHS.items():
        assert path in page
        for method in item:
            if method != "parameters":
                assert f'id="{method}-' in page
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "/api/openapi.json" in page
    # The page's "try it" uses the same session as the rest of the site.
    assert ok_json(logged_in(contest.alice).get("/api/me/"))["username"] == "alice"
