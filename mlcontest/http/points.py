"""The seed's point list as an HTTP answer, shared by the seed protocol and the JSON API."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from mlcontest.contest import datasets
from mlcontest.contest.models import Dataset


def points_answer(dataset: Dataset, with_hidden_labels: bool) -> HttpResponseBase:
    """From memory for a small dataset, else streamed from the stored file a few hundred
    points at a time (the same bytes as one json.dumps of the list), without the whole answer
    in the server's memory."""
    if datasets.points_json_is_small(dataset):
        body = datasets.points_json(dataset, with_hidden_labels)
        return HttpResponse(body, content_type="application/json")
    pieces = datasets.iter_points_json(dataset, with_hidden_labels)
    return StreamingHttpResponse(pieces, content_type="application/json")
