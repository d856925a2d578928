"""The documented JSON API's URLs (docs/api.md, /api/openapi.json, /api/docs/), over the same
domain functions as the seed protocol."""

from django.urls import path

import mlcontest.http.converters  # noqa: F401  (registers <id:...>)
from mlcontest.api import docs, openapi
from mlcontest.api.app import url_patterns
from mlcontest.api.routes import API

urlpatterns = [
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs/", docs.docs, name="api_docs"),
    *url_patterns(API),
]
