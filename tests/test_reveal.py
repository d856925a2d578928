"""A reveal is final (issue 10, item 3): the first close of a round sets ``revealed_at``; the final
ranking then counts only the jobs submitted before it and the final choices as they stood, and
neither reopening, a new final choice, new jobs nor a second close changes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from mlcontest.contest import final_choice, rounds
from mlcontest.contest.errors import Conflict, InvalidInput
from mlcontest.contest.models import Job, Round, RoundEntry, RoundEvent
from tests.conftest import Contest, submit
from tests.leaderboard_helpers import claim, finish, score
from tests.protocol_helpers import assert_error, logged_in, ok_json


def url(contest: Contest, what: str = "") -> str:
    return f"/api/rounds/{contest.round.pk}/{what + '/' if what else ''}"


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, content_type="application/json")


def row(contest: Contest) -> Round:
    return Round.objects.get(pk=contest.round.pk)


def final_lines(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must not move once revealed: each line's job, ranks, move and scores."""
    return [
        (
            line["group"],
            line["job"],
            line["rank"],
            line["public_rank"],
            line["move"],
            line["score_validation"],
            line["score_test"],
            line["chosen_by"],
        )
        for line in answer["standings"]
    ]


@pytest.fixture
def choosing(contest: Contest) -> Contest:
    """A round with final choices: Alpha leads on test, Beta on validation; Alpha marked a job
    that is not its best on test."""
    Round.objects.filter(pk=contest.round.pk).update(final_choice_allowed=True)
    contest.round.refresh_from_db()
    finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=3)
    marked = finish(contest, submit(contest, contest.alice), test_wrong=2, validation_wrong=2)
    finish(contest, submit(contest, contest.bob), test_wrong=3, validation_wrong=0)
    ok_json(post(logged_in(contest.alice), url(contest, "final-choice"), {"job": marked.pk}))
    return contest


def test_close_reopen_and_close_again_leave_the_final_ranking_as_revealed(
    choosing: Contest,
) -> None:
    contest = choosing
    olga, alice = logged_in(contest.olga), logged_in(contest.alice)
    closed = ok_json(post(olga, url(contest, "close")))
    revealed_at = row(contest).revealed_at
    assert revealed_at is not None and closed["final_revealed"] is True
    assert closed["revealed_at"] is not None
    first = ok_json(alice.get(url(contest, "final")))
    assert first["final"] is True
    assert final_lines(first) == [
        ("Beta", first["standings"][0]["job"], 1, 2, 1, 1.0, score(3), "best_test"),
        ("Alpha", first["standings"][1]["job"], 2, 1, -1, score(2), score(2), "final_choice"),
    ]

    # Reopened: extra time for practice. Students keep seeing the final ranking.
    reopened = ok_json(post(olga, url(contest, "open")))
    assert reopened["state"] == "open" and reopened["final_revealed"] is True
    while_open = ok_json(alice.get(url(contest, "final")))
    assert while_open["final"] is True and final_lines(while_open) == final_lines(first)

    # Alpha submits a better job, on test and validation; it ranks on the public board.
    better = finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=0)
    board = ok_json(alice.get(url(contest, "leaderboard")))
    assert (board["standings"][0]["group"], board["standings"][0]["job"]) == ("Alpha", better.pk)

    # Nobody may change a final choice after the reveal, organizers included.
    for client in (alice, olga):
        refused = post(client, url(contest, "final-choice"), {"job": better.pk})
        assert_error(refused, 409, "revealed")
        assert_error(post(client, url(contest, "final-choice"), {"job": None}), 409, "revealed")
    entry = RoundEntry.objects.get(round=contest.round, group=contest.alpha)
    assert entry.final_job_id == first["standings"][1]["job"]
    # ... nor switch the round to best-test ranking.
    with pytest.raises(InvalidInput) as refused_edit:
        rounds.update_round(contest.olga, row(contest), final_choice_allowed=False)
    assert "final_choice_allowed" in refused_edit.value.fields

    ok_json(post(olga, url(contest, "close")))
    again = ok_json(alice.get(url(contest, "final")))
    assert final_lines(again) == final_lines(first)
    assert again["revealed_at"] == first["revealed_at"] and again["final"] is True
    assert row(contest).revealed_at == revealed_at
    assert [event.action for event in RoundEvent.objects.filter(round=contest.round)][-3:] == [
        "closed",
        "reopened",
        "closed",
    ]


