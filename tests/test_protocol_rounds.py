"""The seed's ``get_round``: it "joins the selected round" (registers the caller's group) and
answers the round."""

from __future__ import annotations

import pytest

from mlcontest.contest import rounds
from mlcontest.contest.models import Round, RoundEntry, RoundState
from tests.conftest import Contest, submit
from tests.protocol_helpers import assert_error, logged_in, ok_json


def path(round_id: object) -> str:
    return f"/actions/get_round/{round_id}.json/"


def entries(contest: Contest) -> set[str]:
    return set(RoundEntry.objects.filter(round=contest.round).values_list("group__name", flat=True))


def test_student_gets_round_and_enters_it(contest: Contest) -> None:
    body = ok_json(logged_in(contest.alice).post(path(contest.round.pk)))
    assert body["id"] == contest.round.pk and body["name"] == "Round 1"
    assert body["state"] == "open" and body["metric"] == "accuracy"
    assert body["dataset"] == contest.dataset.pk and body["task"] == "classification"
    assert "knn" in {algorithm["name"] for algorithm in body["algorithms"]}
    assert body["groups"] == ["Alpha"]
    assert body["my_group"] == {"name": "Alpha", "jobs_used": 0, "jobs_left": 5, "queued": 0}
    assert entries(contest) == {"Alpha"}


def test_entering_twice_makes_one_entry(contest: Contest) -> None:
    client = logged_in(contest.alice)
    ok_json(client.post(path(contest.round.pk)))
    ok_json(client.post(path(contest.round.pk)))
    assert RoundEntry.objects.filter(round=contest.round).count() == 1


def test_round_counts_the_groups_jobs(contest: Contest) -> None:
    submit(contest, contest.alice)
    body = ok_json(logged_in(contest.alice).post(path(contest.round.pk)))
    assert body["my_group"]["jobs_used"] == 1 and body["my_group"]["queued"] == 1
    assert body["my_group"]["jobs_left"] == 4


def test_student_without_group_reads_round_without_entering(contest: Contest) -> None:
    body = ok_json(logged_in(contest.carol).post(path(contest.round.pk)))
    assert body["id"] == contest.round.pk and "my_group" not in body
    assert entries(contest) == set()


def test_worker_reads_round_without_entering(contest: Contest) -> None:
    ok_json(logged_in(contest.walter).post(path(contest.round.pk)))
    assert entries(contest) == set()


def test_draft_round_is_hidden_from_students(contest: Contest) -> None:
    draft = rounds.create_round(
        contest.olga, name="Draft", dataset=contest.dataset, metric="accuracy"
    )
    assert_error(logged_in(contest.alice).post(path(draft.pk)), 404, "not_found")
    assert not RoundEntry.objects.filter(round=draft).exists()


def test_organizer_reads_draft_without_entering_anyone(contest: Contest) -> None:
    draft = rounds.create_round(
        contest.olga, name="Draft", dataset=contest.dataset, metric="accuracy"
    )
    body = ok_json(logged_in(contest.olga).post(path(draft.pk)))
    assert body["state"] == "draft"
    assert not RoundEntry.objects.filter(round=draft).exists()


def test_closed_round_is_readable_but_takes_no_new_group(contest: Contest) -> None:
    rounds.close_round(contest.olga, contest.round)
    version = Round.objects.get(pk=contest.round.pk).leaderboard_version
    body = ok_json(logged_in(contest.bob).post(path(contest.round.pk)))
    assert body["state"] == RoundState.CLOSED and body["groups"] == []
    assert entries(contest) == set()
    assert Round.objects.get(pk=contest.round.pk).leaderboard_version == version


def test_a_group_entering_renews_the_boards(contest: Contest) -> None:
    """The boards list the groups in the round without a score yet: a cached one is stale."""
    version = Round.objects.get(pk=contest.round.pk).leaderboard_version
    ok_json(logged_in(contest.alice).post(path(contest.round.pk)))
    assert Round.objects.get(pk=contest.round.pk).leaderboard_version == version + 1
    ok_json(logged_in(contest.alice).post(path(contest.round.pk)))  # already in: no change
    assert Round.objects.get(pk=contest.round.pk).leaderboard_version == version + 1


@pytest.mark.parametrize("round_id", ["999999", "abc", "1.5"])
def test_unknown_round_is_404(contest: Contest, round_id: str) -> None:
    assert_error(logged_in(contest.alice).post(path(round_id)), 404, "not_found")
    assert entries(contest) == set()


def test_anonymous_round_is_401(contest: Contest) -> None:
    assert_error(logged_in(None).post(path(contest.round.pk)), 401, "not_authenticated")
    assert entries(contest) == set()
