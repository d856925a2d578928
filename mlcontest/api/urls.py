"""The documented JSON API (docs/api.md, /api/openapi.json, /api/docs/), over the same domain
functions as the seed protocol: one ninja router per resource, mounted on ``API``."""

from django.urls import path

import mlcontest.converters  # noqa: F401  (registers <id:...>)
from mlcontest.api import (
    announcements,
    courses,
    datasets,
    docs,
    groups,
    leaderboards,
    openapi,
    rounds,
    views,
)
from mlcontest.api.app import SIGNED_IN, Api, BodyParser, url_patterns

API = Api(
    title="mlcontest API",
    version="1",
    description=openapi.DESCRIPTION,
    auth=SIGNED_IN,
    parser=BodyParser(),
    urls_namespace="api",
    docs_url=None,
    openapi_url=None,
)
for router in (
    views.router,
    announcements.router,
    groups.router,
    datasets.router,
    rounds.router,
    leaderboards.router,
    courses.router,
):
    API.add_router("", router)

urlpatterns = [
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs/", docs.docs, name="api_docs"),
    *url_patterns(API),
]