def test_without_final_choices_the_best_test_job_at_the_reveal_counts(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=2)
    finish(contest, submit(contest, contest.bob), test_wrong=2, validation_wrong=0)
    rounds.close_round(contest.olga, contest.round)
    alice = logged_in(contest.alice)
    first = ok_json(alice.get(url(contest, "final")))
    rounds.open_round(contest.olga, row(contest))
    # Beta now leads the public board on test; the final ranking keeps the ranks it revealed.
    finish(contest, submit(contest, contest.bob), test_wrong=0, validation_wrong=3)
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=0)
    board = ok_json(alice.get(url(contest, "leaderboard")))
    assert [line["group"] for line in board["standings"]] == ["Beta", "Alpha"]
    rounds.close_round(contest.olga, row(contest))
    assert final_lines(ok_json(alice.get(url(contest, "final")))) == final_lines(first)
    assert [line[4] for line in final_lines(first)] == [1, -1]


def test_the_schedules_close_is_the_reveal_too(contest: Contest) -> None:
    now = timezone.now()
    scheduled = rounds.create_round(
        contest.olga,
        name="Scheduled",
        dataset=contest.dataset,
        metric="accuracy",
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=1),
    )
    read = ok_json(logged_in(contest.alice).get(f"/api/rounds/{scheduled.pk}/"))
    stored = Round.objects.get(pk=scheduled.pk)
    ends_at = stored.ends_at
    assert stored.state == "closed" and ends_at is not None and stored.revealed_at == ends_at
    assert read["final_revealed"] is True and read["revealed_at"] is not None
    # A second close, by hand after a reopening, keeps the first reveal.
    reopened = rounds.open_round(contest.olga, stored)
    assert reopened.ends_at is None and reopened.revealed_at == ends_at
    rounds.close_round(contest.olga, reopened)
    assert Round.objects.get(pk=scheduled.pk).revealed_at == ends_at


def test_a_job_submitted_before_the_close_counts_when_it_finishes_later(
    contest: Contest,
) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    late = claim(submit(contest, contest.bob), contest.walter)
    waiting = submit(contest, contest.bob)  # still queued at the close
    rounds.close_round(contest.olga, contest.round)
    rounds.open_round(contest.olga, row(contest))
    practice = submit(contest, contest.alice)  # after the reveal: practice only
    finish(contest, late, test_wrong=1, validation_wrong=1)
    finish(contest, practice, test_wrong=0, validation_wrong=0)
    finish(contest, waiting, test_wrong=0, validation_wrong=0)
    revealed_at = row(contest).revealed_at
    assert revealed_at is not None
    late_done = Job.objects.get(pk=waiting.pk)
    assert late_done.finished_at is not None and late_done.finished_at > revealed_at
    final = ok_json(logged_in(contest.bob).get(url(contest, "final")))
    by_group = {line["group"]: line for line in final["standings"]}
    assert by_group["Beta"]["job"] == waiting.pk and by_group["Beta"]["score_validation"] == 1.0
    assert by_group["Alpha"]["score_validation"] == score(2)  # not the practice job's 1.0
    assert practice.pk not in {line["job"] for line in final["standings"]}


def test_the_round_page_says_the_ranking_is_final_while_reopened(contest: Contest) -> None:
    finish(contest, submit(contest, contest.bob), test_wrong=0, validation_wrong=1)
    rounds.close_round(contest.olga, contest.round)
    rounds.open_round(contest.olga, row(contest))
    page = logged_in(contest.alice).get(f"/rounds/{contest.round.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Reopened for practice" in text and 'class="table final' in text


def test_before_the_reveal_an_organizer_previews_every_job(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=0)
    preview = ok_json(logged_in(contest.olga).get(url(contest, "final")))
    assert preview["final"] is False and preview["revealed_at"] is None
    assert [line["group"] for line in preview["standings"]] == ["Alpha"]
    assert_error(logged_in(contest.alice).get(url(contest, "final")), 403, "not_revealed")
    assert row(contest).revealed_at is None


def test_a_stale_copy_of_the_round_cannot_slip_a_choice_past_the_reveal(
    choosing: Contest,
) -> None:
    # A request that read the round just before another one closed it: the choice is checked
    # again under the round's lock, in the transaction that would store it.
    contest = choosing
    better = finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=0)
    stale = rounds.get_round(contest.round.pk)
    rounds.close_round(contest.olga, rounds.get_round(contest.round.pk))
    assert stale.revealed_at is None and row(contest).revealed_at is not None
    for who in (contest.alice, contest.olga):
        with pytest.raises(Conflict) as refused:
            final_choice.mark_final_choice(who, stale, better)
        assert refused.value.code == "revealed"
    assert (
        RoundEntry.objects.get(round=contest.round, group=contest.alpha).final_job_id != better.pk
    )
