"""``mlcontest.client.API`` against a real server, and its retries against a stub server."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from urllib3.connection import HTTPConnection

from mlcontest.client import (
    API,
    BadRequest,
    ConnectionFailed,
    Forbidden,
    LoginFailed,
    NotAuthenticated,
    NotFound,
    ServerFailure,
)
from tests.http_stub import Stub
from tests.live import LiveServer, free_port
from tests.worker_support import live_server, setup_round

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("client"), "client") as live:
        yield live


@pytest.fixture(scope="module")
def contest(server: LiveServer) -> dict[str, int]:
    return setup_round(server, "moons", "moons", n=100)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_login_and_typed_errors_carrying_the_servers_json(
    server: LiveServer, contest: dict[str, int]
) -> None:
    with pytest.raises(LoginFailed) as failed:
        API("alice", "wrong", server.url)
    assert failed.value.code == "login_failed"

    alice = API("alice", "pw", server.url)
    with pytest.raises(Forbidden) as refused:
        alice.get_job_params(1)
    assert refused.value.status == 403
    assert refused.value.body["status"] == "error" and refused.value.code == "forbidden"
    with pytest.raises(NotFound):
        alice.get_job(10**9)
    with pytest.raises(BadRequest) as invalid:
        alice.submit_job(contest["round"], "knn", {"n_neighbors": 0})
    assert "n_neighbors" in invalid.value.fields

    # The seed's behaviour, for scripts that check the answer instead of catching.
    seed_style = API("alice", "pw", server.url, raise_errors=False)
    answer = seed_style.get_job_params(1)
    assert answer["status"] == "error" and answer["code"] == 403
    assert json.loads(answer["details"])["code"] == "forbidden"


def test_a_seed_style_worker_script_runs_unchanged(
    server: LiveServer, contest: dict[str, int], tmp_path: Path
) -> None:
    """The seed's calls, arguments and answers, in the order a seed worker script makes them."""
    alice = API("alice", "pw", server.url)
    assert "Alpha" in alice.list_groups()
    assert alice.get_round(contest["round"])["id"] == contest["round"]
    submitted = alice.submit_job(contest["round"], "knn", {"n_neighbors": 3})
    assert submitted["state"] == "queued"

    api = API("walter", "pw", server.url)
    job_id = api.ping()
    assert job_id is not None and job_id == submitted["id"]
    assert api.ping() is None  # nothing else queued
    params = api.get_job_params(job_id)
    assert params["algorithm"] == "knn" and params["params"]["n_neighbors"] == 3
    datasets = api.get_datasets()
    assert contest["dataset"] in datasets and api.dataset_cache is datasets
    points = api.get_dataset_points(params["dataset"])
    assert {p["split"] for p in points} == {"training", "test", "validation"}
    assert all((p["label"] is None) == (p["split"] != "training") for p in points)
    # A worker gets the training labels only; as a perfect model's predictions, post the true
    # labels that the organizer reads.
    truth = API("olga", "pw", server.url).get_dataset_points(params["dataset"])
    labels = {
        split: [p["label"] for p in truth if p["split"] == split]
        for split in ("training", "test", "validation")
    }
    answer = api.update_job_details(
        job_id, 1.0, 1.0, labels["training"], labels["test"], labels["validation"]
    )
    assert answer["status"] == "ok" and answer["stored"] is True
    again = api.update_job_details(
        job_id, 1.0, 1.0, labels["training"], labels["test"], labels["validation"]
    )
    assert again["stored"] is False  # posting the same result twice is harmless
    picture = tmp_path / "plot.png"
    picture.write_bytes(png_bytes())
    assert api.add_job_picture(job_id, str(picture))["filename"] == "plot.png"

    job = alice.get_job(job_id)
    assert job["state"] == "done" and job["score_test"] == 1.0
    assert [p["filename"] for p in job["pictures"]] == ["plot.png"]
    assert alice.wait_for_job(job_id, timeout=5)["id"] == job_id

    # Students see no hidden labels.
    student_points = alice.get_dataset_points(contest["dataset"])
    assert {p["label"] for p in student_points if p["split"] == "test"} == {None}


