"""The students' pages through Django's test client: what each page shows, and what each POST
changes in the database (and, when refused, does not change)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import F
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from mlcontest.contest import rounds
from mlcontest.contest.models import Group, Job, JobState, Membership, Round, RoundEntry, User
from tests.conftest import Contest, submit

STRONG = "tulip-orbit-93"  # passes Django's password validators


def finish(job: Job, test: float, validation: float) -> None:
    """A job done with the given scores, as a worker's result would leave it."""
    Job.objects.filter(pk=job.pk).update(
        state=JobState.DONE,
        success=True,
        score_test=test,
        score_validation=validation,
        extra_scores_test={"accuracy": test, "f1_macro": test},
        extra_scores_validation={"accuracy": validation},
        timings={"fit": 0.01, "predict": 0.002},
        message="fitted fine",
        worker_name="w1",
        finished_at=timezone.now(),
    )
    # As storing a real result does: the leaderboard is cached by this version.
    Round.objects.filter(pk=job.round_id).update(leaderboard_version=F("leaderboard_version") + 1)


def test_anonymous_is_sent_to_sign_in(contest: Contest) -> None:
    response = contest.client(None).get(reverse("web:round", args=[contest.round.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_in_page_has_labels(contest: Contest) -> None:
    page = contest.client(None).get("/accounts/login/").content.decode()
    assert '<label for="id_username">' in page
    assert '<label for="id_password">' in page
    assert "Sign up" not in page  # sign-up is closed by default


def test_sign_in_and_out(contest: Contest) -> None:
    client = contest.client(None)
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw"})
    assert response.status_code == 302
    assert client.get(reverse("web:rounds")).status_code == 200
    client.post("/accounts/logout/")
    assert client.get(reverse("web:rounds")).status_code == 302


def test_home_sends_students_to_rounds_and_organizers_to_overview(contest: Contest) -> None:
    assert contest.client(contest.alice).get("/")["Location"] == reverse("web:rounds")
    assert contest.client(contest.olga).get("/")["Location"] == reverse("web:overview")


def test_sign_up_closed_without_a_code(contest: Contest) -> None:
    response = contest.client(None).post(
        reverse("web:signup"), {"username": "dan", "password": "secret", "class_code": ""}
    )
    assert response.status_code == 404
    assert not User.objects.filter(username="dan").exists()


@override_settings(SIGNUP_CODE="ML-2024")
def test_sign_up_with_the_class_code(contest: Contest) -> None:
    client = contest.client(None)
    wrong = client.post(
        reverse("web:signup"), {"username": "dan", "password": STRONG, "class_code": "nope"}
    )
    assert wrong.status_code == 200
    assert "This is not the class code." in wrong.content.decode()
    assert not User.objects.filter(username="dan").exists()
    right = client.post(
        reverse("web:signup"),
        {"username": "dan", "password": STRONG, "class_code": "ML-2024"},
    )
    assert right.status_code == 302
    dan = User.objects.get(username="dan")
    assert dan.role == "student" and not dan.is_organizer
    assert client.get(reverse("web:groups")).status_code == 200  # signed in


@override_settings(SIGNUP_CODE="ML-2024")
def test_sign_up_refuses_a_taken_name(contest: Contest) -> None:
    response = contest.client(None).post(
        reverse("web:signup"),
        {"username": "alice", "password": STRONG, "class_code": "ML-2024"},
    )
    assert "This username is taken." in response.content.decode()
    assert User.objects.filter(username="alice").count() == 1


def test_groups_page_lists_public_groups_and_mine(contest: Contest) -> None:
    page = contest.client(contest.carol).get(reverse("web:groups")).content.decode()
    assert "Alpha" in page
    assert "Beta" not in page  # private, and carol is not in it
    assert "You are not in a group yet" in page
    assert "Create a group" not in page


def test_join_a_public_group(contest: Contest) -> None:
    response = contest.client(contest.carol).post(
        reverse("web:group_join"), {"code-group_name": "Alpha"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=contest.carol).group == contest.alpha


def test_join_a_private_group_needs_its_code(contest: Contest) -> None:
    client = contest.client(contest.carol)
    client.post(reverse("web:group_join"), {"code-group_name": "Beta", "code-invite_code": "x"})
    assert not Membership.objects.filter(user=contest.carol).exists()
    client.post(
        reverse("web:group_join"),
        {"code-group_name": "Beta", "code-invite_code": contest.beta.invite_code},
    )
    assert Membership.objects.get(user=contest.carol).group == contest.beta


def test_group_page_shows_members_and_the_code_to_members_only(contest: Contest) -> None:
    url = reverse("web:group", args=[contest.alpha.pk])
    page = contest.client(contest.alice).get(url).content.decode()
    assert "alice" in page and contest.alpha.invite_code in page
    other = contest.client(contest.carol).get(url).content.decode()
    assert "alice" in other and contest.alpha.invite_code not in other
    hidden = contest.client(contest.carol).get(reverse("web:group", args=[contest.beta.pk]))
    assert hidden.status_code == 404


def test_students_create_groups_only_where_allowed(contest: Contest) -> None:
    client = contest.client(contest.carol)
    client.post(reverse("web:groups"), {"create-group_name": "Gamma", "create-public": "on"})
    assert not Group.objects.filter(name="Gamma").exists()
    with override_settings(STUDENTS_CREATE_GROUPS=True):
        page = client.get(reverse("web:groups")).content.decode()
        assert "Create a group" in page
        bad = client.post(reverse("web:groups"), {"create-group_name": "A+B"})
        assert "may not contain" in bad.content.decode()
        client.post(reverse("web:groups"), {"create-group_name": "Gamma", "create-public": "on"})
    gamma = Group.objects.get(name="Gamma")
    assert Membership.objects.get(user=contest.carol).group == gamma


def test_rounds_list_splits_open_upcoming_closed(contest: Contest) -> None:
    from datetime import timedelta

    later = rounds.create_round(
        contest.olga,
        name="Later round",
        dataset=contest.dataset,
        metric="accuracy",
        starts_at=timezone.now() + timedelta(hours=1),
    )
    draft = rounds.create_round(
        contest.olga, name="Secret draft", dataset=contest.dataset, metric="accuracy"
    )
    page = contest.client(contest.alice).get(reverse("web:rounds")).content.decode()
    assert "Round 1" in page
    assert "Later round" in page and "data-countdown" in page
    assert draft.name not in page  # drafts are for organizers
    assert (
        contest.client(contest.alice).get(reverse("web:round", args=[draft.pk])).status_code == 404
    )
    assert later.pk


def test_round_page_shows_dataset_form_and_quota(contest: Contest) -> None:
    page = contest.client(contest.alice).get(reverse("web:round", args=[contest.round.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Dataset: tiny" in html and "Two lines of points." in html
    assert '<svg class="scatter"' in html
    # The form comes from the registry: kNN's n_neighbors with its default, range and help
    # (at most one neighbour per training point of the round's dataset).
    assert 'name="knn-n_neighbors"' in html
    fit_on = contest.dataset.training_points
    assert 'value="5"' in html and 'min="1"' in html and f'max="{fit_on}"' in html
    assert "How many neighbours vote" in html
    assert '<label for="id_knn-n_neighbors">' in html
    assert "5</strong> of 5 jobs left" in html


def post_job(contest: Contest, user: User, algorithm: str = "knn", **params: Any) -> Any:
    """POST the round page's form as a browser does: every field of the algorithm, with the
    registry's defaults where the test gives no value."""
    from mlcontest.algorithms import REGISTRY

    values = {**REGISTRY[algorithm].defaults(), **params}
    data = {"algorithm": algorithm}
    data.update(
        {
            f"{algorithm}-{name}": "" if value is None else str(value)
            for name, value in values.items()
        }
    )
    return contest.client(user).post(reverse("web:round", args=[contest.round.pk]), data)


def test_submit_a_job(contest: Contest) -> None:
    response = post_job(
        contest,
        contest.alice,
        n_neighbors=3,
        weights="distance",
        p=1,
        scaling="standard",
        random_state=0,
    )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.group == contest.alpha and job.user == contest.alice
    assert job.params["n_neighbors"] == 3 and job.params["weights"] == "distance"
    assert job.state == JobState.QUEUED


def test_a_bad_parameter_is_refused_next_to_its_field(contest: Contest) -> None:
    response = post_job(
        contest,
        contest.alice,
        n_neighbors=0,
        weights="uniform",
        p=2,
        scaling="none",
        random_state=0,
    )
    html = response.content.decode()
    assert response.status_code == 400  # the form again, with the refusal next to the field
    assert not Job.objects.exists()
    assert 'id="id_knn-n_neighbors_error"' in html
    assert "must be at least 1" in html
    assert 'aria-invalid="true"' in html


def test_an_empty_required_number_is_refused(contest: Contest) -> None:
    response = post_job(
        contest,
        contest.alice,
        n_neighbors="",
        weights="uniform",
        p=2,
        scaling="none",
        random_state=0,
    )
    assert "a value is required" in response.content.decode()
    assert not Job.objects.exists()


def test_a_nullable_parameter_may_stay_empty(contest: Contest) -> None:
    post_job(
        contest,
        contest.alice,
        "decision_tree",
        max_depth="",
        criterion="gini",
        min_samples_leaf=1,
        scaling="none",
        random_state=0,
    )
    assert Job.objects.get().params["max_depth"] is None


def test_quota_refusal_is_shown(contest: Contest) -> None:
    for _ in range(3):
        submit(contest, contest.alice)
    response = post_job(contest, contest.alice, n_neighbors=5)
    assert "jobs waiting" in response.content.decode()
    assert Job.objects.count() == 3


def test_no_form_without_a_group(contest: Contest) -> None:
    html = (
        contest.client(contest.carol)
        .get(reverse("web:round", args=[contest.round.pk]))
        .content.decode()
    )
    assert "Join a group to submit jobs" in html
    assert 'id="submit-form"' not in html


def test_submit_again_with_changes_prefills_the_form(contest: Contest) -> None:
    job = submit(contest, contest.alice, "svm", C=7.5, kernel="linear")
    url = reverse("web:round", args=[contest.round.pk]) + f"?from_job={job.pk}"
    html = contest.client(contest.alice).get(url).content.decode()
    assert 'value="7.5"' in html
    assert '<option value="linear" selected>' in html
    # Another group's job does not leak its parameters.
    other = contest.client(contest.bob).get(url).content.decode()
    assert 'value="7.5"' not in other


def test_live_round_part_shows_jobs_and_is_cheap_when_unchanged(contest: Contest) -> None:
    client = contest.client(contest.alice)
    url = reverse("web:round_live", args=[contest.round.pk])
    first = client.get(url).json()
    assert "No jobs yet" in first["parts"]["jobs"]
    assert client.get(url, {"since": first["signature"]}).json() == {"unchanged": True}
    job = submit(contest, contest.alice)
    second = client.get(url, {"since": first["signature"]}).json()
    assert f"#{job.pk}" in second["parts"]["jobs"] and "queued" in second["parts"]["jobs"]
    finish(job, 0.9, 0.8)
    third = client.get(url, {"since": second["signature"]}).json()
    assert "0.900" in third["parts"]["jobs"]
    assert "Alpha" in third["parts"]["board"] and "0.900" in third["parts"]["board"]
    assert third["history"]["series"]["Alpha"][0][1] == 0.9


def test_students_never_see_validation_while_open(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    finish(job, 0.9, 0.777)
    client = contest.client(contest.alice)
    for url in (
        reverse("web:round", args=[contest.round.pk]),
        reverse("web:round_live", args=[contest.round.pk]),
        reverse("web:job", args=[job.pk]),
    ):
        assert "0.777" not in client.get(url).content.decode()
    rounds.close_round(contest.olga, contest.round)
    assert "0.777" in client.get(reverse("web:job", args=[job.pk])).content.decode()


def test_job_page(contest: Contest) -> None:
    job = submit(contest, contest.alice, "knn", n_neighbors=4)
    finish(job, 0.9, 0.8)
    html = contest.client(contest.alice).get(reverse("web:job", args=[job.pk])).content.decode()
    assert f"Job #{job.pk}" in html
    assert "0.900" in html and "f1_macro" in html and "fitted fine" in html
    assert "n_neighbors" in html and "10 ms" in html
    assert f"?from_job={job.pk}" in html
    assert "hidden until the round closes" in html
    assert contest.client(contest.bob).get(reverse("web:job", args=[job.pk])).status_code == 404


def test_final_choice_where_the_round_allows_it(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    finish(job, 0.9, 0.8)
    client = contest.client(contest.alice)
    url = reverse("web:job", args=[job.pk])
    assert "Make this our final choice" not in client.get(url).content.decode()
    client.post(reverse("web:job_final", args=[job.pk]))
    assert RoundEntry.objects.filter(final_job=job).count() == 0
    contest.round.final_choice_allowed = True
    contest.round.save()
    assert "Make this our final choice" in client.get(url).content.decode()
    contest.client(contest.bob).post(reverse("web:job_final", args=[job.pk]))
    assert RoundEntry.objects.filter(final_job=job).count() == 0
    client.post(reverse("web:job_final", args=[job.pk]))
    assert RoundEntry.objects.get(round=contest.round, group=contest.alpha).final_job == job
    assert "final choice" in client.get(url).content.decode()


def test_closed_round_shows_the_final_ranking(contest: Contest) -> None:
    a = submit(contest, contest.alice)
    b = submit(contest, contest.bob)
    finish(a, 0.95, 0.70)  # first on test, second on validation
    finish(b, 0.90, 0.85)
    rounds.close_round(contest.olga, contest.round)
    html = (
        contest.client(contest.alice)
        .get(reverse("web:round", args=[contest.round.pk]))
        .content.decode()
    )
    assert "Final ranking" in html
    final = html[html.index("table final") :]
    assert final.index("Beta") < final.index("Alpha")
    assert "up 1 place" in final and "down 1 place" in final


def test_job_live_part(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    client = contest.client(contest.alice)
    url = reverse("web:job_live", args=[job.pk])
    first = client.get(url).json()
    assert "Waiting for a worker" in first["parts"]["job"]
    finish(job, 0.5, 0.5)
    assert "0.500" in client.get(url, {"since": first["signature"]}).json()["parts"]["job"]


@pytest.mark.parametrize("name", ["web:help"])
def test_help_page_is_public(contest: Contest, name: str) -> None:
    html = contest.client(None).get(reverse(name)).content.decode()
    assert "How to play" in html


def test_an_unchanged_live_poll_renders_nothing(
    contest: Contest, django_assert_max_num_queries: Any
) -> None:
    """A page that polls an idle round gets a tiny answer from a few small queries (the
    leaderboard and the templates are not touched)."""
    submit(contest, contest.alice)
    client = contest.client(contest.alice)
    url = reverse("web:round_live", args=[contest.round.pk])
    signature = client.get(url).json()["signature"]
    with django_assert_max_num_queries(4):
        assert client.get(url, {"since": signature}).json() == {"unchanged": True}


def test_group_creation_is_one_rule_on_every_path(contest: Contest) -> None:
    """The web page used to skip the domain's check: with students allowed, a worker's web
    login created groups too. Now the web, the seed protocol and the JSON API share it."""
    from mlcontest.contest import groups
    from mlcontest.contest.errors import PermissionDenied

    with override_settings(STUDENTS_CREATE_GROUPS=True):
        contest.client(contest.walter).post(
            reverse("web:groups"), {"create-group_name": "Bots", "create-public": "on"}
        )
        assert not Group.objects.filter(name="Bots").exists()
        with pytest.raises(PermissionDenied):
            groups.create_group(contest.walter, "Bots")
        made = groups.create_group(contest.carol, "Delta", public=False)
        assert Membership.objects.get(user=contest.carol).group == made
    with pytest.raises(PermissionDenied):
        groups.create_group(contest.carol, "Epsilon")
    assert not Group.objects.filter(name="Epsilon").exists()
