"""Waiting pings sleep until a job is queued (mlcontest/contest/wakeup.py), in-process: the
waker's rules, and a claim that waits in one thread while another thread queues a job.

The safety poll is turned off (set to an hour) where a test shows a wake-up, so that only the
wake-up can end the wait in time: with the old 50 ms polling or a lost signal the wait would
run to its end and answer None."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from mlcontest.contest import queue, wakeup
from mlcontest.contest.wakeup import Wake, Waker
from tests.conftest import Contest, submit
from tests.worker_support import wait_until

HOUR = 3600.0


@pytest.fixture
def wakes(monkeypatch: pytest.MonkeyPatch) -> list[Wake]:
    """What ended each wait of this process's waker: a claim made at the end of its wait
    would get the job too, so the tests check that a signal woke it."""
    seen: list[Wake] = []
    wait = Waker.wait

    def noted(self: Waker, seconds: float) -> Wake:
        seen.append(wait(self, seconds))
        return seen[-1]

    monkeypatch.setattr(Waker, "wait", noted)
    return seen


def sleeping(waker: Waker, count: int) -> bool:
    return len(waker._condition._waiters) >= count  # type: ignore[attr-defined]


class Waiter(threading.Thread):
    """A thread that waits on ``waker`` once and keeps what woke it."""

    def __init__(self, waker: Waker, seconds: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.waker, self.seconds = waker, seconds
        self.wake: Wake | None = None

    def run(self) -> None:
        with self.waker.waiting():
            self.wake = self.waker.wait(self.seconds)


def test_a_signal_wakes_a_sleeping_waiter() -> None:
    waker = Waker(HOUR)
    waiter = Waiter(waker)
    waiter.start()
    wait_until(lambda: sleeping(waker, 1), 10, 0.01, "the waiter to sleep")
    waker.signal()
    waiter.join(10)
    assert waiter.wake is Wake.SIGNAL


def test_a_signal_between_two_claims_is_kept_for_the_next_wait() -> None:
    waker = Waker(HOUR)
    with waker.waiting():
        waker.signal()  # arrives while this waiter claims, before it sleeps
        assert waker.wait(60) is Wake.SIGNAL


def test_signals_without_waiters_are_not_kept() -> None:
    waker = Waker(HOUR)
    waker.signal(5)
    with waker.waiting():
        assert waker.wait(0.05) is Wake.TIMEOUT


def test_one_signal_wakes_one_waiter_of_many() -> None:
    waker = Waker(HOUR)
    waiters = [Waiter(waker) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: sleeping(waker, 3), 10, 0.01, "three waiters to sleep")
    waker.signal(1)
    woken = wait_until(lambda: [w for w in waiters if w.wake], 10, 0.01, "a waiter to wake")
    assert [w.wake for w in woken] == [Wake.SIGNAL]
    assert sum(waiter.is_alive() for waiter in waiters) == 2
    waker.signal(2)
    for waiter in waiters:
        waiter.join(10)
    assert [w.wake for w in waiters] == [Wake.SIGNAL] * 3


def test_the_safety_poll_goes_to_one_waiter_at_a_time() -> None:
    waker = Waker(0.01)
    with waker.waiting():
        assert waker.wait(60) is Wake.POLL
    waker = Waker(HOUR)
    with waker.waiting():
        assert waker.wait(0.01) is Wake.TIMEOUT


@pytest.mark.django_db(transaction=True)
def test_a_waiting_claim_gets_a_job_queued_meanwhile(
    contest: Contest, settings: Any, wakes: list[Wake]
) -> None:
    """The thread's claim waits (its own database connection); this thread queues a job and
    commits. SQLite: a datagram through the folder beside the database; PostgreSQL: NOTIFY to
    this process's LISTEN connection."""
    settings.WAIT_POLL_SECONDS = HOUR
    wakeup.stop()  # a waker made with this test's settings
    claimed: list[int | None] = []

    def claim() -> None:
        try:
            claimed.append(queue.claim_waiting(contest.walter, "k1", "w", wait_seconds=25))
        finally:
            connection.close()

    waiter = threading.Thread(target=claim, daemon=True)
    waiter.start()
    wait_until(lambda: sleeping(wakeup.waker(), 1), 10, 0.01, "the claim to sleep")
    job = submit(contest, contest.alice)
    waiter.join(30)
    assert claimed == [job.pk]
    assert wakes and Wake.TIMEOUT not in wakes  # a signal, before the wait's end


@pytest.mark.django_db(transaction=True)
def test_a_released_job_wakes_a_waiting_claim(
    contest: Contest, settings: Any, wakes: list[Wake]
) -> None:
    settings.WAIT_POLL_SECONDS = HOUR
    wakeup.stop()
    job = submit(contest, contest.alice)
    assert queue.claim_next(contest.walter, "k1") == job.pk
    claimed: list[int | None] = []

    def claim() -> None:
        try:
            claimed.append(queue.claim_waiting(contest.walter, "k2", "w", wait_seconds=25))
        finally:
            connection.close()

    waiter = threading.Thread(target=claim, daemon=True)
    waiter.start()
    wait_until(lambda: sleeping(wakeup.waker(), 1), 10, 0.01, "the claim to sleep")
    queue.release_job(contest.walter, job.pk, "k1")
    waiter.join(30)
    assert claimed == [job.pk]
    assert wakes and Wake.TIMEOUT not in wakes  # a signal, before the wait's end


@pytest.mark.django_db(transaction=True)
def test_the_safety_poll_takes_back_a_job_whose_lease_ran_out(
    contest: Contest, settings: Any, wakes: list[Wake]
) -> None:
    """No signal says that a lease ran out: the safety poll finds it."""
    settings.WAIT_POLL_SECONDS = 0.05
    settings.LEASE_SECONDS = 1  # runs out while the claim sleeps
    wakeup.stop()
    job = submit(contest, contest.alice)
    assert queue.claim_next(contest.walter, "k1") == job.pk
    assert queue.claim_waiting(contest.walter, "k2", "w", wait_seconds=25) == job.pk
    assert Wake.POLL in wakes and Wake.TIMEOUT not in wakes
