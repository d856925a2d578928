"""Every contest model is in Django's admin, and its list and add pages open for staff."""

from __future__ import annotations

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
