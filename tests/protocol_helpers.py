"""What the seed-protocol tests share: the one error body, claiming through ``ping``, and row
snapshots that show a refused request changed nothing."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from django.db.models import Model
from django.test import Client

from mlcontest.contest.models import Job, User


def assert_error(
    response: Any, status: int, code: str | None = None, fields: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The response is the JSON error body of ``mlcontest.http.endpoints.error_response``, naming
    ``fields``; never a redirect to an HTML page."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"status", "code", "message", "fields"}, body
    assert body["status"] == "error"
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["code"] == code, body
    for field in fields:
        assert field in body["fields"], (field, body)
    return body


def ok_json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def logged_in(user: User | None, enforce_csrf_checks: bool = False) -> Client:
    """A client with its own session (a worker's session is its claim key)."""
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    if user is not None:
        client.force_login(user)
    return client


def csrf_token(client: Client) -> str:
    """What the seed's ``__init__`` does: read the token from ``env.json/``."""
    response = client.get("/env.json/")
    assert response.status_code == 200
    token = response.json()["csrftoken"]
    assert client.cookies["csrftoken"].value
    return str(token)


def ping(client: Client) -> int | None:
    """Claim a job through the seed's ``ping``; the job id or None."""
    response = client.post("/actions/ping/", {"api": "1"})
    assert response.status_code == 200, response.content
    answer = json.loads(response.content)
    assert answer is None or isinstance(answer, int)
    return answer


def row(instance: Model) -> dict[str, Any]:
    """Every column of ``instance`` as stored now."""
    return dict(type(instance)._default_manager.filter(pk=instance.pk).values().get())


def job_row(job: Job | int) -> dict[str, Any]:
    pk = job if isinstance(job, int) else job.pk
    return dict(Job.objects.filter(pk=pk).values().get())


def png_bytes(color: str = "red", size: tuple[int, int] = (4, 3)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(color: str = "blue") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (5, 5), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
