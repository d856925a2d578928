"""Every contest model is in Django's admin, and its list and add pages open for staff."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin

from tests.conftest import Contest, submit


@pytest.mark.django_db
def test_every_contest_model_is_registered() -> None:
    models = apps.get_app_config("contest").get_models()
    missing = [model.__name__ for model in models if model not in admin.site._registry]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", [m.__name__.lower() for m in apps.get_app_config("contest").get_models()]
)
def test_admin_pages_open(contest: Contest, model: str) -> None:
    submit(contest, contest.alice)
    contest.olga.is_staff = True
    contest.olga.is_superuser = True
    contest.olga.save()
    client = contest.client(contest.olga)
    assert client.get(f"/admin/contest/{model}/").status_code == 200
    assert client.get(f"/admin/contest/{model}/add/").status_code == 200


@pytest.mark.django_db
def test_students_do_not_get_into_the_admin(contest: Contest) -> None:
    answer = contest.client(contest.alice).get("/admin/contest/job/")
    assert answer.status_code == 302
    assert "/admin/login/" in answer["Location"]


@pytest.mark.django_db
def test_renaming_a_group_in_the_admin_renews_its_rounds_boards(contest: Contest) -> None:
    from mlcontest.contest.admin import GroupAdmin
    from mlcontest.contest.models import Group, Round

    submit(contest, contest.alice)  # Alpha is in the round now
    before = Round.objects.get(pk=contest.round.pk).leaderboard_version
    form = SimpleNamespace(changed_data=["public"])
    group_admin = GroupAdmin(Group, admin.site)
    group_admin.save_model(None, contest.alpha, form, change=True)
    assert Round.objects.get(pk=contest.round.pk).leaderboard_version == before
    contest.alpha.name = "Alpha Centauri"
    group_admin.save_model(None, contest.alpha, SimpleNamespace(changed_data=["name"]), True)
    assert Group.objects.get(pk=contest.alpha.pk).name == "Alpha Centauri"
    assert Round.objects.get(pk=contest.round.pk).leaderboard_version == before + 1


@pytest.mark.django_db
def test_a_course_in_the_admin_keeps_the_points_rule(contest: Contest) -> None:
    from mlcontest.contest.models import Course

    contest.olga.is_staff = True
    contest.olga.is_superuser = True
    contest.olga.save()
    client = contest.client(contest.olga)
    form = {
        "name": "ML 1",
        "description": "",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "rounds-TOTAL_FORMS": "0",
        "rounds-INITIAL_FORMS": "0",
    }
    refused = client.post("/admin/contest/course/add/", {**form, "points": "[1, 5]"})
    assert refused.status_code == 200
    assert "a worse place may not earn more points" in refused.content.decode()
    assert not Course.objects.exists()
    saved = client.post("/admin/contest/course/add/", {**form, "points": "[5, 1]"})
    assert saved.status_code == 302 and Course.objects.get().points == [5, 1]
