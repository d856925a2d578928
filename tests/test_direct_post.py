"""JSON posts skip requests' per-call preparation (``mlcontest.direct_post``) on plain HTTP
without a proxy, and behave as requests would: the session's headers and cookies go out,
cookies the server sets come back into the session, errors are typed, failures retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlcontest.client import API, Conflict, ConnectionFailed
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
    api = API(token="t", host=url, retries=retries, backoff=0.01, timeout=timeout)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a JSON post went through requests")

    api.session.request = refuse  # type: ignore[method-assign]
    return api


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
    assert api.direct.pool is not None and api.direct.pool.num_connections == 1  # kept alive


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


def test_a_refused_connection_is_retried_then_raised() -> None:
    api = token_client(f"http://127.0.0.1:{free_port()}", retries=2)
    with pytest.raises(ConnectionFailed, match="connection refused"):
        api.send_json(POST_PATH, {})


def test_a_read_timeout_is_retried_then_raised() -> None:
    stub = Stub([], delay=0.5)
    try:
        with pytest.raises(ConnectionFailed, match="timed out"):
            token_client(stub.url, retries=1, timeout=0.1).send_json(POST_PATH, {})
        assert len(stub.requests) == 2
    finally:
        stub.close()


def test_https_proxies_and_other_hosts_go_through_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    direct = API(token="k", host="http://contest.example:8000").direct
    assert direct.serves(f"http://contest.example:8000/{POST_PATH}")
    assert not direct.serves(f"http://elsewhere.example:8000/{POST_PATH}")
    assert not direct.serves(f"https://contest.example:8000/{POST_PATH}")
    assert not API(token="k", host="https://contest.example").direct.serves(
        f"https://contest.example/{POST_PATH}"
    )
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    proxied = API(token="k", host="http://contest.example:8000", retries=0)
    url = f"http://contest.example:8000/{POST_PATH}"
    assert not proxied.direct.serves(url) and not proxied.clone().direct.serves(url)
    sent: list[tuple[str, str, Any]] = []

    def capture(method: str, url: str, **options: Any) -> Any:
        sent.append((method, url, json.loads(options["data"])))
        raise ConnectionError("stop here")

    proxied.session.request = capture  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        proxied.send_json(POST_PATH, {"x": 1})
    assert sent == [("POST", f"http://contest.example:8000/{POST_PATH}", {"api": 1, "x": 1})]
