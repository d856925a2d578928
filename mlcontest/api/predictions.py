"""Bring your own predictions: ``POST /api/rounds/{id}/predictions/`` (``contest.uploads``).

The file comes as a multipart upload (field ``file``, as a browser or ``requests`` sends it),
as the text of a JSON body's ``csv`` field, or as a bare ``text/csv`` body: scripts pick what
their library makes easy, and every form reaches the same domain function.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from mlcontest.api.common import viewer
from mlcontest.api.schemas.common import Input, answers
from mlcontest.api.schemas.jobs import Job
from mlcontest.contest import quotas, results, rounds, uploads
from mlcontest.contest.errors import InvalidInput

router = Router(tags=["jobs"])

REQUIRED = "Send the predictions: a CSV file in the field file, or its text in the field csv."


class PredictionUpload(Input):
    """``{"csv": "id,label\\n17,a\\n..."}``: the file's text, for a JSON body."""

    invalid_message: ClassVar[str] = REQUIRED
    csv: str = Field(
        "",
        description="the CSV's text: a header id,label, then a row per test and validation point",
    )


# The other two ways to send the file, beside the JSON body ninja documents from the schema.
UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def uploaded_content(request: HttpRequest, text: str) -> tuple[bytes, str]:
    """The file's bytes and name, however the request carried them (``text``: the body's
    ``csv`` field, as the schema read it)."""
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is not None:
            return upload.read(), str(upload.name or "")
    elif request.content_type in ("text/csv", "text/plain"):
        return request.body, ""
    if not text:
        raise InvalidInput(REQUIRED, fields={"file": "required"})
    # A str from a form or JSON body: encoded back, so that the domain reads bytes alone.
    return text.encode("utf-8", "replace"), ""


@router.post(
    "/rounds/{id:round_id}/predictions/",
    response=answers(Job, 400, 403, 404, 409, 429, status=201),
    url_name="api_round_predictions",
    openapi_extra=UPLOAD_BODY,
)
def upload_predictions(request: HttpRequest, round_id: int, payload: PredictionUpload) -> Any:
    """Upload your group's predictions, made anywhere, as a job.

    Only in rounds with `prediction_uploads`, while they are open. The CSV has a header
    `id,label` and one row per test and validation point (the ids of
    `GET /api/rounds/{id}/data/test-validation.csv`); commas or semicolons. The server scores it
    like any job (the same job quota, a validation score hidden until the reveal) and answers
    with the finished job, plus what the group has left (`quota`). A file that does not fit
    (a wrong, missing or repeated id, an unknown class, too many rows, not UTF-8) is a 400
    naming the rows, and stores nothing."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    content, filename = uploaded_content(request, payload.csv)
    job = uploads.upload_predictions(user, round_, content, filename)
    described = results.describe_job(job, user, group=job.group)
    described["quota"] = quotas.quota_left(round_, job.group)
    return Status(201, described)
