"""``/api/rounds/<id>/leaderboard/``, ``version/``, ``history/`` and ``final/``: the JSON answers,
who sees what, and the ETag that makes an unchanged poll a 304."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mlcontest.contest import queue, rounds
from mlcontest.contest.models import ApiToken, Round
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.leaderboard_helpers import finish, score
from tests.protocol_helpers import assert_error, logged_in, ok_json, ping


def url(contest: Contest, what: str = "leaderboard") -> str:
    return f"/api/rounds/{contest.round.pk}/{what}/"


def version_of(contest: Contest) -> int:
    return Round.objects.get(pk=contest.round.pk).leaderboard_version


@pytest.fixture
def played(contest: Contest) -> Contest:
    """Alpha leads on test (1.0 vs 0.75), Beta on validation; a baseline at 0.75."""
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    finish(contest, submit(contest, contest.bob), test_wrong=1, validation_wrong=0)
    baseline = queue.submit_job(contest.olga, contest.round, "knn", {}, baseline=True)
    finish(contest, baseline, test_wrong=1, validation_wrong=1)
    return contest


def test_a_student_gets_the_public_leaderboard(played: Contest) -> None:
    contest = played
    body = ok_json(logged_in(contest.alice).get(url(contest)))
    assert body["round"] == contest.round.pk and body["state"] == "open"
    assert body["version"] == version_of(contest)
    assert [(line["rank"], line["group"], line["score_test"]) for line in body["standings"]] == [
        (1, "Alpha", 1.0),
        (2, "Beta", score(1)),
    ]
    assert all("score_validation" not in line for line in body["standings"])
    assert all("algorithm" not in line for line in body["standings"])
    assert [(line["score_test"], line["groups_above"]) for line in body["baselines"]] == [
        (score(1), 1)
    ]
    assert "score_validation" not in body["baselines"][0]
    assert body["validation_visible"] is False and body["unranked"] == []


def test_an_organizer_sees_validation_scores_while_open(played: Contest) -> None:
    body = ok_json(logged_in(played.olga).get(url(played)))
    assert [line["score_validation"] for line in body["standings"]] == [score(2), 1.0]
    assert body["validation_visible"] is True


def test_an_unchanged_poll_gets_304_and_a_change_a_new_body(played: Contest) -> None:
    contest = played
    client = logged_in(contest.alice)
    first = client.get(url(contest))
    tag = first["ETag"]
    assert first.status_code == 200 and tag and "private" in first["Cache-Control"]
    again = client.get(url(contest), HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == tag
    finish(contest, submit(contest, contest.bob), test_wrong=0)
    changed = client.get(url(contest), HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag
    assert changed.json()["standings"][0]["group"] == "Alpha"  # tie: Alpha's job was first
    assert changed.json()["version"] == version_of(contest)


def test_if_none_match_is_read_as_http_says(played: Contest) -> None:
    """Django's conditional answer: weak tags and lists match, ``*`` matches anything, and
    the 304 keeps the private, per-viewer caching headers."""
    client = logged_in(played.alice)
    tag = client.get(url(played))["ETag"]
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        answer = client.get(url(played), HTTP_IF_NONE_MATCH=header)
        assert answer.status_code == 304, header
        assert answer["Cache-Control"] == "private, no-cache"
        assert answer["Vary"] == "Cookie, Authorization"
    assert client.get(url(played), HTTP_IF_NONE_MATCH='"other"').status_code == 200
    for what in ("history", "final"):
        kind_tag = logged_in(played.olga).get(url(played, what))["ETag"]
        repeat = logged_in(played.olga).get(url(played, what), HTTP_IF_NONE_MATCH=kind_tag)
        assert repeat.status_code == 304 and repeat.content == b""


def test_a_304_costs_a_few_small_queries(played: Contest) -> None:
    client = logged_in(played.alice)
    tag = client.get(url(played))["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(played), HTTP_IF_NONE_MATCH=tag).status_code == 304
    # The session, the user, the round: nothing that grows with the jobs.
    assert len(queries) <= 3, [query["sql"] for query in queries]
    assert not any("contest_job" in query["sql"] for query in queries)
    # Nor the dataset's row (with its plot points): reading it was a poll's biggest cost.
    assert not any("contest_dataset" in query["sql"] for query in queries)


def test_students_and_organizers_get_different_tags(played: Contest) -> None:
    student = logged_in(played.alice).get(url(played))["ETag"]
    organizer = logged_in(played.olga).get(url(played))["ETag"]
    assert student != organizer
    assert logged_in(played.olga).get(url(played), HTTP_IF_NONE_MATCH=student).status_code == 200


def test_a_worker_gets_the_students_board(played: Contest) -> None:
    # A worker is not an organizer (contest.visibility): the same cached body and tag.
    student = logged_in(played.alice).get(url(played))
    worker = logged_in(played.walter).get(url(played))
    assert worker["ETag"] == student["ETag"] and worker.content == student.content
    standings = worker.json()["standings"]
    assert [line["group"] for line in standings] == ["Alpha", "Beta"]
    assert all("score_validation" not in line for line in standings)


def test_closing_changes_the_tag_and_reveals(played: Contest) -> None:
    contest = played
    client = logged_in(contest.alice)
    tag = client.get(url(contest))["ETag"]
    rounds.close_round(contest.olga, contest.round)
    answer = client.get(url(contest), HTTP_IF_NONE_MATCH=tag)
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "closed" and body["validation_visible"] is True
    assert body["standings"][0]["algorithm"] == "knn"


def test_a_result_posted_after_the_close_moves_both_rankings(played: Contest) -> None:
    contest = played
    late = submit(contest, contest.bob)
    walter = logged_in(contest.walter)
    assert ping(walter) == late.pk  # claimed while the round is open
    rounds.close_round(contest.olga, contest.round)
    fields = result_fields(true_labels(contest.dataset))
    answer = walter.post(f"/actions/update_job_details/{late.pk}.json/", fields)
    assert ok_json(answer)["stored"] is True
    late.refresh_from_db()
    closed_at = Round.objects.get().closed_at
    assert late.finished_at is not None and closed_at is not None
    assert late.state == "done" and late.finished_at > closed_at
    board = ok_json(logged_in(contest.alice).get(url(contest)))
    assert [(line["group"], line["job"]) for line in board["standings"]][1] == ("Beta", late.pk)
    final = ok_json(logged_in(contest.alice).get(url(contest, "final")))
    assert final["standings"][0]["job"] == late.pk and final["standings"][0]["group"] == "Beta"


def test_the_version_endpoint(played: Contest) -> None:
    contest = played
    body = ok_json(logged_in(contest.alice).get(url(contest, "version")))
    assert body["version"] == version_of(contest) and body["state"] == "open"
    assert body["etag"] == logged_in(contest.alice).get(url(contest))["ETag"]


def test_the_final_ranking_is_refused_to_students_before_the_close(played: Contest) -> None:
    contest = played
    assert_error(logged_in(contest.alice).get(url(contest, "final")), 403, "not_revealed")
    preview = ok_json(logged_in(contest.olga).get(url(contest, "final")))
    assert preview["final"] is False
    rounds.close_round(contest.olga, contest.round)
    body = ok_json(logged_in(contest.alice).get(url(contest, "final")))
    assert body["final"] is True and body["metric_split"] == "validation"
    assert [
        (line["rank"], line["group"], line["public_rank"], line["move"], line["score_validation"])
        for line in body["standings"]
    ] == [(1, "Beta", 2, 1, 1.0), (2, "Alpha", 1, -1, score(2))]
    assert body["baselines"][0]["score_validation"] == score(1)


def test_the_final_ranking_follows_a_marked_final_choice(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, final_choice_allowed=True)
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=3)
    chosen = finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=0)
    client = logged_in(contest.alice)
    marked = client.post(
        url(contest, "final-choice"), {"job": chosen.pk}, content_type="application/json"
    )
    assert ok_json(marked) == {"round": contest.round.pk, "group": "Alpha", "job": chosen.pk}
    rounds.close_round(contest.olga, contest.round)
    line = ok_json(client.get(url(contest, "final")))["standings"][0]
    assert (line["job"], line["chosen_by"], line["score_validation"]) == (
        chosen.pk,
        "final_choice",
        1.0,
    )


def test_the_history(played: Contest) -> None:
    body = ok_json(logged_in(played.alice).get(url(played, "history")))
    lines = {line["group"]: line for line in body["groups"]}
    assert set(lines) == {"Alpha", "Beta", None}
    assert lines[None]["baseline"] is True
    assert [point["score_test"] for point in lines["Alpha"]["points"]] == [1.0]
    assert body["metric_split"] == "test"
    assert "score_validation" not in str(body)


def test_a_token_works_like_a_session(played: Contest) -> None:
    _, key = ApiToken.issue(played.alice, "script")
    client = Client()
    body = ok_json(client.get(url(played), HTTP_AUTHORIZATION=f"Token {key}"))
    assert body["standings"][0]["group"] == "Alpha"
    assert_error(client.get(url(played), HTTP_AUTHORIZATION="Token nope"), 401, "invalid_token")


@pytest.mark.parametrize("what", ["leaderboard", "version", "history", "final"])
def test_anonymous_gets_401_json(contest: Contest, what: str) -> None:
    assert_error(Client().get(url(contest, what)), 401, "not_authenticated")


@pytest.mark.parametrize("what", ["leaderboard", "version", "history", "final"])
def test_a_draft_round_is_not_found_for_students(contest: Contest, what: str) -> None:
    draft = rounds.create_round(contest.olga, name="D", dataset=contest.dataset, metric="accuracy")
    assert_error(logged_in(contest.alice).get(f"/api/rounds/{draft.pk}/{what}/"), 404)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_reads_only(contest: Contest, method: str) -> None:
    answer: Any = getattr(logged_in(contest.olga), method)(url(contest))
    assert_error(answer, 405, "method_not_allowed")
