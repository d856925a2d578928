"""The courses' part of the OpenAPI document (``openapi.PATHS`` and ``openapi.SCHEMAS`` take it
in): kept apart so that ``openapi.py`` stays readable."""

from __future__ import annotations

from mlcontest.api.openapi import (
    INTEGER,
    STRING,
    WHEN,
    Schema,
    nullable,
    obj,
    op,
    path_param,
    ref,
)

POINTS = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 1000},
    "minItems": 1,
    "maxItems": 100,
    "description": "points per final rank, first place first, never rising; a rank beyond "
    'the list earns 0 (text like `"10, 8, 6"` is read too)',
}
PLACING = {
    **nullable("object"),
    "properties": {"group": STRING, "rank": nullable("integer"), "points": INTEGER},
    "description": "null: did not play the round; rank null: no validation score (0 points)",
}
STUDENT_LINE = obj(
    rank=nullable("integer"),
    username=STRING,
    full_name=STRING,
    group={**nullable("string"), "description": "the group the student is in now"},
    total=INTEGER,
    rounds={"type": "object", "additionalProperties": PLACING, "description": "by round id"},
)

SCHEMAS: dict[str, Schema] = {
    "Course": obj(
        id=INTEGER,
        name=STRING,
        description=STRING,
        points=POINTS,
        rounds={
            "type": "array",
            "items": obj(id=INTEGER, name=STRING, state=STRING),
            "description": "the rounds you may see (drafts: organizers only), oldest first",
        },
    ),
    "CourseSettings": obj(name=STRING, description=STRING, points=POINTS),
    "CourseStandings": obj(
        course=INTEGER,
        points=POINTS,
        rounds={
            "type": "array",
            "items": obj(
                id=INTEGER,
                name=STRING,
                revealed_at=WHEN,
                winners={"type": "array", "items": STRING},
            ),
            "description": "the rounds that count: revealed, oldest first",
        },
        groups={
            "type": "array",
            "items": obj(
                rank=INTEGER,
                group=STRING,
                total=INTEGER,
                rounds={"type": "object", "additionalProperties": PLACING},
            ),
        },
        me=STUDENT_LINE,
        students={
            "type": "array",
            "items": STUDENT_LINE,
            "description": "organizers only: every student who played a counted round",
        },
    ),
}

COURSE = path_param("course_id")

PATHS: dict[str, Schema] = {
    "/api/courses/": {
        "get": op(
            "Every course",
            "courses",
            ok={
                "type": "object",
                "properties": {"courses": {"type": "array", "items": ref("Course")}},
            },
            errors=("401",),
        ),
        "post": op(
            "Create a course (organizers)",
            "courses",
            description="Required: `name`. Put rounds in it with `course` on the round.",
            body={**ref("CourseSettings"), "required": ["name"]},
            ok=ref("Course"),
            status="201",
            errors=("400", "401", "403", "409"),
        ),
    },
    "/api/courses/{course_id}/": {
        "parameters": [COURSE],
        "get": op("One course", "courses", ok=ref("Course")),
        "patch": op(
            "Change a course's name, description or points table (organizers)",
            "courses",
            body=ref("CourseSettings"),
            ok=ref("Course"),
            errors=("400", "401", "403", "404", "409"),
        ),
    },
    "/api/courses/{course_id}/standings/": {
        "parameters": [COURSE],
        "get": op(
            "The standings across the course's revealed rounds",
            "courses",
            description="A group earns the points of its final rank in each revealed round; "
            "a student earns their group's points in each round they submitted a job in for "
            "it before the reveal. Everyone gets the groups and their own line (`me`); "
            "organizers also every student's.",
            ok=ref("CourseStandings"),
        ),
    },
    "/api/courses/{course_id}/grades.csv": {
        "parameters": [COURSE],
        "get": {
            **op(
                "The grades as CSV, one row per student (organizers)",
                "courses",
                description="UTF-8 with BOM, RFC 4180, CRLF. Columns: `username`, "
                "`full_name`, `group`, per counted round `<round>: group`, `<round>: rank`, "
                "`<round>: points`, then `total`, `course_rank`.",
                errors=("401", "403", "404"),
            ),
        },
    },
}
PATHS["/api/courses/{course_id}/grades.csv"]["get"]["responses"]["200"] = {
    "description": "the CSV file, as an attachment",
    "content": {"text/csv": {"schema": STRING}},
}
