"""The reveal as a show (issue 11, item 2): at the first close of a round with ``reveal_show``
the organizer reveals the final ranking place by place (last place first) on the projector;
students' pages, the JSON API and the seed protocol show the places revealed so far and no
validation score anywhere until the organizer ends the show. Rounds without the setting (the
default of scripts) reveal everything at once, as before."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from mlcontest.contest import reveal_show, rounds, visibility
from mlcontest.contest.errors import Conflict, InvalidInput, PermissionDenied
from mlcontest.contest.models import Group, Job, Round, RoundEvent, User
from mlcontest.contest.visibility import Stage
from tests.conftest import Contest, make_user, result_fields, submit, true_labels
from tests.leaderboard_helpers import finish
from tests.protocol_helpers import assert_error, logged_in, ok_json


class Show:
    """Three groups; public ranking Alpha, Beta, Gamma; final ranking Beta, Gamma, Alpha (so
    the last place, revealed first, is Alpha's)."""

    def __init__(self, contest: Contest) -> None:
        self.contest = contest
        self.round: Round = contest.round
        gamma = Group.objects.create(name="Gamma", public=True, created_by=contest.olga)
        self.dave: User = make_user("dave", group=gamma)
        self.alpha_job = finish(contest, submit(contest, contest.alice), validation_wrong=2)
        self.beta_job = finish(contest, submit(contest, contest.bob), test_wrong=1)
        finish(contest, submit(contest, self.dave), test_wrong=2, validation_wrong=1)
        # A job submitted before the close that a worker finishes during the show.
        self.late: Job = submit(contest, contest.alice)

    def refresh(self) -> Round:
        self.round = Round.objects.get(pk=self.round.pk)
        return self.round

    def api(self, user: User | None, what: str = "") -> Any:
        path = f"/api/rounds/{self.round.pk}/{what + '/' if what else ''}"
        return logged_in(user).get(path)

    def step(self, user: User, body: dict[str, Any]) -> Any:
        return logged_in(user).post(
            f"/api/rounds/{self.round.pk}/reveal/",
            json.dumps(body),
            content_type="application/json",
        )

    def live(self, user: User, url: str = "live") -> dict[str, Any]:
        answer: dict[str, Any] = logged_in(user).get(f"/rounds/{self.round.pk}/{url}/").json()
        return answer


@pytest.fixture
def show(contest: Contest) -> Show:
    rounds.update_round(contest.olga, contest.round, reveal_show=True)
    built = Show(contest)
    rounds.close_round(contest.olga, built.refresh())
    built.refresh()
    return built


def final_groups(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(line["rank"], line["group"]) for line in answer["standings"]]


def test_at_the_close_the_show_starts_with_no_place_out(show: Show) -> None:
    contest = show.contest
    assert visibility.stage(show.round) is Stage.SHOW
    assert (show.round.revealed_places, show.round.reveal_ended_at) == (0, None)
    # The student: a final ranking with no line yet, and nothing of the validation split.
    final = ok_json(show.api(contest.alice, "final"))
    assert final["final"] is True and final["complete"] is False
    assert (final["places"], final["places_revealed"], final["standings"]) == (3, 0, [])
    assert final["unranked"] == [] and all("score_validation" not in b for b in final["baselines"])
    board = ok_json(show.api(contest.alice, "leaderboard"))
    assert board["reveal_stage"] == "show" and board["validation_visible"] is False
    assert len(board["standings"]) == 3  # counted: all() passes on an empty board
    assert all(
        "score_validation" not in line and "algorithm" not in line for line in board["standings"]
    )
    own = ok_json(logged_in(contest.alice).get(f"/api/jobs/{show.alpha_job.pk}/"))
    assert "score_validation" not in own and "extra_scores_validation" not in own
    described = ok_json(show.api(contest.alice))
    assert described["reveal"]["stage"] == "show" and described["validation_visible"] is False
    assert described["final_visible"] is True and described["reveal_show"] is True
    # The organizer keeps the whole view.
    assert final_groups(ok_json(show.api(contest.olga, "final"))) == [
        (1, "Beta"),
        (2, "Gamma"),
        (3, "Alpha"),
    ]


def test_the_web_pages_spoil_nothing_during_the_show(show: Show) -> None:
    contest = show.contest
    parts = show.live(contest.alice)["parts"]
    assert "0 of 3 places so far" in parts["reveal"] and 'class="table final' not in parts["reveal"]
    assert "Validation" not in parts["jobs"] and "being revealed" in parts["status"]
    page = logged_in(contest.alice).get(f"/jobs/{show.alpha_job.pk}/").content.decode()
    assert "hidden until" in page and f"{show.alpha_job.score_validation:.3f}" not in page
    # The projector shows what students see, with the organizer's buttons.
    projector = show.live(contest.olga, "projector/live")["parts"]["reveal"]
    assert 'class="table final' not in projector and "Reveal place 3" in projector
    assert "csrfmiddlewaretoken" in projector


def test_a_worker_posting_during_the_show_learns_no_validation_score(show: Show) -> None:
    """The seed protocol's one path to a score: the answer to a worker's result."""
    worker = logged_in(show.contest.walter)
    assert ok_json(worker.post("/actions/ping/")) == show.late.pk
    fields = result_fields(true_labels(show.contest.dataset))
    answer = ok_json(worker.post(f"/actions/update_job_details/{show.late.pk}.json/", fields))
    assert "score_validation" not in answer["job"] and "score_mismatch" not in answer["job"]


def test_each_place_revealed_reaches_every_page(show: Show) -> None:
    contest = show.contest
    before = show.live(contest.alice)
    projector_before = show.live(contest.olga, "projector/live")
    web = logged_in(contest.olga)
    response = web.post(
        f"/manage/rounds/{show.round.pk}/reveal/", {"places": "1", "back": "projector"}
    )
    assert response.status_code == 302 and response["Location"].endswith("/projector/")
    assert show.refresh().revealed_places == 1
    # The student's page: a new signature, and exactly the last place.
    after = (
        logged_in(contest.alice)
        .get(f"/rounds/{show.round.pk}/live/", {"since": before["signature"]})
        .json()
    )
    assert "unchanged" not in after
    assert 'data-group="Alpha"' in after["parts"]["reveal"]
    assert 'data-group="Beta"' not in after["parts"]["reveal"]
    assert 'data-group="Gamma"' not in after["parts"]["reveal"]
    assert "1 of 3 places so far" in after["parts"]["reveal"]
    assert final_groups(ok_json(show.api(contest.alice, "final"))) == [(3, "Alpha")]
    # The projector's own live part moves too, and shows the same single line.
    projector = (
        logged_in(contest.olga)
        .get(f"/rounds/{show.round.pk}/projector/live/", {"since": projector_before["signature"]})
        .json()
    )
    assert projector["parts"]["reveal"].count("<tr data-rank=") == 1
    assert "Reveal place 2" in projector["parts"]["reveal"]
    # The same step again (a double click, a second projector) reveals nothing more.
    version = show.round.leaderboard_version
    web.post(f"/manage/rounds/{show.round.pk}/reveal/", {"places": "1"})
    assert show.refresh().leaderboard_version == version
    # The projector's script posts and asks for JSON.
    fetched = web.post(
        f"/manage/rounds/{show.round.pk}/reveal/",
        {"places": "1", "back": "projector"},
        HTTP_ACCEPT="application/json",
    )
    assert fetched.json() == {"stage": "show", "places": 3, "revealed": 1}
    # The API's step without a count reveals the next place.
    stepped = ok_json(show.step(contest.olga, {}))
    assert stepped["reveal"] == {
        "stage": "show",
        "places": 3,
        "places_revealed": 2,
        "ended_at": None,
    }
    assert final_groups(ok_json(show.api(contest.bob, "final"))) == [(2, "Gamma"), (3, "Alpha")]
    assert "score_validation" not in ok_json(show.api(contest.bob, "leaderboard"))["standings"][0]
    actions = list(RoundEvent.objects.filter(round=show.round).values_list("action", "details"))
    assert actions[-2:] == [
        ("place_revealed", {"place": 3, "of": 3}),
        ("place_revealed", {"place": 2, "of": 3}),
    ]


def test_ending_the_show_reveals_everything_everywhere(show: Show) -> None:
    contest = show.contest
    job_page = logged_in(contest.alice).get(f"/jobs/{show.alpha_job.pk}/live/").json()
    answer = ok_json(show.step(contest.olga, {"all": True}))
    assert answer["reveal"]["stage"] == "shown" and answer["reveal"]["places_revealed"] == 3
    row = show.refresh()
    assert row.reveal_ended_at is not None and row.revealed_places == 3
    assert visibility.stage(row) is Stage.SHOWN
    final = ok_json(show.api(contest.alice, "final"))
    assert final["complete"] is True
    assert final_groups(final) == [(1, "Beta"), (2, "Gamma"), (3, "Alpha")]
    board = ok_json(show.api(contest.alice, "leaderboard"))
    assert len(board["standings"]) == 3  # counted: all() passes on an empty board
    assert all("score_validation" in line for line in board["standings"])
    own = ok_json(logged_in(contest.alice).get(f"/api/jobs/{show.alpha_job.pk}/"))
    assert own["score_validation"] == 0.5
    # The job page's live part moves with the end of the show and shows the score.
    moved = (
        logged_in(contest.alice)
        .get(f"/jobs/{show.alpha_job.pk}/live/", {"since": job_page["signature"]})
        .json()
    )
    assert "unchanged" not in moved and "0.500" in moved["parts"]["job"]
    parts = show.live(contest.alice)["parts"]
    assert "Validation" in parts["jobs"] and "being revealed" not in parts["status"]
    assert parts["reveal"].count("<tr data-rank=") == 3
    # Ending it again changes nothing.
    version = row.leaderboard_version
    ok_json(show.step(contest.olga, {"all": True}))
    assert show.refresh().leaderboard_version == version
    assert RoundEvent.objects.filter(round=row, action="reveal_ended").count() == 1


def test_revealing_the_first_place_ends_the_show(show: Show) -> None:
    reveal_show.reveal_places(show.contest.olga, show.round, 3)
    row = show.refresh()
    assert visibility.stage(row) is Stage.SHOWN and row.reveal_ended_at is not None


def test_only_organizers_step_the_show(show: Show) -> None:
    contest = show.contest
    assert_error(show.step(contest.alice, {}), 403)
    assert_error(show.step(contest.walter, {"all": True}), 403)
    response = logged_in(contest.alice).post(
        f"/manage/rounds/{show.round.pk}/reveal/", {"all": "1"}
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        reveal_show.reveal_places(contest.alice, show.round, 1)
    # The web form needs its CSRF token, also from an organizer.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(contest.olga)
    assert strict.post(f"/manage/rounds/{show.round.pk}/reveal/", {"all": "1"}).status_code == 403
    assert_error(show.step(contest.olga, {"places": 0}), 400, fields=("places",))
    assert_error(show.step(contest.olga, {"places": "two"}), 400, fields=("places",))
    row = show.refresh()
    assert (row.revealed_places, row.reveal_ended_at) == (0, None)


def test_no_show_before_the_close(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, reveal_show=True)
    with pytest.raises(Conflict) as refused:
        reveal_show.reveal_places(contest.olga, contest.round, 1)
    assert refused.value.code == "not_revealed"
    assert_error(
        logged_in(contest.olga).post(
            f"/api/rounds/{contest.round.pk}/reveal/", "{}", content_type="application/json"
        ),
        409,
        "not_revealed",
    )


def test_a_round_without_a_show_reveals_everything_at_once(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), validation_wrong=1)
    assert contest.round.reveal_show is False  # the default of scripts and the API
    rounds.close_round(contest.olga, contest.round)
    row = Round.objects.get(pk=contest.round.pk)
    assert visibility.stage(row) is Stage.SHOWN
    final = ok_json(logged_in(contest.alice).get(f"/api/rounds/{row.pk}/final/"))
    assert final["complete"] is True and len(final["standings"]) == 1
    # Stepping is a no-op there.
    version = row.leaderboard_version
    reveal_show.reveal_next(contest.olga, row)
    assert Round.objects.get(pk=row.pk).leaderboard_version == version


def test_a_show_after_a_scheduled_close(contest: Contest) -> None:
    """Closed by its end time: the students read that it is being revealed; the manage page
    and the projector both carry the buttons."""
    rounds.update_round(
        contest.olga,
        contest.round,
        reveal_show=True,
        ends_at=timezone.now() + timedelta(minutes=5),
    )
    job = finish(contest, submit(contest, contest.alice))
    # The end passed a moment ago, after the job was submitted (it counts).
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=10))
    Round.objects.filter(pk=contest.round.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    page = logged_in(contest.alice).get(f"/rounds/{contest.round.pk}/").content.decode()
    assert "being revealed on the projector" in page and "0 of 1 places so far" in page
    row = Round.objects.get(pk=contest.round.pk)
    assert row.state == "closed" and visibility.stage(row) is Stage.SHOW
    manage = logged_in(contest.olga).get(f"/manage/rounds/{row.pk}/").content.decode()
    assert "Reveal place 1" in manage and 'name="back" value="manage"' in manage
    projector = logged_in(contest.olga).get(f"/rounds/{row.pk}/projector/").content.decode()
    assert "Reveal place 1" in projector and 'name="back" value="projector"' in projector
    response = logged_in(contest.olga).post(f"/manage/rounds/{row.pk}/reveal/", {"all": "1"})
    assert response["Location"].endswith(f"/manage/rounds/{row.pk}/")
    assert visibility.stage(Round.objects.get(pk=row.pk)) is Stage.SHOWN


def test_reopening_keeps_the_show_where_it_stood(show: Show) -> None:
    contest = show.contest
    reveal_show.reveal_places(contest.olga, show.round, 1)
    rounds.open_round(contest.olga, show.refresh())
    row = show.refresh()
    assert row.state == "open" and visibility.stage(row) is Stage.SHOW
    assert final_groups(ok_json(show.api(contest.alice, "final"))) == [(3, "Alpha")]
    # Practice jobs rank on the public board; the show goes on from the manage page.
    assert (
        "Reveal place 2"
        in logged_in(contest.olga).get(f"/manage/rounds/{row.pk}/").content.decode()
    )


def test_the_setting_is_fixed_once_revealed(show: Show) -> None:
    contest = show.contest
    with pytest.raises(InvalidInput) as refused:
        rounds.update_round(contest.olga, show.round, reveal_show=False)
    assert "reveal_show" in refused.value.fields
    response = logged_in(contest.olga).patch(
        f"/api/rounds/{show.round.pk}/", '{"reveal_show": false}', content_type="application/json"
    )
    assert_error(response, 400, fields=("reveal_show",))
    assert show.refresh().reveal_show is True


def test_the_web_form_has_the_show_on_and_the_api_off_by_default(contest: Contest) -> None:
    client = logged_in(contest.olga)
    form = client.get("/manage/rounds/new/").content.decode()
    assert 'name="reveal_show"' in form and "checked" in form.split('name="reveal_show"')[1][:80]
    fields = {
        "name": "Shown",
        "dataset": contest.dataset.pk,
        "metric": "accuracy",
        "job_quota": 5,
        "queued_quota": 2,
        "time_limit_seconds": 60,
        "memory_limit_mb": 512,
    }
    client.post("/manage/rounds/new/", {**fields, "reveal_show": "on"})
    client.post("/manage/rounds/new/", {**fields, "name": "At once"})
    assert Round.objects.get(name="Shown").reveal_show is True
    assert Round.objects.get(name="At once").reveal_show is False
    created = client.post(
        "/api/rounds/",
        json.dumps({"name": "Scripted", "dataset": contest.dataset.pk, "metric": "accuracy"}),
        content_type="application/json",
    )
    assert ok_json(created, 201)["reveal_show"] is False
    shown = client.post(
        "/api/rounds/",
        json.dumps(
            {"name": "S2", "dataset": contest.dataset.pk, "metric": "accuracy", "reveal_show": True}
        ),
        content_type="application/json",
    )
    assert ok_json(shown, 201)["reveal"] == {
        "stage": "hidden",
        "places": 0,
        "places_revealed": 0,
        "ended_at": None,
    }
    assert Round.objects.get(name="S2").reveal_show is True


def test_the_command_line_makes_and_steps_a_show(
    show: Show, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlcontest.cli.main import main

    assert main(["round", "reveal", str(show.round.pk)]) == 0
    assert capsys.readouterr().out.endswith("1 of 3 places revealed (show)\n")
    assert main(["round", "reveal", str(show.round.pk), "--places", "2"]) == 0
    assert show.refresh().revealed_places == 2
    assert main(["round", "reveal", str(show.round.pk), "--all"]) == 0
    assert capsys.readouterr().out.endswith("3 of 3 places revealed (shown)\n")
    assert visibility.stage(show.refresh()) is Stage.SHOWN
    argv = ["round", "create", "CLI", "--dataset", "tiny", "--metric", "accuracy"]
    assert main([*argv, "--reveal-show"]) == 0
    # The tiny dataset's 4 test points: the organizer is told to expect ties.
    assert "warning: 4 test points: scores move in steps of 0.250" in capsys.readouterr().err
    assert Round.objects.get(name="CLI").reveal_show is True


def test_the_course_standings_wait_for_the_end_of_the_show(show: Show) -> None:
    """A round's course points give away every final rank: they count for a student only once
    the show is over (organizers see them throughout)."""
    from mlcontest.contest import course_standings, courses

    contest = show.contest
    course = courses.create_course(contest.olga, "Lecture")
    courses.assign_round(contest.olga, show.round, course)
    assert course_standings.counted_rounds(course, contest.alice) == []
    assert course_standings.counted_rounds(course, contest.olga) == [show.round]
    reveal_show.reveal_places(contest.olga, show.refresh(), None)
    assert [r.pk for r in course_standings.counted_rounds(course, contest.alice)] == [show.round.pk]


def test_the_round_history_names_the_shows_steps_in_the_pages_language(show: Show) -> None:
    contest = show.contest
    reveal_show.reveal_next(contest.olga, show.round)
    reveal_show.reveal_places(contest.olga, show.refresh())
    page = logged_in(contest.olga).get(f"/manage/rounds/{show.round.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "a place revealed by olga" in text
    assert "the reveal ended by olga" in text
    assert "place_revealed" not in text and "reveal_ended" not in text
    german = logged_in(contest.olga).get(
        f"/manage/rounds/{show.round.pk}/", HTTP_ACCEPT_LANGUAGE="de"
    )
    assert "ein Platz aufgedeckt" in german.content.decode()
    assert "Aufdecken beendet" in german.content.decode()
