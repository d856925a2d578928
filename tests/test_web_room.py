"""The pages for the room (issue 11, items 3 and 7) through Django's test client: the form
keeps the job just submitted, the error pages have the site's layout (the JSON paths keep their
JSON body), the no-worker hint, the projector's every group and its algorithms only once the
round is revealed. tests/test_browser_room.py shows the same in Chromium at three sizes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from mlcontest.algorithms import REGISTRY
from mlcontest.contest import rounds
from mlcontest.contest.models import Group, Job, JobState, Membership, WorkerSeen
from mlcontest.http import guards
from tests.conftest import Contest, make_user, submit
from tests.test_web_student import finish


def round_page(contest: Contest, **query: Any) -> str:
    response = contest.client(contest.alice).get(
        reverse("web:round", args=[contest.round.pk]), query
    )
    assert response.status_code == 200
    return str(response.content.decode())


def test_after_a_submit_the_form_keeps_the_job(contest: Contest) -> None:
    client = contest.client(contest.alice)
    values = {**REGISTRY["svm"].defaults(), "C": 3.5}
    data = {"algorithm": "svm"}
    data.update({f"svm-{name}": "" if v is None else str(v) for name, v in values.items()})
    response = client.post(reverse("web:round", args=[contest.round.pk]), data)
    job = Job.objects.get()
    assert (job.algorithm, job.params["C"]) == ("svm", 3.5)
    assert response["Location"].endswith(f"?from_job={job.pk}#submit")
    html = client.get(response["Location"]).content.decode()
    # The notice names its job (the page follows it) and sits in the form's card.
    assert f"job-notice job-{job.pk}" in html
    assert html.index(f"Job {job.pk} is queued.") > html.index('id="submit-title"')
    assert '<option value="svm" selected>' in html
    assert 'name="svm-C" value="3.5"' in html
    assert '<fieldset class="params" data-algorithm="svm">' in html


def test_error_pages_have_the_site_layout_json_paths_keep_json(contest: Contest) -> None:
    other = submit(contest, contest.bob)
    response = contest.client(contest.alice).get(reverse("web:job", args=[other.pk]))
    html = response.content.decode()
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert '<header class="top">' in html and "<h1>Not found</h1>" in html
    assert "alice" in html  # signed in, in the site's header
    assert "svm" not in html and "knn" not in html  # nothing of the other group's job

    api = contest.client(contest.alice).get(f"/api/jobs/{other.pk}/")
    assert api.status_code == 404
    assert api.json()["status"] == "error"

    request = RequestFactory().get("/manage/")
    request.user = contest.alice
    denied = guards.permission_denied(request, PermissionDenied())
    assert denied.status_code == 403
    assert "<h1>Not allowed</h1>" in denied.content.decode()
    api_request = RequestFactory().get("/api/rounds/")
    api_request.user = contest.alice
    assert guards.permission_denied(api_request, PermissionDenied())["Content-Type"] == (
        "application/json"
    )


def test_a_hint_while_jobs_wait_and_no_worker_is_active(contest: Contest) -> None:
    assert "data-no-worker" not in round_page(contest)  # nothing waits
    job = submit(contest, contest.alice)
    assert "data-no-worker" in round_page(contest)
    live = contest.client(contest.alice).get(reverse("web:round_live", args=[contest.round.pk]))
    assert "data-no-worker" in live.json()["parts"]["jobs"]

    # A worker that asked for work lately: no hint, and the live signature changes with it.
    seen = WorkerSeen.objects.create(worker_key="w-1", user=contest.walter, name="pc-1")
    assert "data-no-worker" not in round_page(contest)
    again = contest.client(contest.alice).get(
        reverse("web:round_live", args=[contest.round.pk]),
        {"since": live.json()["signature"]},
    )
    assert "data-no-worker" not in again.json()["parts"]["jobs"]

    # Long gone, but busy with another job whose lease runs: still no hint.
    WorkerSeen.objects.filter(pk=seen.pk).update(last_seen_at=timezone.now() - timedelta(minutes=5))
    assert "data-no-worker" in round_page(contest)
    busy = submit(contest, contest.bob)
    Job.objects.filter(pk=busy.pk).update(
        state=JobState.RUNNING, lease_expires_at=timezone.now() + timedelta(seconds=60)
    )
    assert "data-no-worker" not in round_page(contest)
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_the_projector_lists_every_group_and_algorithms_after_the_reveal(
    contest: Contest,
) -> None:
    gamma = Group.objects.create(name="Gamma", public=False, created_by=contest.olga)
    make_user("dave", group=gamma)
    Group.objects.create(name="Empty", public=True, created_by=contest.olga)  # no members
    finish(submit(contest, contest.alice, "knn"), 0.9, 0.8)
    finish(submit(contest, contest.bob, "svm"), 0.7, 0.95)
    projector = contest.client(contest.olga)
    url = reverse("web:projector", args=[contest.round.pk])
    html = projector.get(url).content.decode()
    assert 'data-group="Gamma"' in html and "no job yet" in html
    assert 'data-group="Empty"' not in html
    assert '<th scope="col">Algorithm</th>' not in html  # students may not see them yet
    # The students' own board stays as it was: groups that have played.
    assert 'data-group="Gamma"' not in round_page(contest)

    rounds.close_round(contest.olga, contest.round)
    html = projector.get(url).content.decode()
    final = html[html.index('class="table final') :]
    assert '<th scope="col">Algorithm</th>' in final
    assert '<td class="algorithm">svm</td>' in final
    assert '<td class="algorithm">knn</td>' in final
    assert Membership.objects.filter(group=gamma).exists()


def test_an_open_round_is_open_until_the_organizer_closes_it(contest: Contest) -> None:
    html = contest.client(contest.alice).get(reverse("web:rounds")).content.decode()
    assert "closed by hand" not in html
    assert "open until the organizer closes it" in html
