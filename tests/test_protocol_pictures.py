"""The seed's ``add_job_picture``: ``filename`` is the worker's local path (keep its base name),
``data`` the base64 of a PNG or JPEG. Workers only, and only for a job they ran."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from mlcontest.contest import pictures
from mlcontest.contest.models import Job, JobPicture, PictureData
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import (
    assert_error,
    b64,
    jpeg_bytes,
    logged_in,
    ok_json,
    ping,
    png_bytes,
)


def path(job_id: object) -> str:
    return f"/actions/add_job_picture/{job_id}.json/"


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@dataclass
class Ran:
    job: Job
    worker: Client


@pytest.fixture
def ran(contest: Contest) -> Ran:
    """A job walter's session claimed and posted a result for (pictures come after)."""
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    ok_json(
        worker.post(
            f"/actions/update_job_details/{job.pk}.json/",
            result_fields(true_labels(contest.dataset)),
        )
    )
    return Ran(Job.objects.get(pk=job.pk), worker)


def stored(picture: JobPicture) -> bytes | None:
    return pictures.picture_bytes(picture)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("/tmp/worker-3/plots/confusion.png", "confusion.png"),
        ("C:\\Users\\Wörker\\plots\\scatter plot.png", "scatter plot.png"),
        ("decision_boundary.png", "decision_boundary.png"),
        ("../../../etc/passwd.png", "passwd.png"),
    ],
)
def test_picture_keeps_only_the_base_name(
    contest: Contest, ran: Ran, media_root: Path, sent: str, kept: str
) -> None:
    image = png_bytes()
    body = ok_json(ran.worker.post(path(ran.job.pk), {"filename": sent, "data": b64(image)}))
    assert body["status"] == "ok" and body["filename"] == kept
    picture = JobPicture.objects.get(job=ran.job)
    assert picture.filename == kept and picture.content_type == "image/png"
    assert body["url"] == picture.image.url and body["url"].startswith("/media/")
    assert stored(picture) == image
    # In the database, for every server machine: no file on this one's disk.
    assert PictureData.objects.filter(picture=picture).exists()
    assert not media_root.exists() or not any(media_root.rglob("*.png"))


def test_jpeg_is_accepted(contest: Contest, ran: Ran) -> None:
    ok_json(ran.worker.post(path(ran.job.pk), {"filename": "a.jpg", "data": b64(jpeg_bytes())}))
    assert JobPicture.objects.get(job=ran.job).content_type == "image/jpeg"


def test_picture_appears_in_job_description(contest: Contest, ran: Ran) -> None:
    ok_json(ran.worker.post(path(ran.job.pk), {"filename": "p.png", "data": b64(png_bytes())}))
    job = ok_json(logged_in(contest.alice).get(f"/api/jobs/{ran.job.pk}/"))
    assert [picture["filename"] for picture in job["pictures"]] == ["p.png"]


