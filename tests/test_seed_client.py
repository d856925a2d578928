"""The seed's own client (tests/seed_client/api.py, unchanged but for what its web rendering
lost) against a real server: every method, as organizer, student and worker.

The seed module does ``import settings`` and reads its defaults from it at import time, so
each run writes a ``settings.py`` into a temporary folder on ``sys.path`` and imports the seed
module fresh. Database state is checked through ``LiveServer.run_python``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.live import LiveServer
from tests.live_db import drop_postgres, live_database_url
from tests.protocol_helpers import png_bytes

pytestmark = pytest.mark.live

SEED_API = Path(__file__).parent / "seed_client" / "api.py"

SETUP = """
import json
from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import Role, User

olga = User.objects.create_user("olga", password="pw", role=Role.ORGANIZER)
User.objects.create_user("sophie", password="pw")
User.objects.create_user("bruno", password="pw")
User.objects.create_user("walter", password="pw", role=Role.WORKER)
features, labels = [], []
for index in range(10):
    features += [[float(index), 0.0], [float(index), 10.0]]
    labels += ["unten", "oben"]
table = datasets.DatasetTable(["x", "y"], features, labels, datasets.assign_splits(labels, 0))
dataset = datasets.store_dataset("Zwei Linien", table)
round_ = rounds.create_round(
    olga, name="Runde 1", dataset=dataset, metric="accuracy", job_quota=50, queued_quota=10
)
rounds.open_round(olga, round_)
print(json.dumps({"round": round_.pk, "dataset": dataset.pk}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database_url = live_database_url("seed")
    live = LiveServer(tmp_path_factory.mktemp("seed-live"), database_url=database_url)
    with live:
        yield live
    if database_url:
        drop_postgres(database_url)


@pytest.fixture(scope="module")
def ids(server: LiveServer) -> dict[str, int]:
    """The ids of the round and dataset made by SETUP."""
    return dict(json.loads(server.run_python(SETUP)))


def query(server: LiveServer, code: str) -> Any:
    """Run ``code`` (which sets ``result``) on the server's database; ``result`` as JSON."""
    return json.loads(
        server.run_python(f"import json\n{code}\nprint(json.dumps(result, default=str))")
    )


@pytest.fixture(scope="module")
def seed(
    server: LiveServer, ids: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The seed module, imported once its users exist on the server."""
    folder = tmp_path_factory.mktemp("seed-settings")
    (folder / "settings.py").write_text(
        'BACKEND_USERNAME = "olga"\n'
        'BACKEND_PASSWORD = "pw"\n'
        # A trailing slash: normalize_url must join it to "env.json/" with a single one.
        f'SERVER_URI = "{server.url}/"\n',
        encoding="utf-8",
    )
    saved = sys.modules.pop("settings", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("seed_api", SEED_API)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("settings", None)
        if saved is not None:
            sys.modules["settings"] = saved


@pytest.fixture(scope="module")
def organizer(seed: ModuleType) -> Any:
    return seed.API()  # every default from settings.py


@pytest.fixture(scope="module")
def student(seed: ModuleType, server: LiveServer) -> Any:
    return seed.API("sophie", "pw", server.url)


@pytest.fixture(scope="module")
def worker(seed: ModuleType, server: LiveServer) -> Any:
    return seed.API("walter", "pw", server.url)


def details(answer: dict[str, Any]) -> dict[str, Any]:
    """The server's JSON error body that the seed wraps in ``details``."""
    assert answer["status"] == "error", answer
    body = json.loads(answer["details"])
    assert body["status"] == "error" and body["code"] and body["message"]
    return body


def test_normalize_url(seed: ModuleType) -> None:
    assert seed.normalize_url("http://h:1//", "//a/b/") == "http://h:1/a/b/"


def test_init_logs_in_with_settings_defaults(organizer: Any, server: LiveServer) -> None:
    assert organizer.host == server.url + "/"
    assert {cookie.name for cookie in organizer.cj} >= {"csrftoken", "sessionid"}
    assert organizer.load("ok.json") == {"status": "ok", "username": "olga"}
    assert organizer.login("olga", "pw") is True
    env = organizer.load("env.json/")
    assert env["authenticated"] is True and env["csrftoken"]


def test_wrong_password_is_not_ok_and_calls_get_401(seed: ModuleType, server: LiveServer) -> None:
    intruder = seed.API("olga", "wrong", server.url)
    # A JSON refusal has status "error": the seed's login falls through and answers None.
    assert intruder.login("olga", "wrong") is None
    refused = intruder.load("accounts/login/?next=%2Fok.json", username="olga", password="wrong")
    assert refused["code"] == 400 and details(refused)["code"] == "login_failed"
    answer = intruder.list_groups()
    assert answer["code"] == 401 and details(answer)["code"] == "not_authenticated"


def test_groups_with_spaces_and_umlauts(organizer: Any, student: Any, server: LiveServer) -> None:
    assert organizer.add_group("Grüne Gruppe")["status"] == "ok"
    assert organizer.add_group("Grüne Gruppe 1", public=True)["group"]["public"] is True
    private = organizer.add_group("Rote Gruppe", public=False)
    assert private["group"]["public"] is False and private["group"]["invite_code"]

    plus = organizer.add_group("Grüne+Gruppe")
    assert plus["code"] == 400 and "group_name" in details(plus)["fields"]
    again = organizer.add_group("Grüne Gruppe")
    assert again["code"] == 409 and "group_name" in details(again)["fields"]
    assert student.add_group("Schüler")["code"] == 403

    # quote_plus makes "Grüne Gruppe 1" into Gr%C3%BCne+Gruppe+1.
    joined = student.join_group("Grüne Gruppe 1")
    assert joined["status"] == "ok" and joined["group"]["members"] == ["sophie"]
    # A private group answers as a missing one to whoever lacks its code.
    assert student.join_group("Rote Gruppe")["code"] == 404
    assert student.join_group("Niemand")["code"] == 404
    assert student.join_group("Grüne Gruppe")["group"]["name"] == "Grüne Gruppe"

    seen = student.list_groups()
    assert {"Grüne Gruppe", "Grüne Gruppe 1"} <= set(seen) and "Rote Gruppe" not in seen
    assert seen["Grüne Gruppe"]["is_member"] is True
    assert set(organizer.list_groups()) >= {"Grüne Gruppe", "Grüne Gruppe 1", "Rote Gruppe"}

    stored = query(
        server,
        "from mlcontest.contest.models import Group, Membership\n"
        "result = {'groups': {g.name: g.public for g in Group.objects.all()},\n"
        "          'sophie': [m.group.name for m in\n"
        "                     Membership.objects.filter(user__username='sophie')]}",
    )
    assert stored["groups"] == {"Grüne Gruppe": True, "Grüne Gruppe 1": True, "Rote Gruppe": False}
    assert stored["sophie"] == ["Grüne Gruppe"]


@pytest.fixture(scope="module")
def in_group(organizer: Any, student: Any) -> str:
    """Sophie plays for "Grüne Gruppe" from here on."""
    organizer.add_group("Grüne Gruppe")  # may exist already
    assert student.join_group("Grüne Gruppe")["status"] == "ok"
    return "Grüne Gruppe"


def submit(student: Any, ids: dict[str, int]) -> int:
    """Queue a job through the JSON API with the seed's own ``load`` (form fields)."""
    answer = student.load(f"api/rounds/{ids['round']}/jobs/", algorithm="knn")
    assert answer["state"] == "queued", answer
    return int(answer["id"])


def true_split_labels(organizer: Any, dataset_id: int) -> dict[str, list[Any]]:
    """The true labels per split, as only an organizer reads them: a worker gets the training
    labels alone."""
    labels: dict[str, list[Any]] = {"training": [], "test": [], "validation": []}
    for point in organizer.get_dataset_points(dataset_id):
        labels[point["split"]].append(point["label"])
    return labels


def test_get_round_enters_the_group(
    ids: dict[str, int], student: Any, in_group: str, server: LiveServer
) -> None:
    answer = student.get_round(ids["round"])
    assert answer["name"] == "Runde 1" and answer["state"] == "open"
    assert answer["my_group"]["name"] == in_group
    entries = query(
        server,
        "from mlcontest.contest.models import RoundEntry\n"
        "result = [e.group.name for e in RoundEntry.objects.all()]",
    )
    assert entries == [in_group]
    assert student.get_round(999999)["code"] == 404


def test_datasets_for_student_and_worker(
    organizer: Any, ids: dict[str, int], student: Any, worker: Any, server: LiveServer
) -> None:
    dataset_id = ids["dataset"]
    listed = worker.get_datasets()
    assert set(listed) == {dataset_id} and worker.dataset_cache == listed
    assert listed[dataset_id]["name"] == "Zwei Linien"
    assert listed[dataset_id]["url"].startswith("/actions/")
    points = organizer.get_dataset_points(dataset_id)
    assert len(points) == 20 and all(point["label"] in ("oben", "unten") for point in points)
    for who in (student, worker):  # a worker fits on the training labels only
        hidden = who.get_dataset_points(dataset_id)
        assert len(hidden) == 20
        assert {point["split"] for point in hidden} == {"training", "test", "validation"}
        assert all(point["label"] is None for point in hidden if point["split"] != "training")
        assert all(point["label"] is not None for point in hidden if point["split"] == "training")
    assert student.get_dataset_points(424242) == []  # the seed's answer for an unknown id


def test_full_job_cycle(
    organizer: Any,
    seed: ModuleType,
    ids: dict[str, int],
    student: Any,
    worker: Any,
    in_group: str,
    server: LiveServer,
    tmp_path: Path,
) -> None:
    dataset_id = ids["dataset"]
    job_id = submit(student, ids)
    assert worker.ping() == job_id

    params = worker.get_job_params(job_id)
    assert params["algorithm"] == "knn" and params["dataset"] == dataset_id
    assert params["params"]["n_neighbors"] == 5

    labels = true_split_labels(organizer, dataset_id)
    answer = worker.update_job_details(
        job_id,
        1.0,
        1.0,
        labels["training"],
        labels["test"],
        labels["validation"],
        extra_scores_test={"f1_macro": 1.0},
        message="Grüße aus dem Labor",
    )
    assert answer["status"] == "ok" and answer["stored"] is True
    again = worker.update_job_details(
        job_id,
        1.0,
        1.0,
        labels["training"],
        labels["test"],
        labels["validation"],
        extra_scores_test={"f1_macro": 1.0},
        message="Grüße aus dem Labor",
    )
    assert again["status"] == "ok" and again["stored"] is False

    picture = tmp_path / "plots" / "Entscheidungsgrenze.png"
    picture.parent.mkdir()
    picture.write_bytes(png_bytes("green"))
    added = worker.add_job_picture(job_id, str(picture))
    assert added["status"] == "ok" and added["filename"] == "Entscheidungsgrenze.png"
    assert student.load(added["url"], raw=True) == picture.read_bytes()  # her group's job
    # Another student, the worker (it never learns whose job it ran), or nobody, gets no
    # picture of the job (its path is easy to guess).
    assert worker.load(added["url"])["code"] == 404
    assert seed.API("bruno", "pw", server.url).load(added["url"])["code"] == 404
    assert requests.get(server.url + added["url"], timeout=10).status_code == 401

    assert worker.ping() is None
    stored = query(
        server,
        f"from mlcontest.contest.models import Job\njob = Job.objects.get(pk={job_id})\n"
        "result = {'state': job.state, 'score_test': job.score_test,\n"
        "  'score_validation': job.score_validation, 'message': job.message,\n"
        "  'group': job.group.name, 'worker': job.worker.username,\n"
        "  'extra': job.extra_scores_test, 'mismatch': job.score_mismatch,\n"
        "  'pictures': [p.filename for p in job.pictures.all()]}",
    )
    assert stored["state"] == "done" and stored["score_test"] == 1.0
    assert stored["score_validation"] == 1.0 and stored["mismatch"] is False
    assert stored["message"] == "Grüße aus dem Labor" and stored["group"] == in_group
    assert stored["worker"] == "walter" and stored["extra"]["f1_macro"] == 1.0
    assert stored["pictures"] == ["Entscheidungsgrenze.png"]


def test_students_cannot_act_as_workers(
    ids: dict[str, int],
    student: Any,
    worker: Any,
    in_group: str,
    server: LiveServer,
    tmp_path: Path,
) -> None:
    job_id = submit(student, ids)
    assert student.ping()["code"] == 403
    assert student.get_job_params(job_id)["code"] == 403
    answer = student.update_job_details(job_id, 1.0, 1.0, [], [], [])
    assert answer["code"] == 403 and details(answer)["code"] == "forbidden"
    picture = tmp_path / "p.png"
    picture.write_bytes(png_bytes())
    assert student.add_job_picture(job_id, str(picture))["code"] == 403
    assert worker.ping() == job_id  # the refusals left the job queued
    worker.update_job_details(job_id, None, None, None, None, None, message="aus", success=False)


def test_server_rescores_and_flags(
    organizer: Any,
    ids: dict[str, int],
    student: Any,
    worker: Any,
    in_group: str,
    server: LiveServer,
) -> None:
    job_id = submit(student, ids)
    assert worker.ping() == job_id
    labels = true_split_labels(organizer, ids["dataset"])
    test = ["oben" if label == "unten" else "unten" for label in labels["test"]]
    answer = worker.update_job_details(
        job_id, 1.0, 1.0, labels["training"], test, labels["validation"]
    )
    assert answer["status"] == "ok" and answer["job"]["score_test"] == 0.0
    stored = query(
        server,
        f"from mlcontest.contest.models import Job\njob = Job.objects.get(pk={job_id})\n"
        "result = [job.score_test, job.worker_score_test, job.score_mismatch]",
    )
    assert stored == [0.0, 1.0, True]


def test_bad_result_is_refused_and_a_failure_is_stored(
    organizer: Any,
    ids: dict[str, int],
    student: Any,
    worker: Any,
    in_group: str,
    server: LiveServer,
) -> None:
    job_id = submit(student, ids)
    assert worker.ping() == job_id
    labels = true_split_labels(organizer, ids["dataset"])
    short = worker.update_job_details(
        job_id, 1.0, 1.0, labels["training"], labels["test"][:-1], labels["validation"]
    )
    assert short["code"] == 400 and "labels_test" in details(short)["fields"]
    nan = worker.update_job_details(
        job_id, float("nan"), 1.0, labels["training"], labels["test"], labels["validation"]
    )
    assert nan["code"] == 400 and "score_test" in details(nan)["fields"]
    failed = worker.update_job_details(
        job_id, None, None, None, None, None, message="MemoryError", success=False
    )
    assert failed["status"] == "ok" and failed["job"]["state"] == "failed"
    stored = query(
        server,
        f"from mlcontest.contest.models import Job\njob = Job.objects.get(pk={job_id})\n"
        "result = [job.state, job.success, job.score_test, job.message]",
    )
    assert stored == ["failed", False, None, "MemoryError"]


def test_load_raw_and_ping_when_idle(worker: Any) -> None:
    assert worker.load("actions/ping/", raw=True) == b"null"
    assert worker.ping() is None
