"""The organizers' pages through Django's test client: overview, datasets with a preview,
rounds (create, open, close, baseline), the projector view and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mlcontest.contest import rounds
from mlcontest.contest.models import Dataset, Job, JobState, Round, RoundState, WorkerSeen
from tests.conftest import Contest, submit
from tests.test_web_student import finish

ORGANIZER_PAGES: list[tuple[str, list[int]]] = [
    ("web:overview", []),
    ("web:datasets", []),
    ("web:dataset_new", []),
    ("web:round_new", []),
]


@pytest.mark.parametrize(("name", "args"), ORGANIZER_PAGES)
def test_students_cannot_open_organizer_pages(contest: Contest, name: str, args: list) -> None:
    response = contest.client(contest.alice).get(reverse(name, args=args))
    assert response.status_code == 403
    assert "Organizers only" in response.content.decode()


@pytest.mark.parametrize("name", ["web:manage_round", "web:projector", "web:round_export"])
def test_students_cannot_manage_a_round(contest: Contest, name: str) -> None:
    response = contest.client(contest.alice).get(reverse(name, args=[contest.round.pk]))
    assert response.status_code == 403


def test_students_cannot_open_or_close(contest: Contest) -> None:
    url = reverse("web:round_action", args=[contest.round.pk, "close"])
    assert contest.client(contest.alice).post(url).status_code == 403
    contest.round.refresh_from_db()
    assert contest.round.state == RoundState.OPEN


def test_overview_shows_groups_jobs_failures_and_workers(contest: Contest) -> None:
    done = submit(contest, contest.alice)
    finish(done, 0.9, 0.8)
    failed = submit(contest, contest.bob)
    Job.objects.filter(pk=failed.pk).update(
        state=JobState.FAILED, success=False, message="ValueError: bad things"
    )
    WorkerSeen.objects.create(worker_key="k1", user=contest.walter, name="lab-pc-7")
    html = contest.client(contest.olga).get(reverse("web:overview")).content.decode()
    assert "Alpha" in html and "Beta" in html and "alice" in html
    assert "ValueError: bad things" in html
    assert "lab-pc-7" in html and "alive" in html
    assert "Round 1" in html


def test_dataset_preview_then_save(contest: Contest) -> None:
    client = contest.client(contest.olga)
    data = {
        "name": "moons-1",
        "description": "",
        "source": "generate",
        "kind": "moons",
        "n_points": "120",
        "noise": "0.2",
        "seed": "3",
    }
    preview = client.post(reverse("web:dataset_new"), {**data, "action": "preview"})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "120 points" in html and '<svg class="scatter"' in html
    assert not Dataset.objects.filter(name="moons-1").exists()
    saved = client.post(reverse("web:dataset_new"), {**data, "action": "save"})
    assert saved.status_code == 302
    dataset = Dataset.objects.get(name="moons-1")
    assert dataset.size == 120 and dataset.feature_names == ["x", "y"]
    listing = client.get(reverse("web:datasets")).content.decode()
    assert "moons-1" in listing


def test_dataset_form_takes_the_domains_point_bounds(contest: Contest) -> None:
    """The form allowed 5,000 points where the domain (and the command line) allow 100,000."""
    from django import forms

    from mlcontest.contest import dataset_choices
    from mlcontest.web.forms import DatasetForm

    def points_error(n_points: int) -> list[str]:
        form = DatasetForm(
            data={
                "name": "big",
                "source": "generate",
                "kind": "xor",
                "n_points": str(n_points),
                "noise": "0.1",
                "seed": "0",
            }
        )
        form.is_valid()
        return [str(error) for error in form.errors.get("n_points", [])]

    assert points_error(6000) == []
    assert points_error(dataset_choices.MAX_POINTS) == []
    assert points_error(dataset_choices.MAX_POINTS + 1) != []
    assert points_error(dataset_choices.MIN_POINTS - 1) != []
    kind = DatasetForm().fields["kind"]
    assert isinstance(kind, forms.ChoiceField)
    assert [k for k, _ in list(kind.choices)] == list(dataset_choices.GENERATORS)  # type: ignore[arg-type]


def test_dataset_from_a_bundled_one(contest: Contest) -> None:
    contest.client(contest.olga).post(
        reverse("web:dataset_new"),
        {"name": "Iris", "source": "bundled", "bundled": "iris", "seed": "0", "action": "save"},
    )
    assert Dataset.objects.get(name="Iris").size == 150


def test_dataset_csv_upload_survives_the_preview(contest: Contest) -> None:
    rows = "a,b,label\n" + "".join(f"{i},{i % 3},{'x' if i % 2 else 'y'}\n" for i in range(30))
    client = contest.client(contest.olga)
    preview = client.post(
        reverse("web:dataset_new"),
        {
            "name": "uploaded",
            "source": "csv",
            "csv_file": SimpleUploadedFile("points.csv", rows.encode(), "text/csv"),
            "action": "preview",
        },
    )
    html = preview.content.decode()
    assert "30 points" in html
    assert 'name="csv_text"' in html  # the text travels back with the page
    # "Save" without the file: the kept text is used.
    client.post(
        reverse("web:dataset_new"),
        {"name": "uploaded", "source": "csv", "csv_text": rows, "action": "save"},
    )
    assert Dataset.objects.get(name="uploaded").size == 30


def test_dataset_bad_csv_is_refused_next_to_the_file(contest: Contest) -> None:
    response = contest.client(contest.olga).post(
        reverse("web:dataset_new"),
        {
            "name": "bad",
            "source": "csv",
            "csv_file": SimpleUploadedFile("bad.csv", b"a,b\n1,2\n", "text/csv"),
            "action": "save",
        },
    )
    html = response.content.decode()
    assert 'id="id_csv_file_error"' in html
    assert not Dataset.objects.filter(name="bad").exists()


def test_dataset_name_taken(contest: Contest) -> None:
    response = contest.client(contest.olga).post(
        reverse("web:dataset_new"),
        {
            "name": "tiny",
            "source": "generate",
            "kind": "xor",
            "n_points": "40",
            "noise": "0.1",
            "seed": "0",
            "action": "save",
        },
    )
    assert 'id="id_name_error"' in response.content.decode()
    assert Dataset.objects.filter(name="tiny").count() == 1


def round_data(contest: Contest, **overrides: str | list[str]) -> dict:
    data: dict = {
        "name": "Round 2",
        "description": "Beat the baseline.",
        "dataset": str(contest.dataset.pk),
        "metric": "accuracy",
        "allowed_algorithms": ["knn", "svm"],
        "job_quota": "10",
        "queued_quota": "2",
        "time_limit_seconds": "30",
        "memory_limit_mb": "512",
        "starts_at": "",
        "ends_at": "",
        "final_choice_allowed": "on",
    }
    data.update(overrides)
    return data


def test_create_a_round(contest: Contest) -> None:
    response = contest.client(contest.olga).post(reverse("web:round_new"), round_data(contest))
    created = Round.objects.get(name="Round 2")
    assert response["Location"] == reverse("web:manage_round", args=[created.pk])
    assert created.state == RoundState.DRAFT
    assert created.allowed_algorithms == ["knn", "svm"]
    assert created.job_quota == 10 and created.queued_quota == 2
    assert created.final_choice_allowed


def test_create_a_round_sets_the_final_choice_in_the_creation(contest: Contest) -> None:
    """The page used to create the round and then save final_choice_allowed in a second,
    separate UPDATE; create_round takes the argument inside its transaction."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = contest.client(contest.olga)
    with CaptureQueriesContext(connection) as ctx:
        client.post(reverse("web:round_new"), round_data(contest))
    created = Round.objects.get(name="Round 2")
    assert created.final_choice_allowed
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert not [sql for sql in updates if "contest_round" in sql.split("SET")[0]]
    assert list(created.events.values_list("action", flat=True)) == ["created"]


