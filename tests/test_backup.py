"""``mlcontest backup`` and ``restore`` round trips, as an operator runs them (the real command
in a subprocess), on SQLite (its online backup API) and on PostgreSQL (pg_dump, pg_restore):
a contest with a job and its pictures (one in the database, as pictures are kept now, and one
left in ``MEDIA_ROOT`` from before) is backed up, changed, and restored as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import REPO, LiveServer
from tests.live_db import ADMIN_URL, drop_postgres, postgres_reachable, scratch_postgres

PICTURE = b"\x89PNG\r\n\x1a\n not really a picture, but bytes to compare"
STORED = b"\x89PNG\r\n\x1a\n kept in the database (contest/pictures.py)"

SETUP = """
import json
from django.core.files.base import ContentFile
from mlcontest.contest import datasets, queue, rounds
from mlcontest.contest.models import Group, JobPicture, Membership, PictureData, Role, User
olga = User.objects.create_user("olga", password="pw", role=Role.ORGANIZER)
alpha = Group.objects.create(name="Alpha", public=True)
alice = User.objects.create_user("alice", password="pw", role=Role.STUDENT)
Membership.objects.create(user=alice, group=alpha)
labels = ["a", "b"] * 10
table = datasets.DatasetTable(["x"], [[float(i)] for i in range(20)], labels,
                              datasets.assign_splits(labels, 1))
dataset = datasets.store_dataset("tiny", table)
round_ = rounds.create_round(olga, name="R", dataset=dataset, metric="accuracy", job_quota=5)
rounds.open_round(olga, round_)
job = queue.submit_job(alice, round_, "knn", {"n_neighbors": 3})
picture = JobPicture(job=job, filename="plot.png", content_type="image/png")
picture.image.save("plot.png", ContentFile(PICTURE))
stored = JobPicture.objects.create(job=job, filename="db.png", image=f"jobs/{job.pk}/db.png",
                                   content_type="image/png")
PictureData.objects.create(picture=stored, data=STORED)
print(json.dumps({"job": job.pk, "picture": picture.image.path}))
"""

STATE = """
import json
from mlcontest.contest.models import Dataset, DatasetChunk, Job, JobPicture, User
from mlcontest.contest.pictures import picture_bytes
pictures = [picture_bytes(p) for p in JobPicture.objects.all()]
print(json.dumps({
    "users": sorted(User.objects.values_list("username", flat=True)),
    "jobs": list(Job.objects.values_list("pk", "algorithm")),
    "points": sum(sum(dataset.split_sizes.values()) for dataset in Dataset.objects.all()),
    "chunks": DatasetChunk.objects.count(),
    "pictures": [picture.hex() for picture in pictures],
}))
"""

CHANGE = """
from mlcontest.contest.models import Job, Role, User
User.objects.create_user("mallory", password="pw", role=Role.STUDENT)
for job in Job.objects.all():
    for picture in job.pictures.all():
        if not hasattr(picture, "stored"):
            picture.image.delete()
    job.delete()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A data folder with a migrated database (no server is started)."""
    database_url = None
    if request.param == "postgresql":
        if not postgres_reachable(ADMIN_URL):
            pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
        database_url = scratch_postgres(f"mlcontest_backup_{os.getpid()}", ADMIN_URL)
    data = LiveServer(tmp_path / "data", database_url=database_url)
    data.data_dir.mkdir()
    try:
        mlcontest(data, "manage", "migrate", "--no-input")
        yield data
    finally:
        if database_url:
            drop_postgres(database_url)


def mlcontest(server: LiveServer, *argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mlcontest.cli", *argv],
        env=server.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def state(server: LiveServer) -> dict[str, object]:
    return dict(json.loads(server.run_python(STATE).strip().splitlines()[-1]))


def test_a_backup_restores_the_database_and_the_pictures(
    server: LiveServer, tmp_path: Path
) -> None:
    server.run_python(f"PICTURE = {PICTURE!r}\nSTORED = {STORED!r}\n" + SETUP)
    before = state(server)
    assert before["pictures"] == [STORED.hex(), PICTURE.hex()] and before["points"] == 20

    archive = tmp_path / "backup.tar.gz"
    mlcontest(server, "backup", str(archive))
    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.loads(opened.extractfile("manifest.json").read())  # type: ignore[union-attr]
    engine = "postgresql" if server.env.get("DATABASE_URL") else "sqlite"
    assert manifest["database"] == engine
    assert "contest" in manifest["migrations"]
    assert ("database.pgdump" if engine == "postgresql" else "database.sqlite3") in names

    server.run_python(CHANGE)
    changed = state(server)
    assert changed["jobs"] == [] and changed["pictures"] == []
    assert "mallory" in changed["users"]  # type: ignore[operator]

    refused = subprocess.run(
        [sys.executable, "-m", "mlcontest.cli", "restore", str(archive)],
        env=server.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "--yes" in refused.stdout
    assert state(server) == changed  # nothing was touched without --yes

    mlcontest(server, "restore", str(archive), "--yes")
    assert state(server) == before