def test_json_api_methods(server: LiveServer, contest: dict[str, int]) -> None:
    alice = API("alice", "pw", server.url)
    assert alice.get_me()["username"] == "alice"
    algorithms = alice.get_algorithms()
    assert {"knn", "svm", "dbscan"} <= {a["name"] for a in algorithms["algorithms"]}
    assert contest["round"] in [r["id"] for r in alice.get_rounds()]
    assert alice.get_round_details(contest["round"])["dataset"] == contest["dataset"]
    assert [d["id"] for d in alice.get_dataset_list()] == [contest["dataset"]]
    assert alice.get_dataset(contest["dataset"])["splits"]["test"] > 0
    job = alice.submit_job(contest["round"], "svm", {"kernel": "linear"})
    assert job["id"] in [j["id"] for j in alice.get_round_jobs(contest["round"])]
    # The seed-style test finished a job for Alpha in this round.
    assert "Alpha" in json.dumps(alice.get_leaderboard(contest["round"]))


def test_uploading_predictions(server: LiveServer, contest: dict[str, int]) -> None:
    own = setup_round(server, "own", "moons", n=60)["round"]
    server.run_python(
        f"from mlcontest.contest.models import Round\n"
        f"Round.objects.filter(pk={own}).update(prediction_uploads=True)"
    )
    alice = API("alice", "pw", server.url)
    text = alice.request("GET", f"api/rounds/{own}/data/test-validation.csv").text
    ids = [int(row.split(",")[0]) for row in text.lstrip("\ufeff").splitlines()[1:]]
    classes = alice.get_dataset(alice.get_round_details(own)["dataset"])["labels"]
    with pytest.raises(BadRequest) as refused:
        alice.upload_predictions(own, b"id,label\n" + f"{ids[0]},\xe4\n".encode("latin-1"))
    assert "Row 2 is not UTF-8" in str(refused.value)
    job = alice.upload_predictions(own, {point: classes[0] for point in ids})
    assert (job["algorithm"], job["state"], job["quota"]["jobs_used"]) == ("uploaded", "done", 1)
    assert job["score_test"] is not None and "score_validation" not in job


def test_organizer_methods(server: LiveServer, contest: dict[str, int]) -> None:
    olga = API("olga", "pw", server.url)
    other = setup_round(server, "moons", "moons", n=100)["round"]
    assert olga.close_round(other)["state"] == "closed"
    assert isinstance(olga.get_final_ranking(other), dict)
    assert olga.open_round(other)["state"] == "open"
    with pytest.raises(Forbidden):
        API("alice", "pw", server.url).close_round(other)
    course = olga.create_course("ML 1", [3, 1])
    assert course["points"] == [3, 1] and course["rounds"] == []
    alice = API("alice", "pw", server.url)
    assert [c["name"] for c in alice.get_courses()] == ["ML 1"]
    standings = alice.get_course_standings(course["id"])
    assert standings["groups"] == [] and standings["me"]["total"] == 0
    with pytest.raises(Forbidden):
        alice.create_course("Mine")


def test_a_worker_token_needs_no_login(server: LiveServer, contest: dict[str, int]) -> None:
    key = server.run_python(
        """
from mlcontest.contest.models import ApiToken, User
print(ApiToken.issue(User.objects.get(username="walter"), "t")[1])
"""
    ).strip()
    api = API(token=key, host=server.url, worker_name="box-1")
    assert isinstance(api.get_datasets(), dict)
    with pytest.raises(NotAuthenticated) as bad:
        API(token="nope", host=server.url).get_datasets()
    assert bad.value.code == "invalid_token"


