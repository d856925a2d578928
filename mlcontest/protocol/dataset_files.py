"""Beyond the seed: a dataset version in its compact form, for workers.

- ``actions/get_dataset_file/<id>/``: the version's ``features`` Parquet file (features of every
  split, no label and no split at all), streamed from the database piece by piece;
- ``actions/get_dataset_splits/<id>/``: each point's split and the training labels (the
  labels of test and validation points are null), as JSON.

Both carry the version in ``X-Dataset-Version``; asked with ``?version=``, a dataset that has
moved on since is a 409, so a worker never pairs the features of one version with the labels of
another. Workers only (organizers count as workers): students download the round's CSV files.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from mlcontest.contest import columnar, dataset_store, datasets
from mlcontest.contest.errors import Conflict, PermissionDenied
from mlcontest.contest.models import Dataset, User
from mlcontest.http.endpoints import allow_methods, json_action

READ = allow_methods("GET", "POST")
VERSION_HEADER = "X-Dataset-Version"


def _worker_dataset(request: HttpRequest, dataset_id: Any) -> Dataset:
    viewer = request.user
    assert isinstance(viewer, User)  # json_action lets only signed-in users through
    if not viewer.is_worker:
        raise PermissionDenied("Only workers fetch dataset files.")
    dataset = datasets.find_visible_dataset(viewer, dataset_id)
    wanted = request.GET.get("version") or request.POST.get("version")
    if wanted and wanted != dataset.version:
        raise Conflict(
            f"Dataset {dataset.pk} is at version {dataset.version} now, not {wanted}.",
            fields={"version": dataset.version},
        )
    return dataset


@READ
@json_action
def get_dataset_file(request: HttpRequest, dataset_id: str) -> HttpResponseBase:
    dataset = _worker_dataset(request, dataset_id)
    pieces = dataset_store.chunk_ids(dataset.pk, dataset.version, columnar.FEATURES)
    response = StreamingHttpResponse(
        (dataset_store.read_chunk(chunk_id) for chunk_id, _ in pieces),
        content_type="application/vnd.apache.parquet",
    )
    response["Content-Length"] = str(sum(size for _, size in pieces))
    response[VERSION_HEADER] = dataset.version
    return response


@READ
@json_action
def get_dataset_splits(request: HttpRequest, dataset_id: str) -> HttpResponse:
    dataset = _worker_dataset(request, dataset_id)
    loaded = datasets.load_labels(dataset)
    training = datasets.SPLITS[0]
    response = JsonResponse(
        {
            "version": dataset.version,
            "features": list(dataset.feature_names),
            "splits": list(loaded.splits),
            # The hidden labels never leave the server: null for test and validation points.
            "labels": [
                label if split == training else None
                for split, label in zip(loaded.splits, loaded.labels, strict=True)
            ],
        }
    )
    response[VERSION_HEADER] = dataset.version
    return response
