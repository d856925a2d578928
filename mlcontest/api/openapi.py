"""The API's OpenAPI 3.1 document, written by hand next to the views it describes (the page
that renders it is ``mlcontest.api.docs``).

tests/test_api_openapi.py checks that every route of ``mlcontest.api.urls`` is documented here
and every documented path exists.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from mlcontest.http import allow_methods

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str] | None = None, **properties: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
SCORE = {"type": "number", "minimum": 0, "maximum": 1}
WHEN = {"type": "string", "format": "date-time"}
PARAMS = {"type": "object", "additionalProperties": True}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        ["status", "code", "message", "fields"],
        status={"const": "error"},
        code={**STRING, "description": "machine-readable, e.g. quota_exceeded, not_revealed"},
        message={**STRING, "description": "a sentence for a person"},
        fields={
            "type": "object",
            "additionalProperties": STRING,
            "description": "what is wrong with which field",
        },
    ),
    "Me": obj(
        username=STRING,
        role={"enum": ["student", "worker", "organizer"]},
        is_organizer=BOOLEAN,
        is_worker=BOOLEAN,
        group={"oneOf": [ref("Group"), {"type": "null"}]},
        auth={"enum": ["session", "token"]},
    ),
    "Group": obj(
        id=INTEGER,
        name=STRING,
        public=BOOLEAN,
        members={"type": "array", "items": STRING},
        member_count=INTEGER,
        is_member=BOOLEAN,
        invite_code={**STRING, "description": "members and organizers only"},
    ),
    "Dataset": obj(
        id=INTEGER,
        name=STRING,
        description=STRING,
        source=STRING,
        features={"type": "array", "items": STRING},
        labels={"type": "array", "items": STRING},
        size=INTEGER,
        splits={"type": "object", "additionalProperties": INTEGER},
        version=STRING,
        url={**STRING, "description": "the seed protocol's points URL"},
        points_url=STRING,
    ),
    "Quota": obj(jobs_used=INTEGER, jobs_left=INTEGER, queued=INTEGER, queue_places_left=INTEGER),
    "Round": obj(
        id=INTEGER,
        name=STRING,
        description=STRING,
        state={"enum": ["draft", "open", "closed"]},
        dataset=INTEGER,
        dataset_name=STRING,
        task={"enum": ["classification", "clustering"]},
        metric=STRING,
        algorithms={"type": "array", "items": {"type": "object"}},
        starts_at=nullable("string", format="date-time"),
        ends_at=nullable("string", format="date-time"),
        opened_at=nullable("string", format="date-time"),
        closed_at=nullable("string", format="date-time"),
        revealed_at={
            **nullable("string", format="date-time"),
            "description": "the first close: from then on the final ranking is final",
        },
        job_quota=INTEGER,
        queued_quota=INTEGER,
        time_limit_seconds=INTEGER,
        memory_limit_mb=INTEGER,
        groups={"type": "array", "items": STRING},
        final_choice_allowed=BOOLEAN,
        course={**nullable("integer"), "description": "the course the round counts in"},
        leaderboard_version=INTEGER,
        accepting_jobs=BOOLEAN,
        final_revealed={**BOOLEAN, "description": "revealed_at is set (also when reopened)"},
        final_visible={**BOOLEAN, "description": "the viewer may read the final ranking"},
        validation_visible={**BOOLEAN, "description": "the viewer sees validation scores"},
        recipes_visible={**BOOLEAN, "description": "the viewer sees other groups' algorithms"},
        reveal_show={
            **BOOLEAN,
            "description": "the final ranking is revealed place by place (a show) at the close",
        },
        reveal=obj(
            stage={
                "enum": ["hidden", "show", "shown"],
                "description": "hidden: before the first close; show: the organizer is revealing "
                "the places, last first (students see those and no validation score); shown",
            },
            places={**INTEGER, "description": "places in the final ranking (0 while hidden)"},
            places_revealed={**INTEGER, "description": "counted from the last place"},
            ended_at={**nullable("string", format="date-time"), "description": "the show's end"},
        ),
        split_warnings={
            "type": "array",
            "items": STRING,
            "description": "organizers: test or validation splits so small that scores move in "
            "big steps (expect ties)",
        },
        my_group={
            "allOf": [ref("Quota")],
            "properties": {"name": STRING, "final_job": nullable("integer")},
            "description": "present when the viewer is in a group",
        },
    ),
    "RoundSettings": obj(
        name=STRING,
        description=STRING,
        dataset={**INTEGER, "description": "creation only"},
        metric={**STRING, "description": "see GET /api/algorithms/; changeable in a draft"},
        allowed_algorithms={"type": "array", "items": STRING, "description": "empty: all"},
        starts_at=nullable("string", format="date-time"),
        ends_at=nullable("string", format="date-time"),
        job_quota={**INTEGER, "minimum": 1},
        queued_quota={**INTEGER, "minimum": 1},
        time_limit_seconds={**INTEGER, "minimum": 1},
        memory_limit_mb={**INTEGER, "minimum": 1},
        final_choice_allowed=BOOLEAN,
        reveal_show={
            **BOOLEAN,
            "description": "reveal the final ranking place by place (default false); fixed "
            "once revealed",
        },
        course={**nullable("integer"), "description": "a course id; null: in no course"},
    ),
    "RoundEvent": obj(
        action={
            "enum": [
                "created",
                "opened",
                "closed",
                "reopened",
                "edited",
                "final_choice",
                "place_revealed",
                "reveal_ended",
            ]
        },
        by={**nullable("string"), "description": "null: the schedule"},
        at=WHEN,
        details={"type": "object"},
    ),
    "Job": obj(
        id=INTEGER,
        round=INTEGER,
        group=nullable("string"),
        baseline=BOOLEAN,
        user=nullable("string"),
        algorithm=STRING,
        params=PARAMS,
        state={"enum": ["queued", "running", "done", "failed"]},
        created_at=WHEN,
        claimed_at=nullable("string", format="date-time"),
        finished_at=nullable("string", format="date-time"),
        success=nullable("boolean"),
        score_test=nullable("number"),
        score_validation={
            **nullable("number"),
            "description": "absent for students and workers until the round is revealed",
        },
        message=STRING,
        pictures={"type": "array", "items": obj(filename=STRING, url=STRING)},
        quota={**ref("Quota"), "description": "in the answer to a submission"},
    ),
    "JobSubmission": obj(
        ["algorithm"],
        algorithm=STRING,
        params=PARAMS,
        baseline={**BOOLEAN, "description": "organizers: a line to beat, no group, no quota"},
    ),
    "Standing": obj(
        rank=INTEGER,
        group=STRING,
        group_id=INTEGER,
        job=INTEGER,
        score_test=SCORE,
        submitted_at=WHEN,
        finished_at=WHEN,
        tied={
            **BOOLEAN,
            "description": "the same test score as the line above, whose job was submitted first",
        },
        algorithm={**STRING, "description": "after the reveal, or for organizers"},
        params=PARAMS,
        score_validation={**nullable("number"), "description": "same visibility"},
    ),
    "Baseline": obj(
        job=INTEGER,
        score_test=SCORE,
        algorithm=STRING,
        params=PARAMS,
        groups_above={**INTEGER, "description": "groups whose best beats this line"},
        score_validation=nullable("number"),
    ),
    "Leaderboard": obj(
        round=INTEGER,
        version=INTEGER,
        state=STRING,
        metric_split={"const": "test"},
        revealed=BOOLEAN,
        reveal_stage={"enum": ["hidden", "show", "shown"]},
        validation_visible=BOOLEAN,
        recipes_visible=BOOLEAN,
        standings={"type": "array", "items": ref("Standing")},
        baselines={"type": "array", "items": ref("Baseline")},
        unranked={"type": "array", "items": STRING},
    ),
    "Version": obj(round=INTEGER, version=INTEGER, state=STRING, etag=STRING),
    "FinalStanding": obj(
        rank=INTEGER,
        group=STRING,
        group_id=INTEGER,
        job=INTEGER,
        chosen_by={"enum": ["best_test", "final_choice"]},
        score_validation=SCORE,
        score_test=SCORE,
        algorithm=STRING,
        params=PARAMS,
        public_rank=INTEGER,
        move={**INTEGER, "description": "public_rank - rank: positive means the group climbed"},
        tied={
            **BOOLEAN,
            "description": "the same validation score as the line above, whose job came first",
        },
    ),
    "FinalRanking": obj(
        round=INTEGER,
        version=INTEGER,
        state=STRING,
        final={**BOOLEAN, "description": "false: an organizer's preview before the reveal"},
        revealed_at=nullable("string", format="date-time"),
        metric_split={"const": "validation"},
        complete={
            **BOOLEAN,
            "description": "false during a show: only the places revealed so far are listed",
        },
        places=INTEGER,
        places_revealed={**INTEGER, "description": "counted from the last place"},
        standings={"type": "array", "items": ref("FinalStanding")},
        baselines={"type": "array", "items": ref("Baseline")},
        unranked={"type": "array", "items": STRING},
    ),
    "History": obj(
        round=INTEGER,
        version=INTEGER,
        metric_split={"const": "test"},
        groups={
            "type": "array",
            "items": obj(
                group=nullable("string"),
                group_id=nullable("integer"),
                baseline=BOOLEAN,
                points={
                    "type": "array",
                    "items": obj(at=WHEN, score_test=SCORE, job=INTEGER),
                },
            ),
        },
    ),
    "FinalChoice": obj(round=INTEGER, group=nullable("string"), job=nullable("integer")),
}

ERRORS = {
    "400": "bad input: `fields` names each problem",
    "401": "not signed in (or a bad token)",
    "403": "not allowed for your role (code `forbidden`), or not revealed yet",
    "404": "no such thing, or not visible to you",
    "409": "not now: e.g. `round_not_open`, `no_group`, `job_not_ranked`",
    "429": "`quota_exceeded`: the message says how many are left or when to try again",
}


def _json(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def op(
    summary: str,
    tag: str,
    *,
    description: str = "",
    ok: Schema | None = None,
    status: str = "200",
    body: Schema | None = None,
    errors: tuple[str, ...] = ("401", "404"),
    query: tuple[tuple[str, Schema, str], ...] = (),
    conditional: bool = False,
) -> Schema:
    operation: Schema = {"summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    if query:
        operation["parameters"] = [
            {"name": name, "in": "query", "schema": schema, "description": text}
            for name, schema, text in query
        ]
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    responses: Schema = {status: _json(ok or {"type": "object"})}
    if conditional:
        operation.setdefault("parameters", []).append(
            {
                "name": "If-None-Match",
                "in": "header",
                "schema": STRING,
                "description": "the ETag of your last answer: 304 while nothing changed",
            }
        )
        responses[status]["headers"] = {"ETag": {"schema": STRING}}
        responses["304"] = {"description": "unchanged since the ETag you sent (no body)"}
    for code in errors:
        responses[code] = _json(ref("Error"), ERRORS[code])
    operation["responses"] = responses
    return operation


def path_param(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": INTEGER}


def _list(name: str, schema: Schema) -> Schema:
    return {"type": "object", "properties": {name: {"type": "array", "items": schema}}}


ROUND = path_param("round_id")


def csv_download(summary: str, columns: str) -> Schema:
    """A CSV file (UTF-8 with BOM, RFC 4180): the same errors as any read of a round."""
    operation = op(
        summary,
        "datasets",
        description=f"Columns: {columns}. `id` is the point's id in the dataset's point list. "
        "Anyone who may see the round; the same file for every role, never a hidden label.",
    )
    operation["responses"]["200"] = {
        "description": "the CSV file, as an attachment",
        "content": {"text/csv": {"schema": STRING}},
    }
    return {"parameters": [ROUND], "get": operation}


PATHS: dict[str, Schema] = {
    "/api/": {"get": op("Links to the resources", "meta", errors=("401",))},
    "/api/me/": {"get": op("Who am I: role and group", "meta", ok=ref("Me"), errors=("401",))},
    "/api/algorithms/": {
        "get": op(
            "Algorithms with their parameter schemas, and the metrics",
            "meta",
            errors=("401",),
        )
    },
    "/api/groups/": {
        "get": op(
            "Public groups and yours (organizers: all)",
            "groups",
            ok=_list("groups", ref("Group")),
            errors=("401",),
        ),
        "post": op(
            "Create a group (organizers)",
            "groups",
            body=obj(["name"], name=STRING, public=BOOLEAN),
            ok=ref("Group"),
            status="201",
            errors=("400", "401", "403", "409"),
        ),
    },
    "/api/groups/{group_id}/": {
        "parameters": [path_param("group_id")],
        "get": op("One group", "groups", ok=ref("Group")),
    },
    "/api/groups/{group_id}/join/": {
        "parameters": [path_param("group_id")],
        "post": op(
            "Join the group, leaving your current one",
            "groups",
            description="A private group needs its `invite_code`: without it, or with a wrong "
            "one, the answer is the 404 of a group that does not exist. A student an organizer "
            "placed in a group (roster, added member, admin) gets 409 `placed_by_organizer` for "
            "any other group.",
            body=obj(invite_code=STRING),
            ok=ref("Group"),
            errors=("400", "401", "404", "409"),
        ),
    },
    "/api/groups/{group_id}/members/": {
        "parameters": [path_param("group_id")],
        "post": op(
            "Put a user in the group (organizers)",
            "groups",
            description="The group is binding: the student cannot leave it by themselves.",
            body=obj(["username"], username=STRING),
            ok=ref("Group"),
            errors=("400", "401", "403", "404"),
        ),
    },
    "/api/datasets/": {
        "get": op(
            "Datasets you may see",
            "datasets",
            description="Workers and organizers: all; students: those of the rounds they see.",
            ok=_list("datasets", ref("Dataset")),
            errors=("401",),
        )
    },
    "/api/datasets/{dataset_id}/": {
        "parameters": [path_param("dataset_id")],
        "get": op("One dataset", "datasets", ok=ref("Dataset")),
    },
    "/api/datasets/{dataset_id}/points/": {
        "parameters": [path_param("dataset_id")],
        "get": op(
            "The points",
            "datasets",
            description="Only organizers get the labels of test and validation points.",
            ok={"type": "array", "items": {"type": "object"}},
        ),
    },
    "/api/rounds/": {
        "get": op(
            "Rounds you may see (drafts: organizers only)",
            "rounds",
            ok=_list("rounds", ref("Round")),
            errors=("401",),
        ),
        "post": op(
            "Create a round (organizers)",
            "rounds",
            description="Required: `name`, `dataset`, `metric`. A draft until opened or until "
            "its `starts_at` passes.",
            body=ref("RoundSettings"),
            ok=ref("Round"),
            status="201",
            errors=("400", "401", "403"),
        ),
    },
    "/api/rounds/{round_id}/": {
        "parameters": [ROUND],
        "get": op("One round, with your group's quota", "rounds", ok=ref("Round")),
        "patch": op(
            "Change a round's settings (organizers; recorded)",
            "rounds",
            body=ref("RoundSettings"),
            ok=ref("Round"),
            errors=("400", "401", "403", "404"),
        ),
    },
    "/api/rounds/{round_id}/open/": {
        "parameters": [ROUND],
        "post": op(
            "Open a draft or reopen a closed round (organizers; recorded)",
            "rounds",
            description="An end time that has passed is dropped; `ends_at` sets a new one.",
            body=obj(ends_at=nullable("string", format="date-time")),
            ok=ref("Round"),
            errors=("400", "401", "403", "404"),
        ),
    },
    "/api/rounds/{round_id}/close/": {
        "parameters": [ROUND],
        "post": op(
            "Close the round now (organizers; recorded)",
            "rounds",
            description="Jobs submitted before the close still run and still count. Closing "
            "reveals the final ranking.",
            ok=ref("Round"),
            errors=("401", "403", "404", "409"),
        ),
    },
    "/api/rounds/{round_id}/reveal/": {
        "parameters": [ROUND],
        "post": op(
            "Reveal the next places of the final ranking during a show (organizers; recorded)",
            "rounds",
            description='`{}` reveals the next place (from the last up), `{"places": n}` the '
            'last n places (again with the same n: no change), `{"all": true}` ends the '
            "show. Revealing the first place ends it too. 409 `not_revealed` before the close.",
            body=obj(places={**INTEGER, "minimum": 1}, all=BOOLEAN),
            ok=ref("Round"),
            errors=("400", "401", "403", "404", "409"),
        ),
    },
    "/api/rounds/{round_id}/data/training.csv": csv_download(
        "The round's training points with their labels, as CSV",
        "`id`, `split`, the features, `label`",
    ),
    "/api/rounds/{round_id}/data/test-validation.csv": csv_download(
        "The round's test and validation points, features only, as CSV",
        "`id`, `split`, the features (no label column)",
    ),
    "/api/rounds/{round_id}/events/": {
        "parameters": [ROUND],
        "get": op(
            "Who changed the round and when (organizers)",
            "rounds",
            ok=obj(round=INTEGER, events={"type": "array", "items": ref("RoundEvent")}),
            errors=("401", "403", "404"),
        ),
    },
    "/api/rounds/{round_id}/final-choice/": {
        "parameters": [ROUND],
        "get": op("Your group's final choice", "rounds", ok=ref("FinalChoice")),
        "post": op(
            "Mark (or with null unmark) your group's final choice",
            "rounds",
            description="Only in rounds with `final_choice_allowed`, before the close, and only "
            "a finished, successful job of your group. Organizers may mark for any group "
            "at any time (`group` to unmark).",
            body=obj(["job"], job=nullable("integer"), group=STRING),
            ok=ref("FinalChoice"),
            errors=("400", "401", "404", "409"),
        ),
    },
    "/api/rounds/{round_id}/jobs/": {
        "parameters": [ROUND],
        "get": op(
            "Your group's jobs in the round (workers and organizers: all), newest first",
            "jobs",
            query=(
                ("state", STRING, "only jobs in this state"),
                ("limit", INTEGER, "at most this many (default and most: 1000)"),
            ),
            ok=obj(jobs={"type": "array", "items": ref("Job")}, more=BOOLEAN),
            errors=("400", "401", "404"),
        ),
        "post": op(
            "Submit a job for your group",
            "jobs",
            description="Refused with 409 `round_not_open` unless the round is open, and with "
            "429 `quota_exceeded` when the group has used its jobs or has too many waiting.",
            body=ref("JobSubmission"),
            ok=ref("Job"),
            status="201",
            errors=("400", "401", "403", "404", "409", "429"),
        ),
    },
    "/api/rounds/{round_id}/leaderboard/": {
        "parameters": [ROUND],
        "get": op(
            "The public leaderboard: each group's best test score",
            "leaderboards",
            description="Ties go to the earlier job; failed jobs never rank; baselines are "
            "lines to beat. Poll with `If-None-Match`: an unchanged board answers 304.",
            ok=ref("Leaderboard"),
            conditional=True,
        ),
    },
    "/api/rounds/{round_id}/version/": {
        "parameters": [ROUND],
        "get": op(
            "The leaderboard's version: the cheapest poll",
            "leaderboards",
            ok=ref("Version"),
        ),
    },
    "/api/rounds/{round_id}/history/": {
        "parameters": [ROUND],
        "get": op(
            "Every group's best test score over time",
            "leaderboards",
            ok=ref("History"),
            conditional=True,
        ),
    },
    "/api/rounds/{round_id}/final/": {
        "parameters": [ROUND],
        "get": op(
            "The reveal: ranking by validation score with each group's move",
            "leaderboards",
            description="Students and workers: 403 `not_revealed` until the round first closes. "
            "Organizers: a preview (`final: false`) before. Once revealed it does not change, "
            "also when the round is reopened for practice.",
            ok=ref("FinalRanking"),
            errors=("401", "403", "404"),
            conditional=True,
        ),
    },
    "/api/jobs/{job_id}/": {
        "parameters": [path_param("job_id")],
        "get": op(
            "One job (students: their group's)",
            "jobs",
            query=(("labels", BOOLEAN, "include the predicted labels"),),
            ok=ref("Job"),
            # A query with a NUL or a lone surrogate is a 400 before the view (mlcontest.guards).
            errors=("400", "401", "404"),
        ),
    },
}

# Announcements and courses live in their own modules (they use the helpers above).
from mlcontest.api import openapi_announcements, openapi_courses  # noqa: E402

for _part in (openapi_announcements, openapi_courses):
    PATHS.update(_part.PATHS)
    SCHEMAS.update(_part.SCHEMAS)

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


@cache
def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "mlcontest API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"session": []}, {"token": []}],
        "tags": [
            {"name": "meta", "description": "who you are, what exists"},
            {"name": "groups", "description": "teams of students"},
            {"name": "datasets", "description": "tables of points"},
            {"name": "rounds", "description": "games: their life and the organizer's actions"},
            {"name": "jobs", "description": "submissions and their results"},
            {"name": "leaderboards", "description": "rankings, history, the reveal"},
            {"name": "courses", "description": "rounds of one class, standings and grades"},
        ],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <key>`",
                },
            },
        },
    }


@allow_methods("GET")
def openapi_json(request: HttpRequest) -> HttpResponse:
    """The document itself: public, so that tools and people can read it before signing in."""
    return JsonResponse(document())