def test_posting_a_result_claims_the_next_job(server: LiveServer) -> None:
    """One request per job: ``update_job_details(claim_next=True)`` answers the next job."""
    ids = setup_round(server, "moons-next", "moons", n=100)
    olga = API("olga", "pw", server.url)
    drain = API("walter", "pw", server.url)
    while drain.ping() is not None:  # jobs other tests left queued
        pass
    first, second = (
        olga.submit_job(ids["round"], "knn", {"n_neighbors": k}, baseline=True)["id"]
        for k in (1, 2)
    )
    api = API("walter", "pw", server.url)
    claimed = api.claim()
    assert claimed is not None and claimed[0] == first
    points = olga.get_dataset_points(ids["dataset"])  # the truth, as perfect predictions
    labels = {
        split: [p["label"] for p in points if p["split"] == split]
        for split in ("training", "test", "validation")
    }
    result = (1.0, 1.0, labels["training"], labels["test"], labels["validation"])
    answer = api.update_job_details(first, *result, claim_next=True)
    assert answer["stored"] is True and answer["next"]["id"] == second
    assert answer["next"]["params"]["params"]["n_neighbors"] == 2
    assert olga.get_job(second)["state"] == "running"
    answer = api.update_job_details(second, *result, claim_next=True)
    assert answer["next"] is None
    assert [olga.get_job(job)["state"] for job in (first, second)] == ["done", "done"]


def test_proxy_and_ca_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read once per client (requests would read them on every request), with the same
    meaning: a proxy unless NO_PROXY names the host, and REQUESTS_CA_BUNDLE for HTTPS."""
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/contest-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    api = API(token="key", host="http://contest.example:8000")
    assert api.session.proxies == {"http": "http://proxy.example:3128"}
    assert api.session.verify == "/etc/ssl/contest-ca.pem"
    assert api.clone().session.proxies == api.session.proxies
    monkeypatch.setenv("NO_PROXY", "contest.example")
    assert API(token="key", host="http://contest.example:8000").session.proxies == {}


def token_client(url: str, retries: int = 3) -> API:
    return API(token="t", host=url, retries=retries, backoff=0.01)


def test_5xx_answers_are_retried_with_backoff() -> None:
    stub = Stub([503, 502, 200])
    try:
        assert token_client(stub.url).load("actions/ping/") == {"ok": True}
        assert len(stub.requests) == 3
    finally:
        stub.close()


def test_retries_give_up_with_the_servers_error() -> None:
    stub = Stub([500] * 10)
    try:
        with pytest.raises(ServerFailure) as failed:
            token_client(stub.url, retries=2).load("actions/ping/")
        assert failed.value.code == "boom" and len(stub.requests) == 3
    finally:
        stub.close()


def test_4xx_is_not_retried_and_submitting_is_not_repeated_on_5xx() -> None:
    stub = Stub([400, 503])
    try:
        with pytest.raises(BadRequest):
            token_client(stub.url).load("actions/ping/")
        with pytest.raises(ServerFailure):  # the job may have been created: do not send twice
            token_client(stub.url).submit_job(1, "knn")
        assert len(stub.requests) == 2
    finally:
        stub.close()


def test_connection_errors_are_retried_then_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    api = token_client(f"http://127.0.0.1:{free_port()}", retries=2)
    calls = []
    original = HTTPConnection._new_conn  # urllib3's Retry tries again below requests

    def counting(connection: HTTPConnection) -> Any:
        calls.append(connection.port)
        return original(connection)

    monkeypatch.setattr(HTTPConnection, "_new_conn", counting)
    with pytest.raises(ConnectionFailed, match="connection refused"):
        api.ping()
    assert len(calls) == 3


def test_pictures_are_sent_base64_encoded() -> None:
    stub = Stub([])
    seen: list[bytes] = []
    try:
        api = token_client(stub.url)
        original = api.session.request

        def capture(*args: Any, **kwargs: Any) -> Any:
            seen.append(base64.b64decode(kwargs["data"]["data"]))
            return original(*args, **kwargs)

        api.session.request = capture  # type: ignore[method-assign]
        api.add_job_picture_data(3, "a.png", b"\x89PNG-bytes")
        assert seen == [b"\x89PNG-bytes"]
        assert stub.requests == ["POST /actions/add_job_picture/3.json/"]
    finally:
        stub.close()
