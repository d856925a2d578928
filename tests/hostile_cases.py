"""The requests of the hostile corpus (tests/test_hostile_corpus.py), as data: each case is
one request that the server must refuse with a 4xx and without storing anything."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

BIG = 10**400  # a 400-digit integer
DEEP = "[" * 100_000 + "]" * 100_000  # 100,000-deep JSON
HUGE_ID = 2**63  # one past SQLite's and PostgreSQL's bigint
NUL, HIGH, LOW = "a\x00b", "a\ud800b", "\udc00"  # a NUL, a lone high and a lone low surrogate
JSON_PREFIXES = ("/api/", "/actions/", "/env.json", "/ok.json", "/media/jobs/")


@dataclass(frozen=True)
class Case:
    """One request. ``path`` may name ``{round}``, ``{job}``, ``{dataset}``, ``{group}``.
    The body is ``form`` (urlencoded), ``body`` (JSON text), or ``result`` (valid
    ``update_job_details`` fields of the claimed job with these replaced, sent as ``result_as``)."""

    name: str
    who: str | None
    method: str
    path: str
    status: int | tuple[int, ...] = 400
    form: dict[str, str] | None = None
    body: str | None = None
    result: dict[str, Any] | None = None
    result_as: str = "form"
    meta: dict[str, str] = field(default_factory=dict)
    max_body: int | None = None
    content_type: str = "application/json"  # of ``body``


def _j(value: Any) -> str:
    return json.dumps(value)


def nul_and_surrogate_cases() -> Iterator[Case]:
    # Query strings (surrogates cannot arrive there: Django decodes bytes with "replace").
    queries = [
        ("alice", "/api/rounds/{round}/jobs/?state=%00"),
        ("walter", "/api/rounds/{round}/jobs/?state=%00"),
        ("olga", "/api/rounds/{round}/jobs/?state=%00&limit=1"),
        ("alice", "/api/rounds/{round}/jobs/?limit=%00"),
        ("alice", "/api/rounds/?x=%00"),
        ("alice", "/api/me/?%00=1"),
        ("alice", "/api/groups/?name=a%00"),
        ("alice", "/api/datasets/?q=%00"),
        ("alice", "/api/rounds/{round}/?x=%00"),
        ("alice", "/api/rounds/{round}/leaderboard/?since=%00"),
        ("alice", "/api/jobs/{job}/?labels=%00"),
        ("alice", "/api/algorithms/?x=%00"),
        ("alice", "/actions/get_groups.json/?x=%00"),
        (None, "/env.json/?x=%00"),
        ("alice", "/rounds/?x=%00"),
        ("alice", "/groups/?q=%00"),
        ("alice", "/rounds/{round}/?algorithm=%00"),
        ("alice", "/jobs/{job}/?x=%00"),
        ("olga", "/manage/rounds/{round}/?x=%00"),
    ]
    for who, path in queries:
        yield Case(f"query-nul-{who}-{path}", who, "GET", path)
    # Paths.
    paths = [
        ("carol", "POST", "/actions/join_group/%00/"),
        ("carol", "POST", "/actions/join_group/Alpha%00/"),
        ("alice", "POST", "/actions/get_round/%00.json/"),
        ("walter", "POST", "/actions/get_job_params/1%00.json/"),
        ("walter", "POST", "/actions/update_job_details/%00.json/"),
        ("walter", "POST", "/actions/add_job_picture/%00.json/"),
        ("alice", "GET", "/api/%00/"),
        ("alice", "GET", "/actions/%00/"),
        ("alice", "GET", "/groups/%00/"),
        ("alice", "GET", "/media/jobs/{job}/%00.png"),
    ]
    for who, method, path in paths:
        yield Case(f"path-nul-{path}", who, method, path)
    # Form fields of the seed's calls and the web forms.
    forms: list[tuple[str | None, str, dict[str, str]]] = [
        ("olga", "/actions/add_group/", {"group_name": NUL, "public": "True"}),
        ("carol", "/actions/join_group/Beta/", {"invite_code": NUL}),
        ("walter", "/actions/ping/", {"worker_name": NUL}),
        ("walter", "/actions/add_job_picture/{job}.json/", {"filename": NUL, "data": "AA=="}),
        (None, "/accounts/login/?next=%2Fok.json", {"username": NUL, "password": "pw"}),
        (None, "/accounts/login/", {"username": "alice", "password": NUL}),
        ("olga", "/groups/", {"create-group_name": NUL, "create-public": "on"}),
        ("carol", "/groups/join/", {"code-group_name": NUL, "code-invite_code": ""}),
        ("olga", "/manage/rounds/new/", {"name": NUL, "metric": "accuracy"}),
        ("alice", "/rounds/{round}/", {"algorithm": "knn", "knn-weights": NUL}),
        ("olga", "/manage/rounds/{round}/baseline/", {"algorithm": NUL}),
        (None, "/signup/", {"username": NUL, "password": "pw", "class_code": "x"}),
        ("alice", "/api/rounds/{round}/jobs/", {NUL: "1"}),
    ]
    for who, path, form in forms:
        yield Case(f"form-nul-{path}-{sorted(form)[0]}", who, "POST", path, form=form)
    yield Case(
        "result-message-nul",
        "walter",
        "POST",
        "/actions/update_job_details/{job}.json/",
        result={"message": NUL},
    )
    # JSON bodies, with a NUL, a lone high and a lone low surrogate.
    bodies: list[tuple[str, str, str, Callable[[str], Any]]] = [
        ("olga", "POST", "/api/groups/", lambda t: {"name": t}),
        ("olga", "POST", "/api/rounds/", lambda t: {"name": t, "dataset": 1, "metric": "accuracy"}),
        ("olga", "PATCH", "/api/rounds/{round}/", lambda t: {"description": t}),
        ("olga", "PATCH", "/api/rounds/{round}/", lambda t: {"allowed_algorithms": [t]}),
        ("alice", "POST", "/api/rounds/{round}/jobs/", lambda t: {"algorithm": t}),
        (
            "alice",
            "POST",
            "/api/rounds/{round}/jobs/",
            lambda t: {"algorithm": "knn", "params": {"weights": t}},
        ),
        (
            "alice",
            "POST",
            "/api/rounds/{round}/jobs/",
            lambda t: {"algorithm": "knn", "params": {t: 1}},
        ),
        ("olga", "POST", "/api/rounds/{round}/final-choice/", lambda t: {"job": None, "group": t}),
        ("carol", "POST", "/api/groups/{group}/join/", lambda t: {"invite_code": t}),
        ("olga", "POST", "/api/groups/{group}/members/", lambda t: {"username": t}),
        ("olga", "POST", "/api/rounds/{round}/open/", lambda t: {"ends_at": t}),
        ("olga", "POST", "/api/courses/", lambda t: {"name": t}),
        ("olga", "POST", "/api/courses/", lambda t: {"name": "C", "points": t}),
    ]
    for index, (who, method, path, make) in enumerate(bodies):
        for label, text in (("nul", NUL), ("high", HIGH), ("low", LOW)):
            yield Case(
                f"json-{label}-{index}-{method}-{path}",
                who,
                method,
                path,
                status=(400, 409),
                body=_j(make(text)),
            )
    for label, text in (("nul", NUL), ("high", HIGH)):
        yield Case(
            f"result-json-{label}-message",
            "walter",
            "POST",
            "/actions/update_job_details/{job}.json/",
            result={"message": text},
            result_as="json",
        )
        yield Case(
            f"result-json-{label}-labels",
            "walter",
            "POST",
            "/actions/update_job_details/{job}.json/",
            result={"labels_test": [text]},
            result_as="json",
        )


def result_cases() -> Iterator[Case]:
    """Worker results: too long numbers, too deep JSON, unknown names, values out of range."""
    bad: dict[str, list[Any]] = {
        "score_test": [BIG, -BIG, "1e400", "NaN", DEEP, -3.0],
        "score_validation": [BIG, 1e300, "inf"],
        "labels_training": [[BIG], DEEP, "x" * 10],
        "labels_test": [[BIG], DEEP, [[1]], ["a"] * 100_001],
        "labels_validation": [[BIG], DEEP, [None, None, None, None]],
        "extra_scores_test": [
            {"accuracy": BIG},
            {"made_up": 0.5},
            {"accuracy": -3.0},
            {"accuracy": 1e300},
            {f"k{i}": 0.5 for i in range(1000)},
            DEEP,
            [1, 2],
        ],
        "extra_scores_validation": [{"f1_macro": BIG}, {"train_seconds": 0.01}, {"nmi": 1.5}],
        "timings": [
            {"fit": BIG},
            {"fit": -1},
            {"bogus": 1.0},
            {"fit": 1e300},
            DEEP,
            {f"s{i}": 1.0 for i in range(100)},
        ],
        "success": [None, "None", "maybe", BIG],
    }
    for name, values in bad.items():
        for index, value in enumerate(values):
            for encoding in ("form", "json"):
                yield Case(
                    f"result-{encoding}-{name}-{index}",
                    "walter",
                    "POST",
                    "/actions/update_job_details/{job}.json/",
                    result={name: value},
                    result_as=encoding,
                )
    yield Case(
        "result-json-missing-success",
        "walter",
        "POST",
        "/actions/update_job_details/{job}.json/",
        result={"success": ...},
        result_as="json",
    )
    yield Case(
        "result-whole-body-deep",
        "walter",
        "POST",
        "/actions/update_job_details/{job}.json/",
        body=DEEP,
    )
    yield Case(
        "result-body-long-int",
        "walter",
        "POST",
        "/actions/update_job_details/{job}.json/",
        body='{"score_test": ' + "9" * 5000 + "}",
    )


def round_settings_cases() -> Iterator[Case]:
    base = {"name": "R", "dataset": "{dataset}", "metric": "accuracy"}
    overflows: list[tuple[str, Any]] = [
        ("job_quota", 2**31),
        ("job_quota", 2**63),
        ("job_quota", BIG),
        ("job_quota", -1),
        ("queued_quota", 2**31),
        ("time_limit_seconds", 2**40),
        ("memory_limit_mb", 2**31),
        ("starts_at", "2030-01-01T10:00:00+99:00"),
        ("ends_at", "9999-12-31T23:59:59-23:59"),
        ("starts_at", "0001-01-01T00:00:00+01:00"),
        ("ends_at", "2030-02-30T10:00:00"),
        ("allowed_algorithms", ["knn"] * 100_000),
        ("allowed_algorithms", [{"a": 1}]),
        ("name", "x" * 1000),
        ("dataset", HUGE_ID),
        ("dataset", BIG),
        ("metric", DEEP),
    ]
    for name, value in overflows:
        body = _j({**base, name: value}).replace('"{dataset}"', "{dataset}")
        yield Case(
            f"round-create-{name}-{str(value)[:12]}", "olga", "POST", "/api/rounds/", body=body
        )
    for name, value in overflows[:9]:
        yield Case(
            f"round-patch-{name}-{str(value)[:12]}",
            "olga",
            "PATCH",
            "/api/rounds/{round}/",
            body=_j({name: value}),
        )
    yield Case(
        "round-open-offset",
        "olga",
        "POST",
        "/api/rounds/{round}/open/",
        body=_j({"ends_at": "2030-01-01T10:00:00+99:00"}),
    )
    yield Case(
        "final-choice-huge-job",
        "alice",
        "POST",
        "/api/rounds/{round}/final-choice/",
        body=_j({"job": HUGE_ID}),
    )
    yield Case(
        "final-choice-long-job",
        "alice",
        "POST",
        "/api/rounds/{round}/final-choice/",
        body=_j({"job": BIG}),
    )
    yield Case("jobs-limit-long", "alice", "GET", f"/api/rounds/{{round}}/jobs/?limit={BIG}")
    web = {
        "name": "W",
        "metric": "accuracy",
        "job_quota": "20",
        "queued_quota": "3",
        "time_limit_seconds": "60",
        "memory_limit_mb": "2048",
        "dataset": "{dataset}",
    }
    for name, value in [
        ("job_quota", str(2**31)),
        ("memory_limit_mb", str(BIG)),
        ("starts_at", "2030-01-01T10:00:00+99:00"),
        ("ends_at", "9999-12-31T23:59:59-23:59"),
        ("dataset", str(HUGE_ID)),
    ]:
        yield Case(
            f"web-round-{name}", "olga", "POST", "/manage/rounds/new/", form={**web, name: value}
        )


def huge_id_cases() -> Iterator[Case]:
    big = str(HUGE_ID)
    gets = [
        "/api/groups/{id}/",
        "/api/datasets/{id}/",
        "/api/datasets/{id}/points/",
        "/api/rounds/{id}/",
        "/api/rounds/{id}/events/",
        "/api/rounds/{id}/final-choice/",
        "/api/rounds/{id}/jobs/",
        "/api/rounds/{id}/leaderboard/",
        "/api/rounds/{id}/version/",
        "/api/rounds/{id}/history/",
        "/api/rounds/{id}/final/",
        "/api/jobs/{id}/",
        "/media/jobs/{id}/p.png",
        "/groups/{id}/",
        "/rounds/{id}/",
        "/rounds/{id}/live/",
        "/rounds/{id}/projector/",
        "/rounds/{id}/projector/live/",
        "/jobs/{id}/",
        "/jobs/{id}/live/",
        "/manage/rounds/{id}/",
        "/manage/rounds/{id}/export.csv",
        "/api/courses/{id}/",
        "/api/courses/{id}/standings/",
        "/api/courses/{id}/grades.csv",
        "/courses/{id}/",
        "/courses/{id}/projector/",
        "/manage/courses/{id}/",
        "/manage/courses/{id}/grades.csv",
    ]
    posts = [
        "/api/groups/{id}/join/",
        "/api/groups/{id}/members/",
        "/api/rounds/{id}/open/",
        "/api/rounds/{id}/close/",
        "/api/rounds/{id}/jobs/",
        "/actions/get_round/{id}.json/",
        "/actions/get_job_params/{id}.json/",
        "/actions/update_job_details/{id}.json/",
        "/actions/add_job_picture/{id}.json/",
        "/actions/get_dataset_points/{id}.json/",
        "/actions/renew_lease/{id}.json/",
        "/actions/release_job/{id}.json/",
        "/jobs/{id}/final/",
        "/manage/rounds/{id}/baseline/",
        "/manage/rounds/{id}/open/",
    ]
    for path in gets:
        yield Case(f"id-get-{path}", "olga", "GET", path.replace("{id}", big), status=404)
    for path in posts:
        yield Case(f"id-post-{path}", "olga", "POST", path.replace("{id}", big), status=404)
    for path in posts[5:9]:  # "²" passes str.isdigit() but not int()
        yield Case(f"id-superscript-{path}", "olga", "POST", path.replace("{id}", "%C2%B2"), 404)
    for path in posts[5:9]:  # the seed's paths take any text as an id
        yield Case(f"id-long-{path}", "olga", "POST", path.replace("{id}", "9" * 400), status=404)
    yield Case("id-patch-round", "olga", "PATCH", f"/api/rounds/{big}/", status=404, body="{}")
    yield Case("id-patch-course", "olga", "PATCH", f"/api/courses/{big}/", status=404, body="{}")


def method_and_size_cases() -> Iterator[Case]:
    # State-changing seed calls refuse GET (a cross-site link must not perform them).
    for who, path in [
        ("carol", "/actions/join_group/Alpha/"),
        ("carol", "/actions/join_group/Beta/?invite_code=wrong"),
        ("carol", "/actions/get_round/{round}.json/"),
        ("walter", "/actions/ping/"),
        ("walter", "/actions/update_job_details/{job}.json/"),
        ("walter", "/actions/add_job_picture/{job}.json/"),
        ("olga", "/actions/add_group/?group_name=Gamma"),
        ("walter", "/actions/renew_lease/{job}.json/"),
        ("walter", "/actions/release_job/{job}.json/"),
    ]:
        yield Case(f"get-{path}", who, "GET", path, status=405)
    for who, method, path in [
        ("olga", "DELETE", "/api/rounds/{round}/"),
        ("alice", "PUT", "/api/me/"),
        ("alice", "POST", "/api/me/"),
        ("olga", "DELETE", "/api/groups/"),
        ("olga", "PATCH", "/api/jobs/{job}/"),
        ("olga", "PUT", "/api/rounds/{round}/close/"),
    ]:
        yield Case(f"method-{method}-{path}", who, method, path, status=405, body="{}")
    # Bodies too large (refused from Content-Length) or without a length.
    for who, path in [
        ("walter", "/actions/update_job_details/{job}.json/"),
        ("olga", "/api/rounds/"),
        ("alice", "/actions/get_round/{round}.json/"),
    ]:
        yield Case(
            f"too-large-{path}", who, "POST", path, status=413, body="x" * 5000, max_body=1000
        )
    yield Case(
        "chunked",
        "olga",
        "POST",
        "/api/groups/",
        status=411,
        body='{"name": "C"}',
        meta={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    yield Case(
        "length-not-a-number",
        "olga",
        "POST",
        "/api/groups/",
        body='{"name": "C"}',
        meta={"CONTENT_LENGTH": "12abc"},
    )
    for label, length, status in (("superscript", "\u00b2", 400), ("5000-digits", "9" * 5000, 413)):
        yield Case(
            f"length-{label}",
            "olga",
            "POST",
            "/api/groups/",
            status=status,
            body='{"name": "C"}',
            meta={"CONTENT_LENGTH": length},
        )
    # Unmatched paths answer the JSON 404.
    for path in [
        "/api/nope/",
        "/api/rounds/abc/",
        "/actions/nope/",
        "/actions/ping/extra/",
        "/api/rounds/{round}/jobs/x/",
        "/actions/get_round/1.json/x",
    ]:
        yield Case(f"unmatched-{path}", "alice", "GET", path, status=404)
    # Bodies that are not what the endpoint reads.
    for label, text in [
        ("not-json", "{"),
        ("array", "[1]"),
        ("string", '"x"'),
        ("bad-utf8", "\udcff"),
        ("unknown-field", '{"nmae": "x"}'),
        ("deep", DEEP),
        ("long-int", '{"name": ' + "9" * 5000 + "}"),
    ]:
        yield Case(f"group-body-{label}", "olga", "POST", "/api/groups/", body=text)
    # Form bodies the parser refuses: a broken multipart body, too many fields.
    broken = "multipart/form-data; boundary=xyz"
    yield Case(
        "multipart-broken",
        "olga",
        "POST",
        "/actions/add_group/",
        body="--xyz\r\nbroken",
        content_type=broken,
    )
    yield Case(
        "multipart-no-boundary",
        "olga",
        "POST",
        "/actions/add_group/",
        body="x",
        content_type="multipart/form-data",
    )
    many = "&".join(f"f{index}=1" for index in range(5000))
    form = "application/x-www-form-urlencoded"
    yield Case("too-many-fields", "walter", "POST", "/actions/ping/", body=many, content_type=form)
    yield Case(
        "too-many-fields-page", "olga", "POST", "/manage/rounds/new/", body=many, content_type=form
    )
    yield Case("anonymous-api", None, "GET", "/api/me/", status=401)
    yield Case("anonymous-seed", None, "POST", "/actions/get_groups.json/", status=401)
    yield Case(
        "bad-token", None, "GET", "/api/me/", status=401, meta={"HTTP_AUTHORIZATION": "Token nope"}
    )
    yield Case("ping-wait-overflow", "walter", "POST", "/actions/ping/", form={"wait": "1e400"})
    yield Case("ping-wait-nan", "walter", "POST", "/actions/ping/", form={"wait": "nan"})
    yield Case("student-pings", "alice", "POST", "/actions/ping/", status=403)
    yield Case(
        "picture-bad-base64",
        "walter",
        "POST",
        "/actions/add_job_picture/{job}.json/",
        form={"filename": "p.png", "data": "!!!"},
    )
    yield Case(
        "picture-non-ascii-base64",
        "walter",
        "POST",
        "/actions/add_job_picture/{job}.json/",
        form={"filename": "p.png", "data": "\u00b2AAA"},
    )


CASES = [
    *nul_and_surrogate_cases(),
    *result_cases(),
    *round_settings_cases(),
    *huge_id_cases(),
    *method_and_size_cases(),
]
