"""Datasets: the ones the viewer may see, their description, and their points."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from mlcontest.api.common import viewer
from mlcontest.contest import datasets, rounds
from mlcontest.contest.errors import NotFound
from mlcontest.contest.models import Dataset, User
from mlcontest.contest.permissions import sees_everything, sees_hidden_labels
from mlcontest.http import allow_methods, json_action


def visible_datasets(user: User) -> QuerySet[Dataset]:
    """Workers and organizers see every dataset; students those of the rounds they can see
    (the same rule as the seed's ``get_datasets``)."""
    if sees_everything(user):
        return Dataset.objects.all()
    used = rounds.visible_rounds(user).values_list("dataset_id", flat=True)
    return Dataset.objects.filter(pk__in=used)


def _dataset(user: User, dataset_id: int) -> Dataset:
    dataset = visible_datasets(user).filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound(f"No dataset {dataset_id}.")
    return dataset


def dataset_json(dataset: Dataset) -> dict[str, Any]:
    described = datasets.describe_dataset(dataset)
    described["points_url"] = f"/api/datasets/{dataset.pk}/points/"
    return described


@allow_methods("GET")
@json_action
def dataset_list(request: HttpRequest) -> dict[str, Any]:
    user = viewer(request)
    return {"datasets": [dataset_json(dataset) for dataset in visible_datasets(user)]}


@allow_methods("GET")
@json_action
def dataset_detail(request: HttpRequest, dataset_id: int) -> dict[str, Any]:
    return dataset_json(_dataset(viewer(request), dataset_id))


@allow_methods("GET")
@json_action
def dataset_points(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """The points as a JSON list; everyone but organizers gets ``null`` labels for test and
    validation points (workers included: they fit on training labels only)."""
    user = viewer(request)
    body = datasets.points_json(
        _dataset(user, dataset_id), with_hidden_labels=sees_hidden_labels(user)
    )
    return HttpResponse(body, content_type="application/json")
