"""Field types shared by the resources' schemas, and the error body.

The readers of ``mlcontest.api.common.Body`` decide what a field accepts (a whole number may
come as ``"5"`` or ``5.0``; a flag as ``"yes"``) and word each refusal; the types here run them
before pydantic's own check, so the 400's ``fields`` read as they always did.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from ninja import Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from mlcontest.api.common import Body


def _reading(reader: str, *args: Any) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        body = Body({"value": value})
        result = getattr(body, reader)("value", *args)
        if body.errors:
            raise PydanticCustomError("invalid", body.errors["value"])
        return result

    return read


# Strings of at most so many characters; null reads as "".
Text = Annotated[str, BeforeValidator(_reading("text", "", 10_000)), Field(max_length=10_000)]
Text16 = Annotated[str, BeforeValidator(_reading("text", "", 16)), Field(max_length=16)]
Text64 = Annotated[str, BeforeValidator(_reading("text", "", 64)), Field(max_length=64)]
Text100 = Annotated[str, BeforeValidator(_reading("text", "", 100)), Field(max_length=100)]
Text150 = Annotated[str, BeforeValidator(_reading("text", "", 150)), Field(max_length=150)]
Text200 = Annotated[str, BeforeValidator(_reading("text", "", 200)), Field(max_length=200)]

WholeNumber = Annotated[int | None, BeforeValidator(_reading("integer"))]
Flag = Annotated[bool, BeforeValidator(_reading("boolean"))]
When = Annotated[datetime | None, BeforeValidator(_reading("when"))]
Names = Annotated[list[str] | None, BeforeValidator(_reading("string_list"))]

# In answers: what the domain gives (a datetime, or a string it formatted), passed on as it
# is, so that the JSON encoder writes it as it always did.
Moment = Annotated[datetime | str, WithJsonSchema({"type": "string", "format": "date-time"})]
MaybeMoment = Annotated[
    datetime | str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})
]
Params = dict[str, Any]


class Input(Schema):
    """A request body: unknown fields are refused (a typo should not pass silently)."""

    model_config = ConfigDict(extra="forbid")
    invalid_message: ClassVar[str] = "Some fields are not valid."


class Output(BaseModel):
    """An answer: what the domain describes goes out as it is, fields the schema does not
    name included (a test checks every answer against the document)."""

    model_config = ConfigDict(extra="allow")


class Error(Schema):
    """The one error body of every endpoint (``mlcontest.http.endpoints.error_response``)."""

    status: Literal["error"]
    code: str = Field(description="machine-readable, e.g. quota_exceeded, not_revealed")
    message: str = Field(description="a sentence for a person")
    fields: dict[str, str] = Field(description="what is wrong with which field")


# What each error status means, for the operations' response lists.
ERRORS = {
    400: "bad input: `fields` names each problem",
    401: "not signed in (or a bad token)",
    403: "not allowed for your role (code `forbidden`), or not revealed yet",
    404: "no such thing, or not visible to you",
    409: "not now: e.g. `round_not_open`, `no_group`, `job_not_ranked`",
    429: "`quota_exceeded`: the message says how many are left or when to try again",
}


def answers(ok: Any, *errors: int, status: int = 200) -> dict[int, Any]:
    """An operation's responses: ``ok`` on ``status``, the error body on each error status
    (401 always: every endpoint needs a signed-in caller)."""
    return {status: ok, **{code: Error for code in sorted({401, *errors})}}