def test_picture_while_running_is_accepted(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    ok_json(worker.post(path(job.pk), {"filename": "early.png", "data": b64(png_bytes())}))
    assert JobPicture.objects.filter(job=job).count() == 1


def test_same_picture_twice_is_stored_once(contest: Contest, ran: Ran) -> None:
    fields = {"filename": "/a/plot.png", "data": b64(png_bytes())}
    ok_json(ran.worker.post(path(ran.job.pk), fields))
    ok_json(ran.worker.post(path(ran.job.pk), fields))
    assert JobPicture.objects.filter(job=ran.job).count() == 1


def test_new_picture_under_same_name_replaces_the_old(contest: Contest, ran: Ran) -> None:
    ok_json(ran.worker.post(path(ran.job.pk), {"filename": "p.png", "data": b64(png_bytes())}))
    blue = png_bytes("blue")
    ok_json(ran.worker.post(path(ran.job.pk), {"filename": "p.png", "data": b64(blue)}))
    picture = JobPicture.objects.get(job=ran.job)
    assert stored(picture) == blue


BAD: list[tuple[str, str, dict[str, str]]] = [
    ("text", "data", {"filename": "a.png", "data": b64(b"hello, not an image")}),
    ("gif", "data", {"filename": "a.gif", "data": b64(b"GIF89a\x01\x00\x01\x00")}),
    ("svg", "data", {"filename": "a.svg", "data": b64(b"<svg xmlns='x'></svg>")}),
    ("truncated png", "data", {"filename": "a.png", "data": b64(png_bytes()[:30])}),
    (
        "png magic only",
        "data",
        {"filename": "a.png", "data": b64(b"\x89PNG\r\n\x1a\n" + b"0" * 40)},
    ),
    ("broken base64", "data", {"filename": "a.png", "data": "@@not base64@@"}),
    ("base64 bad padding", "data", {"filename": "a.png", "data": "iVBORw0KGgo"}),
    ("empty data", "data", {"filename": "a.png", "data": ""}),
    ("no data", "data", {"filename": "a.png"}),
    ("no filename", "filename", {"data": b64(png_bytes())}),
    ("hidden file", "filename", {"filename": "/tmp/.hidden", "data": b64(png_bytes())}),
    ("dots", "filename", {"filename": "..", "data": b64(png_bytes())}),
]


@pytest.mark.parametrize(("case", "field", "fields"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_picture_is_400_and_nothing_stored(
    contest: Contest, ran: Ran, media_root: Path, case: str, field: str, fields: dict[str, str]
) -> None:
    assert_error(ran.worker.post(path(ran.job.pk), fields), 400, "invalid", (field,))
    assert not JobPicture.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_too_large_picture_is_refused(contest: Contest, ran: Ran, settings: Any) -> None:
    image = png_bytes(size=(200, 200))
    settings.MAX_PICTURE_BYTES = len(image) - 1
    response = ran.worker.post(path(ran.job.pk), {"filename": "big.png", "data": b64(image)})
    assert_error(response, 400, "invalid", ("data",))
    assert not JobPicture.objects.exists()


def test_picture_from_another_session_is_refused(contest: Contest, ran: Ran) -> None:
    other = logged_in(contest.walter)
    response = other.post(path(ran.job.pk), {"filename": "p.png", "data": b64(png_bytes())})
    assert_error(response, 409, "not_holder")
    assert not JobPicture.objects.exists()


def test_picture_for_a_queued_job_is_refused(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    response = logged_in(contest.walter).post(
        path(job.pk), {"filename": "p.png", "data": b64(png_bytes())}
    )
    assert_error(response, 409, "not_holder")
    assert not JobPicture.objects.exists()


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_students_may_not_add_pictures(contest: Contest, ran: Ran, who: str) -> None:
    client = logged_in(getattr(contest, who))
    response = client.post(path(ran.job.pk), {"filename": "p.png", "data": b64(png_bytes())})
    assert_error(response, 403, "forbidden")
    assert not JobPicture.objects.exists()


def test_anonymous_picture_is_401(contest: Contest, ran: Ran) -> None:
    response = logged_in(None).post(
        path(ran.job.pk), {"filename": "p.png", "data": b64(png_bytes())}
    )
    assert_error(response, 401, "not_authenticated")
    assert not JobPicture.objects.exists()


def test_picture_for_unknown_job_is_404(contest: Contest, ran: Ran) -> None:
    response = ran.worker.post(path(999999), {"filename": "p.png", "data": b64(png_bytes())})
    assert_error(response, 404, "not_found")


def test_picture_is_post_only(contest: Contest, ran: Ran) -> None:
    assert_error(ran.worker.get(path(ran.job.pk)), 405, "method_not_allowed")


def test_picture_is_served_only_to_who_may_see_the_job(contest: Contest, ran: Ran) -> None:
    # The path /media/jobs/<id>/<name> is easy to guess: it must not show another group's
    # pictures (PRODUCT.md: students never see other groups' job details).
    image = png_bytes("purple")
    answer = ok_json(ran.worker.post(path(ran.job.pk), {"filename": "p.png", "data": b64(image)}))
    for who in (contest.alice, contest.olga):
        response = logged_in(who).get(answer["url"])
        assert response.status_code == 200, who
        assert response.content == image
        assert response["Content-Type"] == "image/png"
    # A worker, even the one that ran the job, sees no job of a group (contest.visibility).
    for who in (contest.bob, contest.carol, contest.walter):
        assert_error(logged_in(who).get(answer["url"]), 404, "not_found")
    assert_error(logged_in(None).get(answer["url"]), 401, "not_authenticated")


def test_unknown_picture_is_404(contest: Contest, ran: Ran) -> None:
    ok_json(ran.worker.post(path(ran.job.pk), {"filename": "p.png", "data": b64(png_bytes())}))
    client = logged_in(contest.alice)
    assert_error(client.get(f"/media/jobs/{ran.job.pk}/other.png"), 404, "not_found")
    assert_error(client.get(f"/media/jobs/{ran.job.pk}/../../secret_key"), 404)
    assert_error(client.get("/media/jobs/999999/p.png"), 404, "not_found")


def test_a_picture_stored_as_a_file_before_is_still_served(
    contest: Contest, ran: Ran, media_root: Path
) -> None:
    """Pictures from before they moved into the database: read from MEDIA_ROOT."""
    old = png_bytes("green")
    picture = JobPicture(job=ran.job, filename="old.png", content_type="image/png")
    picture.image.save("old.png", ContentFile(old), save=True)  # as the server used to
    assert not PictureData.objects.filter(picture=picture).exists()
    response = logged_in(contest.alice).get(f"/media/jobs/{ran.job.pk}/old.png")
    assert response.status_code == 200 and response.content == old
    # Posted again with new bytes, it moves into the database.
    blue = png_bytes("blue")
    ok_json(ran.worker.post(path(ran.job.pk), {"filename": "old.png", "data": b64(blue)}))
    assert bytes(PictureData.objects.get(picture=picture).data) == blue
    assert logged_in(contest.alice).get(f"/media/jobs/{ran.job.pk}/old.png").content == blue


def test_the_migration_copies_the_files_it_finds_into_the_database(
    contest: Contest, ran: Ran, media_root: Path
) -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("mlcontest.contest.migrations.0012_picture_data")
    kept = JobPicture(job=ran.job, filename="kept.png", content_type="image/png")
    kept.image.save("kept.png", ContentFile(png_bytes("green")), save=True)
    lost = JobPicture.objects.create(
        job=ran.job, filename="lost.png", content_type="image/png", image="jobs/1/nowhere.png"
    )
    migration.copy_files_in(apps, None)
    assert bytes(PictureData.objects.get(picture=kept).data) == png_bytes("green")
    assert not PictureData.objects.filter(picture=lost).exists()  # another machine's file
