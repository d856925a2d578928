"""Set-up for bench/lecture_hall.py: the server (``mlcontest serve``, optionally with more
threads), the class and the 100,000-job round, made in the server's own database."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live import LiveServer


class LectureServer(LiveServer):
    """tests/live.py's server, with ``--threads`` when given (else the command's default)."""

    def __init__(self, data_dir: Path, database_url: str | None, threads: int | None) -> None:
        super().__init__(data_dir, database_url=database_url, processes=2, threads=threads)

    def start(self, timeout: float = 120.0) -> LectureServer:
        super().start(timeout)
        return self


def reset_postgres(url: str) -> bool:
    """Drop and create the benchmark's own database; False when PostgreSQL is not there."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return False
    return True


# Users get unusable passwords and sessions made directly: hashing 300 real passwords would
# take minutes and measures nothing about the contest.
HALL = """
import json
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import (
    ApiToken, Group, Membership, Role, RoundEntry, User, hash_token_key, new_token)

def users(names, role):
    return User.objects.bulk_create(
        [User(username=name, role=role, password=make_password(None)) for name in names])

olga, = users(["olga"], Role.ORGANIZER)
walter, = users(["walter"], Role.WORKER)
labels = ["a", "b"] * 50
table = datasets.DatasetTable(["x", "y"], [[float(i), float(i % 7)] for i in range(100)],
                              labels, datasets.assign_splits(labels, seed=1))
dataset = datasets.store_dataset("hall", table)
round_ = rounds.create_round(olga, name="Lecture", dataset=dataset, metric="accuracy",
                             job_quota=10000, queued_quota=5)
rounds.open_round(olga, round_)
groups = Group.objects.bulk_create([Group(name=f"Table {i:02d}") for i in range(60)])
students = users([f"student{i:03d}" for i in range(300)], Role.STUDENT)
Membership.objects.bulk_create(
    [Membership(user=user, group=groups[i % 60]) for i, user in enumerate(students)])
RoundEntry.objects.bulk_create([RoundEntry(round=round_, group=group) for group in groups])
sessions = []
for user in students:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions.append(session.session_key)
def keys(owners):
    # Only hashes are stored: make the keys here and keep them for the benchmark.
    made = [new_token() for _ in owners]
    ApiToken.objects.bulk_create(
        [ApiToken(user=user, name=name, key_hash=hash_token_key(key), prefix=key[:8])
         for (user, name), key in zip(owners, made)])
    return made

student_tokens = keys([(user, "") for user in students])
worker_tokens = keys([(walter, f"bench-{i}") for i in range(30)])
organizer_token, = keys([(olga, "bench")])
loaded = datasets.load_points(dataset)
print(json.dumps({
    "round": round_.pk,
    "sessions": sessions,
    "student_tokens": student_tokens,
    "worker_tokens": worker_tokens,
    "organizer_token": organizer_token,
    "labels": {split: loaded.labels_of(split) for split in datasets.SPLITS},
}))
"""

# 100,000 finished jobs from 200 groups (one in ten failed), spread over two hours.
BIG_ROUND = """
import json, random
from datetime import timedelta
from django.utils import timezone
from mlcontest.contest import rounds
from mlcontest.contest.models import Dataset, Group, Job, RoundEntry, User
olga = User.objects.get(username="olga")
round_ = rounds.create_round(olga, name="Big", dataset=Dataset.objects.get(name="hall"),
                             metric="accuracy", job_quota=1000)
rounds.open_round(olga, round_)
groups = Group.objects.bulk_create([Group(name=f"Big {i:03d}") for i in range(200)])
RoundEntry.objects.bulk_create([RoundEntry(round=round_, group=group) for group in groups])
rng = random.Random(7)
begin = timezone.now() - timedelta(hours=2)
def job(i):
    ok = rng.random() > 0.1
    created = begin + timedelta(milliseconds=70 * i)
    return Job(round=round_, group=groups[i % 200], user=olga, algorithm="knn",
               params={"n_neighbors": 1 + i % 15}, state="done" if ok else "failed",
               success=ok, created_at=created, finished_at=created + timedelta(seconds=1),
               score_test=round(rng.random(), 3) if ok else None,
               score_validation=round(rng.random(), 3) if ok else None)
for start in range(0, 100_000, 10_000):
    Job.objects.bulk_create([job(i) for i in range(start, start + 10_000)], batch_size=2_000)
print(json.dumps({"round": round_.pk}))
"""

__all__ = ["BIG_ROUND", "HALL", "LectureServer", "reset_postgres"]
