"""The JSON API on django-ninja: the schemas in ``mlcontest.api.schemas`` validate the input and
describe the answers, and ninja builds ``/api/openapi.json`` from them.

What stays ours, because clients and docs/api.md rely on it byte for byte:

- the one error body (``mlcontest.http.endpoints.error_response``) for every refusal,
  including ninja's own (a body that does not fit its schema is a 400 naming each field, never
  ninja's 422);
- the order of the checks, done in :func:`guarded` before ninja sees the request: Django's CSRF
  middleware (ninja would mark its views CSRF-exempt), then 405 with ``Allow``, then 401, then
  (``ORGANIZERS``) 403 for a student where that came before reading the body;
- ``Content-Type: application/json`` answers made by ``JsonResponse``, as before.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, cast, get_args

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationErrorContext
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import PathView
from ninja.parser import Parser
from ninja.security import APIKeyCookie, APIKeyHeader

from mlcontest.contest.errors import ContestError, InvalidInput
from mlcontest.contest.permissions import require_organizer
from mlcontest.http.endpoints import (
    allow_methods,
    error_from,
    error_response,
    json_action,
    json_answer,
    parse_json_body,
)

# Form fields a browser's form may add that no schema names (the seed's forms post them).
IGNORED_FIELDS = ("csrfmiddlewaretoken", "api")

# A missing required field: what the hand-written readers said, field by field.
MISSING = {
    "dataset": "required: a dataset id",
    "job": "required: a job id, or null to unmark",
}


class BodyParser(Parser):
    """A JSON object body, or the form fields of a form body (as the seed's clients send);
    every failure is an ``InvalidInput`` that :func:`ninja_http_error` answers as it is."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = parse_json_body(request)
        for name in IGNORED_FIELDS:
            data.pop(name, None)
        return data


class Session(APIKeyCookie):
    """A browser's session (the CSRF check is Django's middleware's, in :func:`guarded`)."""

    param_name = "sessionid"

    def __init__(self, organizers_only: bool = False) -> None:
        super().__init__(csrf=False)
        self.organizers_only = organizers_only

    def __call__(self, request: HttpRequest) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        if self.organizers_only:  # before the body is read: a student learns nothing more
            require_organizer(user)
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return self(request)  # pragma: no cover  (``__call__`` does it all)


class Token(APIKeyHeader):
    """``Authorization: Token <key>``; ``TokenAuthenticationMiddleware`` signs the request in."""

    param_name = "Authorization"
    openapi_description = "`Token <key>` (no CSRF needed)"

    def __init__(self, organizers_only: bool = False) -> None:
        super().__init__()
        self.organizers_only = organizers_only

    __call__ = Session.__call__
    authenticate = Session.authenticate


METHOD_ORDER = ["GET", "POST", "PATCH", "PUT", "DELETE"]
SIGNED_IN = [Session(), Token()]
ORGANIZERS = [Session(organizers_only=True), Token(organizers_only=True)]


def _field(context: ValidationErrorContext[Any], loc: tuple[Any, ...]) -> str:
    """The request field an error is about: ``("body", "payload", "name", 0)`` -> ``name``."""
    parts = list(loc)
    if parts and parts[0] in context.model.model_fields:
        parts = parts[1:]  # the view's parameter (a body schema), not a field of the request
    return str(parts[0]) if parts else "body"


def _message(error: dict[str, Any], field: str) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return MISSING.get(field, "required")
    return str(error["msg"])


class Api(NinjaAPI):
    def set_default_exception_handlers(self) -> None:
        super().set_default_exception_handlers()
        self.add_exception_handler(ContestError, contest_error)  # type: ignore[arg-type]
        self.add_exception_handler(HttpError, ninja_http_error)  # type: ignore[arg-type]

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> NinjaValidationError:
        """A 400 ``invalid`` naming each field, with the schema's own summary sentence."""
        fields: dict[str, str] = {}
        message = "Some fields are not valid."
        schema: Any = None
        for context in error_contexts:
            for info in context.model.model_fields.values():
                for kind in (info.annotation, *get_args(info.annotation)):  # X | None too
                    schema = kind if hasattr(kind, "invalid_message") else schema
            for error in context.pydantic_validation_error.errors(include_url=False):
                field = _field(context, tuple(error["loc"]))
                fields.setdefault(field, _message(dict(error), field))
        if schema is not None:
            message = (
                schema.summary(fields) if hasattr(schema, "summary") else schema.invalid_message
            )
        # ninja raises what this returns; the handler below answers it with the one body.
        return cast(NinjaValidationError, InvalidInput(message, fields=fields))

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        # JsonResponse, as every answer was before: the same bytes and Content-Type.
        response = json_answer(data, status=status or 200)
        if temporal_response is not None:
            response.status_code = temporal_response.status_code
        return response


def ninja_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """ninja wraps a parser's exception (our ``InvalidInput``) in an HttpError."""
    cause = error.__cause__
    if isinstance(cause, ContestError):
        return error_from(cause)
    return error_response(error.status_code, "invalid", str(error))


def contest_error(request: HttpRequest, error: ContestError) -> HttpResponse:
    return error_from(error)


def guarded(
    view: Callable[..., HttpResponseBase], methods: list[str]
) -> Callable[..., HttpResponseBase]:
    """ninja's view for one path, behind the checks every JSON endpoint made before (the same
    decorators the seed protocol's views use): 405 with ``Allow`` for another method, then 401
    for an anonymous caller. Not CSRF-exempt: Django's middleware checks a session's POST
    before this runs (a token's request is exempt, ``TokenAuthenticationMiddleware``)."""

    @functools.wraps(view)
    def readable(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.content_type == "multipart/form-data" and not hasattr(request, "_body"):
            # ninja asks for request.body, which Django cannot give once the CSRF check has
            # parsed a multipart stream; BodyParser reads the parsed request.POST instead.
            request.POST  # noqa: B018  (parse it now, if the CSRF check did not)
            request._body = b"multipart/form-data"
        return view(request, *args, **kwargs)

    wrapper = allow_methods(*methods)(json_action(readable))
    # functools.wraps copied ninja's csrf_exempt = True: Django's CSRF check must run.
    wrapper.csrf_exempt = False  # type: ignore[attr-defined]
    return wrapper


def path_view_of(view: Callable[..., Any]) -> PathView:
    """ninja's view (or ours around it) is a closure over its PathView, which knows the
    path's operations."""
    view = inspect.unwrap(view)
    cells = [cell.cell_contents for cell in view.__closure__ or ()]
    return next(cell for cell in cells if isinstance(cell, PathView))


def url_patterns(api: NinjaAPI) -> list[URLPattern]:
    """ninja's URL patterns (one per operation; the first of a path serves them all), each
    behind :func:`guarded`, with the methods in the order the old ``Allow`` header named them."""
    patterns = []
    seen: set[str] = set()
    for pattern in api.urls[0]:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if route in seen:
            continue
        seen.add(route)
        path_view = path_view_of(pattern.callback)
        methods = {method for operation in path_view.operations for method in operation.methods}
        for operation in path_view.operations:
            # A field the domain left out stays out (``invite_code`` is for members only).
            operation.exclude_unset = True
        pattern.callback = guarded(pattern.callback, sorted(methods, key=METHOD_ORDER.index))
        patterns.append(pattern)
    return patterns


def polish(document: dict[str, Any]) -> dict[str, Any]:
    """ninja's document, read as people read it: each operation's summary is its docstring's
    first line (the rest its description), each error status says what it means, and a body
    that may be left out is still the schema's own reference."""
    from mlcontest.api.schemas.common import ERRORS

    for item in document["paths"].values():
        for operation in item.values():
            text = operation.get("description", "")
            summary, _, rest = text.partition("\n")
            operation["summary"] = summary.strip()
            operation["description"] = " ".join(rest.split())
            if not operation["description"]:
                del operation["description"]
            # As JSON has them: "200", not 200 (the served document equals this one).
            operation["responses"] = {str(k): v for k, v in operation["responses"].items()}
            for code, answer in operation["responses"].items():
                if int(code) in ERRORS:
                    answer["description"] = ERRORS[int(code)]
                content = answer.get("content", {})
                if "text/csv" in content:  # a download: the CSV only
                    content.pop("application/json", None)
            body = operation.get("requestBody")
            if body is not None:
                content = body["content"]["application/json"]
                options = content["schema"].get("anyOf", [])
                refs = [option for option in options if "$ref" in option]
                if len(refs) == 1 and len(options) == 2:
                    content["schema"] = refs[0]
    return document


def only_known(request: HttpRequest, schema: type[Any]) -> None:
    """Refuse query parameters the schema does not name (ninja drops them silently): a typo
    should not pass unnoticed."""
    unknown = sorted(set(request.GET) - set(schema.model_fields))
    if unknown:
        raise InvalidInput(
            "Some fields are not valid.", fields={name: "unknown field" for name in unknown}
        )


def csv_file() -> dict[str, Any]:
    """An operation's 200 is a CSV attachment (UTF-8 with BOM, RFC 4180), not JSON."""
    return {
        "responses": {
            200: {
                "description": "the CSV file, as an attachment",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    }
