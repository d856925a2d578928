"""A round's life: draft -> open -> closed (by hand or by the clock), reopening, the audit trail
of who changed what and when, jobs accepted only while open, the quotas at their limits, and
edits of a round's settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from mlcontest.contest import queue, quotas, rounds
from mlcontest.contest.errors import Conflict, InvalidInput, PermissionDenied, QuotaExceeded
from mlcontest.contest.models import Job, JobState, Round, RoundEvent, RoundState
from tests.conftest import Contest, submit
from tests.leaderboard_helpers import claim, finish


def events(round_: Round) -> list[tuple[str, str | None]]:
    return [
        (event.action, event.by.username if event.by else None)
        for event in RoundEvent.objects.filter(round=round_).select_related("by")
    ]


def stored(round_: Round) -> Round:
    return Round.objects.get(pk=round_.pk)


def draft(contest: Contest, **settings: Any) -> Round:
    return rounds.create_round(
        contest.olga, name="Later", dataset=contest.dataset, metric="accuracy", **settings
    )


# --- the schedule ----------------------------------------------------------------------------


def test_a_draft_opens_at_its_start_time_and_closes_at_its_end(contest: Contest) -> None:
    now = timezone.now()
    round_ = draft(contest, starts_at=now + timedelta(minutes=5), ends_at=now + timedelta(hours=1))
    rounds.apply_schedule(now)
    assert stored(round_).state == RoundState.DRAFT
    rounds.apply_schedule(now + timedelta(minutes=6))
    opened = stored(round_)
    assert opened.state == RoundState.OPEN and opened.opened_at == round_.starts_at
    rounds.apply_schedule(now + timedelta(hours=2))
    closed = stored(round_)
    assert closed.state == RoundState.CLOSED and closed.closed_at == round_.ends_at
    assert events(round_) == [("created", "olga"), ("opened", None), ("closed", None)]
    trail = list(RoundEvent.objects.filter(round=round_).order_by("id"))
    assert [event.at for event in trail[1:]] == [round_.starts_at, round_.ends_at]
    assert trail[1].details == {"from": "draft", "by": "schedule"}


def test_reading_a_round_applies_its_schedule(contest: Contest) -> None:
    round_ = draft(contest)
    Round.objects.filter(pk=round_.pk).update(starts_at=timezone.now() - timedelta(seconds=1))
    assert rounds.get_round(round_.pk).state == RoundState.OPEN
    assert stored(round_).state == RoundState.OPEN


def test_applying_the_schedule_twice_moves_and_records_once(contest: Contest) -> None:
    round_ = draft(contest, starts_at=timezone.now() + timedelta(minutes=1))
    later = timezone.now() + timedelta(minutes=2)
    version = stored(round_).leaderboard_version
    rounds.apply_schedule(later)
    rounds.apply_schedule(later)
    assert events(round_).count(("opened", None)) == 1
    assert stored(round_).leaderboard_version == version + 1


def test_a_draft_without_a_start_waits_for_an_organizer(contest: Contest) -> None:
    round_ = draft(contest, ends_at=timezone.now() + timedelta(minutes=1))
    rounds.apply_schedule(timezone.now() + timedelta(minutes=2))
    assert stored(round_).state == RoundState.DRAFT


# --- by hand ---------------------------------------------------------------------------------


def test_open_close_and_reopen_by_hand_are_recorded_with_who(contest: Contest) -> None:
    round_ = draft(contest)
    version = stored(round_).leaderboard_version
    rounds.open_round(contest.olga, round_)
    rounds.close_round(contest.olga, round_)
    reopened = rounds.open_round(contest.olga, round_)
    assert reopened.state == RoundState.OPEN and reopened.closed_at is None
    assert events(round_) == [
        ("created", "olga"),
        ("opened", "olga"),
        ("closed", "olga"),
        ("reopened", "olga"),
    ]
    assert stored(round_).leaderboard_version == version + 3


def test_opening_an_open_round_or_closing_a_closed_one_changes_nothing(contest: Contest) -> None:
    before = len(events(contest.round))
    rounds.open_round(contest.olga, contest.round)
    rounds.close_round(contest.olga, contest.round)
    rounds.close_round(contest.olga, contest.round)
    assert len(events(contest.round)) == before + 1


def test_a_draft_cannot_be_closed(contest: Contest) -> None:
    round_ = draft(contest)
    with pytest.raises(Conflict):
        rounds.close_round(contest.olga, round_)
    assert stored(round_).state == RoundState.DRAFT


def test_reopening_drops_an_end_that_has_passed(contest: Contest) -> None:
    now = timezone.now()
    round_ = draft(
        contest, starts_at=now + timedelta(minutes=1), ends_at=now + timedelta(minutes=2)
    )
    Round.objects.filter(pk=round_.pk).update(
        starts_at=now - timedelta(minutes=2), ends_at=now - timedelta(minutes=1)
    )
    rounds.apply_schedule(now)
    assert stored(round_).state == RoundState.CLOSED
    reopened = rounds.open_round(contest.olga, stored(round_))
    assert reopened.state == RoundState.OPEN and reopened.ends_at is None
    assert rounds.get_round(round_.pk).state == RoundState.OPEN  # not closed again at once


def test_reopening_with_a_new_end(contest: Contest) -> None:
    rounds.close_round(contest.olga, contest.round)
    end = timezone.now() + timedelta(minutes=30)
    reopened = rounds.open_round(contest.olga, contest.round, ends_at=end)
    assert reopened.state == RoundState.OPEN and stored(contest.round).ends_at == end
    with pytest.raises(InvalidInput):
        rounds.open_round(contest.olga, contest.round, ends_at=timezone.now() - timedelta(1))


def test_students_cannot_open_or_close(contest: Contest) -> None:
    with pytest.raises(PermissionDenied):
        rounds.close_round(contest.alice, contest.round)
    assert stored(contest.round).state == RoundState.OPEN


# --- jobs only while open --------------------------------------------------------------------


def test_jobs_are_accepted_only_while_the_round_is_open(contest: Contest) -> None:
    round_ = draft(contest)
    with pytest.raises(Conflict) as refused:
        queue.submit_job(contest.alice, round_, "knn", {})
    assert refused.value.code == "round_not_open" and "not opened yet" in refused.value.message
    rounds.open_round(contest.olga, round_)
    queue.submit_job(contest.alice, round_, "knn", {})
    rounds.close_round(contest.olga, round_)
    with pytest.raises(Conflict) as refused:
        queue.submit_job(contest.alice, round_, "knn", {})
    assert refused.value.code == "round_not_open" and "closed since" in refused.value.message
    rounds.open_round(contest.olga, round_)
    queue.submit_job(contest.alice, round_, "knn", {})
    assert Job.objects.filter(round=round_).count() == 2


def test_a_job_after_the_end_time_is_refused_before_anyone_applied_it(contest: Contest) -> None:
    Round.objects.filter(pk=contest.round.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Conflict):
        submit(contest, contest.alice)
    assert not Job.objects.exists()
    assert stored(contest.round).state == RoundState.CLOSED


def test_a_stale_round_object_does_not_let_a_job_in_after_the_close(contest: Contest) -> None:
    stale = Round.objects.get(pk=contest.round.pk)
    rounds.close_round(contest.olga, contest.round)
    assert stale.state == RoundState.OPEN
    with pytest.raises(Conflict):
        queue.submit_job(contest.alice, stale, "knn", {})
    assert not Job.objects.exists()


def test_a_running_job_at_the_close_may_still_post_its_result(contest: Contest) -> None:
    job = claim(submit(contest, contest.alice), contest.walter)
    rounds.close_round(contest.olga, contest.round)
    finished = finish(contest, Job.objects.get(pk=job.pk), test_wrong=1)
    assert finished.state == JobState.DONE and finished.score_test == 0.75


def test_an_organizer_may_queue_a_baseline_in_a_draft(contest: Contest) -> None:
    round_ = draft(contest)
    job = queue.submit_job(contest.olga, round_, "knn", {}, baseline=True)
    assert job.group is None and job.state == JobState.QUEUED
    with pytest.raises(PermissionDenied):
        queue.submit_job(contest.alice, round_, "knn", {}, baseline=True)


# --- quotas ----------------------------------------------------------------------------------


def test_the_job_quota_allows_exactly_its_number(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, job_quota=3, queued_quota=10)
    for _ in range(3):
        submit(contest, contest.alice)
    with pytest.raises(QuotaExceeded) as refused:
        submit(contest, contest.alice)
    assert "all 3 jobs" in refused.value.message and "0 left" in refused.value.message
    assert refused.value.fields == {"job_quota": "0 of 3 jobs left"}
    assert refused.value.status == 429
    assert Job.objects.filter(group=contest.alpha).count() == 3
    submit(contest, contest.bob)  # another group's quota is its own


def test_failed_jobs_count_against_the_job_quota(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, job_quota=2)
    finish(contest, submit(contest, contest.alice), success=False)
    submit(contest, contest.alice)
    with pytest.raises(QuotaExceeded):
        submit(contest, contest.alice)
    assert Job.objects.filter(group=contest.alpha).count() == 2


def test_the_queued_quota_says_when_to_try_again(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, job_quota=10, queued_quota=2)
    submit(contest, contest.bob)  # ahead of Alpha's jobs in the queue
    first = submit(contest, contest.alice)
    submit(contest, contest.alice)
    with pytest.raises(QuotaExceeded) as refused:
        submit(contest, contest.alice)
    message = refused.value.message
    assert "2 jobs waiting" in message and "when one of them has started" in message
    assert "number 2 in the queue" in message and "8 jobs left" in message
    assert refused.value.fields == {"queued_quota": "2 of 2 waiting"}
    assert Job.objects.filter(group=contest.alpha).count() == 2
    claim(first, contest.walter)  # one starts: a place frees up
    submit(contest, contest.alice)
    assert quotas.quota_left(contest.round, contest.alpha) == {
        "jobs_used": 3,
        "jobs_left": 7,
        "queued": 2,
        "queue_places_left": 0,
    }


# --- edits -----------------------------------------------------------------------------------


def test_edits_are_recorded_with_old_and_new_values(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, job_quota=9, final_choice_allowed=True)
    event = RoundEvent.objects.filter(round=contest.round, action="edited").get()
    assert event.by == contest.olga
    assert event.details == {
        "changes": {"job_quota": [5, 9], "final_choice_allowed": [False, True]}
    }
    assert stored(contest.round).job_quota == 9


def test_bad_edits_change_nothing(contest: Contest) -> None:
    before = stored(contest.round)
    with pytest.raises(InvalidInput) as refused:
        rounds.update_round(contest.olga, contest.round, metric="nmi", job_quota=0)
    assert set(refused.value.fields) == {"metric", "job_quota"}
    with pytest.raises(InvalidInput):
        rounds.update_round(contest.olga, contest.round, ends_at=timezone.now() - timedelta(1))
    with pytest.raises(InvalidInput):
        rounds.update_round(contest.olga, contest.round, dataset=None)
    with pytest.raises(PermissionDenied):
        rounds.update_round(contest.alice, contest.round, job_quota=100)
    after = stored(contest.round)
    assert (after.metric, after.job_quota, after.ends_at) == (
        before.metric,
        before.job_quota,
        before.ends_at,
    )
    assert not RoundEvent.objects.filter(round=contest.round, action="edited").exists()