def test_create_a_round_refuses_clustering_algorithms_for_accuracy(contest: Contest) -> None:
    response = contest.client(contest.olga).post(
        reverse("web:round_new"), round_data(contest, allowed_algorithms=["kmeans"])
    )
    html = response.content.decode()
    assert 'id="id_allowed_algorithms_error"' in html
    assert not Round.objects.filter(name="Round 2").exists()


def test_open_and_close_by_hand(contest: Contest) -> None:
    draft = rounds.create_round(contest.olga, name="R", dataset=contest.dataset, metric="accuracy")
    client = contest.client(contest.olga)
    page = client.get(reverse("web:manage_round", args=[draft.pk])).content.decode()
    assert "Open the round" in page
    client.post(reverse("web:round_action", args=[draft.pk, "open"]))
    draft.refresh_from_db()
    assert draft.state == RoundState.OPEN
    assert (
        "Close the round"
        in client.get(reverse("web:manage_round", args=[draft.pk])).content.decode()
    )
    client.post(reverse("web:round_action", args=[draft.pk, "close"]))
    draft.refresh_from_db()
    assert draft.state == RoundState.CLOSED


def test_baseline_job(contest: Contest) -> None:
    client = contest.client(contest.olga)
    client.post(reverse("web:round_baseline", args=[contest.round.pk]), {"algorithm": "knn"})
    job = Job.objects.get()
    assert job.group is None and job.algorithm == "knn" and job.params["n_neighbors"] == 5
    finish(job, 0.5, 0.5)
    board = client.get(reverse("web:round_live", args=[contest.round.pk])).json()["parts"]["board"]
    assert "baseline: knn" in board


