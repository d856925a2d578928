"""Many joins of one student at once: each ends in one membership, none in a server error.

150 joins from threads with their own connections to the suite's test database (set
``DATABASE_URL=postgres://...`` to run it on PostgreSQL, where two joins that both found no
membership used to race to insert one and the second raised IntegrityError).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from mlcontest.contest import groups
from mlcontest.contest.models import Group, Membership, Role, User
from tests.conftest import make_user

N_THREADS = 15
JOINS_PER_THREAD = 10  # 150 joins in all


def join_many(user: User, targets: list[Group], barrier: threading.Barrier) -> list[str]:
    joined: list[str] = []
    try:
        barrier.wait(timeout=60)
        for index in range(JOINS_PER_THREAD):
            group = targets[index % len(targets)]
            joined.append(groups.join_group(user, group).name)
    finally:
        connections.close_all()
    return joined


@pytest.mark.django_db(transaction=True)
def test_parallel_joins_of_one_student_leave_one_membership() -> None:
    olga = make_user("olga", Role.ORGANIZER)
    targets = [
        Group.objects.create(name=name, public=True, created_by=olga) for name in ("A", "B", "C")
    ]
    student = make_user("carol")
    barrier = threading.Barrier(N_THREADS)
    with ThreadPoolExecutor(N_THREADS) as pool:
        futures = [pool.submit(join_many, student, targets, barrier) for _ in range(N_THREADS)]
        answers = [future.result(timeout=300) for future in futures]
    assert sum(len(joined) for joined in answers) == N_THREADS * JOINS_PER_THREAD
    memberships = list(Membership.objects.filter(user=student).values_list("group__name"))
    assert len(memberships) == 1
    assert memberships[0][0] in {"A", "B", "C"}
