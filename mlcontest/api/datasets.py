"""Datasets: the ones the viewer may see, their description, and their points."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router

from mlcontest.api.common import viewer
from mlcontest.api.schemas.common import answers
from mlcontest.api.schemas.datasets import Dataset, DatasetList, Points
from mlcontest.contest import datasets
from mlcontest.contest.models import Dataset as DatasetModel
from mlcontest.contest.models import User
from mlcontest.contest.permissions import sees_hidden_labels
from mlcontest.http.points import points_answer

router = Router(tags=["datasets"])


def _dataset(user: User, dataset_id: int) -> DatasetModel:
    return datasets.find_visible_dataset(user, dataset_id)


def dataset_json(dataset: DatasetModel) -> dict[str, Any]:
    described = datasets.describe_dataset(dataset)
    described["points_url"] = f"/api/datasets/{dataset.pk}/points/"
    return described


@router.get("/datasets/", response=answers(DatasetList), url_name="api_datasets")
def dataset_list(request: HttpRequest) -> Any:
    """Datasets you may see.

    Workers and organizers: all; students: those of the rounds they see."""
    user = viewer(request)
    return {"datasets": [dataset_json(dataset) for dataset in datasets.visible_datasets(user)]}


@router.get("/datasets/{id:dataset_id}/", response=answers(Dataset, 404), url_name="api_dataset")
def dataset_detail(request: HttpRequest, dataset_id: int) -> Any:
    """One dataset."""
    return dataset_json(_dataset(viewer(request), dataset_id))


@router.get(
    "/datasets/{id:dataset_id}/points/",
    response=answers(Points, 404),
    url_name="api_dataset_points",
)
def dataset_points(request: HttpRequest, dataset_id: int) -> HttpResponseBase:
    """The points.

    Only organizers get the labels of test and validation points (workers included: they fit
    on training labels only). The list is the seed's, served as stored bytes."""
    user = viewer(request)
    return points_answer(_dataset(user, dataset_id), with_hidden_labels=sees_hidden_labels(user))