def test_export_csv(contest: Contest) -> None:
    job = submit(contest, contest.alice, n_neighbors=3)
    finish(job, 0.9, 0.8)
    submit(contest, contest.bob)
    response = contest.client(contest.olga).get(
        reverse("web:round_export", args=[contest.round.pk])
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 2
    first = rows[0]
    assert first["group"] == "Alpha" and first["score_test"] == "0.9"
    assert first["score_validation"] == "0.8" and '"n_neighbors": 3' in first["params"]
    assert rows[1]["state"] == "queued"


def test_projector_view_and_its_live_part(contest: Contest) -> None:
    contest.round.ends_at = timezone.now() + timedelta(minutes=10)
    contest.round.save()
    client = contest.client(contest.olga)
    html = client.get(reverse("web:projector", args=[contest.round.pk])).content.decode()
    assert "data-countdown" in html and "Leaderboard" in html and "Newest jobs" in html
    url = reverse("web:projector_live", args=[contest.round.pk])
    first = client.get(url).json()
    job = submit(contest, contest.alice)
    second = client.get(url, {"since": first["signature"]}).json()
    assert "Alpha" in second["parts"]["newest"] and "queued" in second["parts"]["newest"]
    finish(job, 0.75, 0.6)
    third = client.get(url, {"since": second["signature"]}).json()
    assert "0.750" in third["parts"]["board"]
    assert "data-reveal-next" not in third["parts"]["reveal"]
    rounds.close_round(contest.olga, contest.round)
    fourth = client.get(url, {"since": third["signature"]}).json()
    assert fourth["state"] == "closed"
    # A round without a show (the default of scripts) reveals everything at once: no buttons
    # (the show's are tested in tests/test_reveal_show.py).
    assert "data-reveal-next" not in fourth["parts"]["reveal"]
    assert "0.600" in fourth["parts"]["reveal"]


def test_projector_live_is_for_organizers(contest: Contest) -> None:
    url = reverse("web:projector_live", args=[contest.round.pk])
    assert contest.client(contest.alice).get(url).status_code == 404
