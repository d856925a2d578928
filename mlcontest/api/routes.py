"""The API: one ninja router per resource, all mounted on ``API`` (its URLs are in ``api.urls``,
its document in ``api.openapi``, whose words not given by a schema are here)."""

from mlcontest.api import (
    announcements,
    courses,
    datasets,
    groups,
    leaderboards,
    predictions,
    rounds,
    views,
)
from mlcontest.api.app import SIGNED_IN, Api, BodyParser

DESCRIPTION = """\
The JSON API of mlcontest: everything the web pages do. Guide: docs/api.md.

**Authentication**: a browser session (sign in at `/accounts/login/`; send the `csrftoken`
cookie back as the `X-CSRFToken` header on POST and PATCH), or `Authorization: Token <key>`
(no CSRF needed).

**Errors** have one body everywhere, the seed protocol included:
`{"status": "error", "code": "...", "message": "...", "fields": {"field": "problem"}}`.

**Live updates**: poll `GET /api/rounds/{id}/leaderboard/` with `If-None-Match` (304 while
nothing changed), or `GET /api/rounds/{id}/version/`.
"""

TAGS = [
    {"name": "meta", "description": "who you are, what exists"},
    {"name": "groups", "description": "teams of students"},
    {"name": "datasets", "description": "tables of points"},
    {"name": "rounds", "description": "games: their life and the organizer's actions"},
    {"name": "jobs", "description": "submissions and their results"},
    {"name": "leaderboards", "description": "rankings, history, the reveal"},
    {"name": "courses", "description": "rounds of one class, standings and grades"},
]


API = Api(
    title="mlcontest API",
    version="1",
    description=DESCRIPTION,
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
    predictions.router,
    leaderboards.router,
    courses.router,
):
    API.add_router("", router)
