"""The browsable API reference at /api/docs/: the generated OpenAPI document (ninja's, from the
schemas) rendered on the server by a self-contained template (the classroom may have no
internet: no CDN, no external script, so not ninja's Swagger page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine

from mlcontest.api.openapi import Schema, document
from mlcontest.api.schemas.common import ERRORS
from mlcontest.http.endpoints import allow_methods

_ENGINE = Engine(dirs=[str(Path(__file__).resolve().parent / "templates")], autoescape=True)


def operations() -> list[dict[str, Any]]:
    """The document flattened for the page: one entry per method and path, by tag."""
    listed: list[dict[str, Any]] = []
    for path, item in document()["paths"].items():
        shared = item.get("parameters", [])
        for method in ("get", "post", "patch", "delete"):
            operation = item.get(method)
            if operation is None:
                continue
            listed.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": operation["tags"][0],
                    "summary": operation["summary"],
                    "description": operation.get("description", ""),
                    "parameters": [*shared, *operation.get("parameters", [])],
                    "body": _schema_name(operation.get("requestBody")),
                    "responses": [
                        (code, answer.get("description", ""))
                        for code, answer in operation["responses"].items()
                    ],
                    "anchor": _anchor(method, path),
                }
            )
    return listed


def _anchor(method: str, path: str) -> str:
    cleaned = path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
    return f"{method}-{cleaned}"


def type_text(schema: Schema) -> str:
    """A schema in a few words for the page: ``integer``, ``string or null``, ``[Standing]``."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:  # pydantic's X | None
        return " or ".join(type_text(part) for part in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    parts = schema.get("oneOf") or schema.get("allOf")
    if parts:
        return " or ".join(type_text(part) for part in parts)
    kind = schema.get("type", "object")
    if kind == "array":
        return f"[{type_text(schema.get('items', {}))}]"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind) + (f" ({schema['format']})" if "format" in schema else "")


def _schema_name(body: Schema | None) -> str:
    if body is None:
        return ""
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    fields = ", ".join(schema.get("properties", {}))
    return f"{{{fields}}}"


@allow_methods("GET")
def docs(request: HttpRequest) -> HttpResponse:
    """The browsable reference: the same document as a page, with a "try it" box for GETs
    that uses the browser's session."""
    spec = document()
    tags = [
        {**tag, "operations": [item for item in operations() if item["tag"] == tag["name"]]}
        for tag in spec["tags"]
    ]
    schemas = [
        {
            "name": name,
            "properties": [
                (field, type_text(sub), sub.get("description", ""))
                for field, sub in schema.get("properties", {}).items()
            ],
        }
        for name, schema in spec["components"]["schemas"].items()
    ]
    template = _ENGINE.get_template("api/docs.html")
    html = template.render(
        Context(
            {
                "info": spec["info"],
                "tags": tags,
                "schemas": schemas,
                "errors": {str(code): text for code, text in ERRORS.items()},
            }
        )
    )
    return HttpResponse(html)
