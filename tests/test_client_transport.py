"""The client's one transport (``mlcontest.client.transport``): requests with urllib3's
``Retry`` below it. JSON posts carry the session's headers and cookies, cookies the server
sets come back into the session, errors are typed, and what is retried is what docs/worker.md
says: connection errors and 5xx answers, a call that is not idempotent only when it surely did
not reach the server, a 429 never."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from urllib3.connection import HTTPConnection

from mlcontest.client import API, Conflict, ConnectionFailed, QuotaExceeded, ServerFailure
from mlcontest.client.transport import RetryingAdapter
from tests.http_stub import Stub
from tests.live import free_port

pytestmark = pytest.mark.live  # a stub server in a thread

POST_PATH = "actions/update_job_details/7.json/"


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub([])
    yield server
    server.close()


def token_client(url: str, retries: int = 3, timeout: float = 30.0) -> API:
    return API(token="t", host=url, retries=retries, backoff=0.01, timeout=timeout)


def test_a_json_post_carries_the_sessions_headers_and_cookies(stub: Stub) -> None:
    api = token_client(stub.url)
    api.session.cookies.set("sessionid", "abc", domain="127.0.0.1", path="/")
    assert api.send_json(POST_PATH, {"success": True}) == {"ok": True}
    assert api.send_json(POST_PATH, {"success": False}) == {"ok": True}
    assert stub.requests == [f"POST /{POST_PATH}"] * 2
    sent = stub.headers[0]
    assert sent["Authorization"] == "Token t"
    assert sent["Content-Type"] == "application/json"
    assert sent["Cookie"] == "sessionid=abc"
    assert sent["User-Agent"].startswith("python-requests/")
    assert [json.loads(body) for body in stub.bodies] == [
        {"api": 1, "success": True},
        {"api": 1, "success": False},
    ]
    adapter = api.session.get_adapter(stub.url)
    assert isinstance(adapter, RetryingAdapter)
    assert [pool.num_connections for pool in adapter.poolmanager.pools._container.values()] == [1]


def test_a_cookie_the_server_sets_is_kept_and_sent_back() -> None:
    stub = Stub([], set_cookie="csrftoken=fresh; Path=/")
    try:
        api = token_client(stub.url)
        api.send_json(POST_PATH, {})
        assert api.session.cookies.get("csrftoken") == "fresh"
        api.send_json(POST_PATH, {})
        assert stub.headers[1]["Cookie"] == "csrftoken=fresh"
        assert stub.headers[1]["X-CSRFToken"] == "fresh"
    finally:
        stub.close()


def test_errors_are_typed_and_5xx_answers_retried() -> None:
    stub = Stub([503, 409])
    try:
        with pytest.raises(Conflict) as refused:
            token_client(stub.url).send_json(POST_PATH, {})
        assert refused.value.code == "boom" and refused.value.status == 409
        assert len(stub.requests) == 2
    finally:
        stub.close()


def test_429_is_not_retried_and_the_last_5xx_is_raised() -> None:
    stub = Stub([429, 502, 503, 504])
    try:
        with pytest.raises(QuotaExceeded):
            token_client(stub.url).load("actions/ping/")
        assert len(stub.requests) == 1
        with pytest.raises(ServerFailure) as failed:
            token_client(stub.url, retries=2).load("actions/ping/")
        assert failed.value.status == 504 and len(stub.requests) == 4
    finally:
        stub.close()


def test_a_refused_connection_is_retried_then_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []
    original = HTTPConnection._new_conn

    def counting(connection: HTTPConnection) -> Any:
        attempts.append(connection.port)
        return original(connection)

    monkeypatch.setattr(HTTPConnection, "_new_conn", counting)
    api = token_client(f"http://127.0.0.1:{free_port()}", retries=2)
    with pytest.raises(ConnectionFailed, match="connection refused"):
        api.send_json(POST_PATH, {})
    assert len(attempts) == 3
    attempts.clear()
    with pytest.raises(ConnectionFailed, match="connection refused"):
        api.submit_job(1, "knn")  # not idempotent, but it never reached the server
    assert len(attempts) == 3


def test_a_read_timeout_is_retried_then_raised() -> None:
    stub = Stub([], delay=0.5)
    try:
        with pytest.raises(ConnectionFailed, match="timed out"):
            token_client(stub.url, retries=1, timeout=0.1).send_json(POST_PATH, {})
        assert len(stub.requests) == 2
    finally:
        stub.close()


def test_a_submission_that_may_have_arrived_is_not_sent_again() -> None:
    stub = Stub([], delay=0.5)
    try:
        with pytest.raises(ConnectionFailed, match="timed out"):
            token_client(stub.url, retries=3, timeout=0.1).submit_job(1, "knn")
        assert stub.requests == ["POST /api/rounds/1/jobs/"]
    finally:
        stub.close()


def test_proxies_and_https_go_through_the_same_session(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    secure = API(token="k", host="https://contest.example")
    assert isinstance(secure.session.get_adapter("https://contest.example/"), RetryingAdapter)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    proxied = API(token="k", host="http://contest.example:8000", retries=0)
    assert proxied.session.proxies == proxied.clone().session.proxies != {}
    sent: list[tuple[str, str, Any]] = []

    def capture(method: str, url: str, **options: Any) -> Any:
        sent.append((method, url, json.loads(options["data"])))
        raise ConnectionError("stop here")

    proxied.session.request = capture  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        proxied.send_json(POST_PATH, {"x": 1})
    assert sent == [("POST", f"http://contest.example:8000/{POST_PATH}", {"api": 1, "x": 1})]
