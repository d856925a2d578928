"""Small test splits make ties (issue 11, item 8): equal scores rank the earlier job first, the
boards mark such a line as tied (JSON and pages), and the organizer is warned at the round's
set-up, on its manage page, in the API and by the command line when a scored split is so small
that scores move in big steps."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from mlcontest.contest import leaderboard, rounds, split_steps
from mlcontest.contest.models import Job
from tests.conftest import Contest, submit
from tests.leaderboard_helpers import finish
from tests.protocol_helpers import logged_in, ok_json

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "fresh_auth_cache")


def lines(answer: dict[str, Any]) -> list[tuple[str, int, bool]]:
    return [(line["group"], line["rank"], line["tied"]) for line in answer["standings"]]


@pytest.fixture
def tied(contest: Contest) -> Contest:
    """Beta's job and then Alpha's, both with every test and validation label right."""
    beta = finish(contest, submit(contest, contest.bob))
    alpha = finish(contest, submit(contest, contest.alice))
    assert beta.created_at <= alpha.created_at and beta.pk < alpha.pk
    return contest


def test_equal_scores_rank_the_earlier_job_first_and_say_so(tied: Contest) -> None:
    board = ok_json(logged_in(tied.alice).get(f"/api/rounds/{tied.round.pk}/leaderboard/"))
    assert lines(board) == [("Beta", 1, False), ("Alpha", 2, True)]
    assert board["standings"][0]["score_test"] == board["standings"][1]["score_test"] == 1.0
    html = logged_in(tied.alice).get(f"/rounds/{tied.round.pk}/live/").json()["parts"]["board"]
    assert html.count('class="tie"') == 1 and "the earlier job ranks first" in html
    rounds.close_round(tied.olga, tied.round)
    final = ok_json(logged_in(tied.alice).get(f"/api/rounds/{tied.round.pk}/final/"))
    assert lines(final) == [("Beta", 1, False), ("Alpha", 2, True)]
    reveal = logged_in(tied.alice).get(f"/rounds/{tied.round.pk}/live/").json()["parts"]
    assert 'class="tie"' in reveal["reveal"]


def test_no_tie_no_mark(contest: Contest) -> None:
    finish(contest, submit(contest, contest.bob), test_wrong=1)
    finish(contest, submit(contest, contest.alice))
    board = leaderboard.leaderboard_for(contest.round, contest.alice)
    assert lines(board) == [("Alpha", 1, False), ("Beta", 2, False)]
    html = logged_in(contest.alice).get(f"/rounds/{contest.round.pk}/live/").json()["parts"]
    assert 'class="tie"' not in html["board"] and "earlier job ranks first" not in html["board"]


def test_a_later_equal_job_of_the_leader_changes_nothing(tied: Contest) -> None:
    """A group's own later job with the same score does not replace its earlier best."""
    again = finish(tied, submit(tied, tied.bob))
    board = leaderboard.leaderboard_for(tied.round, tied.olga)
    assert board["standings"][0]["job"] != again.pk
    assert Job.objects.filter(round=tied.round, group=tied.beta).count() == 2


@translation.override("en")
def test_the_warning_names_the_split_and_its_step() -> None:
    assert split_steps.warnings_for({"training": 107, "test": 36, "validation": 35}) == [
        "36 test points: scores move in steps of 0.028; expect ties (the earlier job ranks first).",
        "35 validation points: scores move in steps of 0.029; expect ties (the earlier job "
        "ranks first).",
    ]
    assert split_steps.warnings_for({"test": 100, "validation": 250}) == []
    assert split_steps.warnings_for({"test": 0}) == []
    with translation.override("de"):  # the organizer's pages in German
        assert split_steps.warnings_for({"test": 36}) == [
            "36 Testpunkte: Die Werte ändern sich in Schritten von 0,028; rechnen Sie mit "
            "Gleichständen (der frühere Auftrag liegt vorn)."
        ]


def test_the_organizer_is_warned_where_a_round_is_set_up(contest: Contest) -> None:
    """The tiny dataset has 4 test and 4 validation points."""
    organizer = logged_in(contest.olga)
    new = organizer.get("/manage/rounds/new/").content.decode()
    assert "Small splits make ties" in new and "4 test points" in new
    manage = organizer.get(f"/manage/rounds/{contest.round.pk}/").content.decode()
    assert "data-split-warning" in manage and "scores move in steps of 0.250" in manage
    described = ok_json(organizer.get(f"/api/rounds/{contest.round.pk}/"))
    assert described["split_warnings"][0].startswith("4 test points")
    # Students are not told about the split: it is the organizer's set-up.
    student = ok_json(logged_in(contest.alice).get(f"/api/rounds/{contest.round.pk}/"))
    assert "split_warnings" not in student
    page = logged_in(contest.alice).get(f"/rounds/{contest.round.pk}/").content.decode()
    assert "data-split-warning" not in page
