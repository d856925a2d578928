"""A finished job's pictures by its task: regression's (``regression_pictures``) or the
classification and clustering ones (``pictures``), so that neither module imports the other's."""

from __future__ import annotations

from typing import Any

from mlcontest.worker.pictures import draw_pictures_noting
from mlcontest.worker.regression_pictures import regression_pictures
from mlcontest.worker.run import ContestModel, PreparedData


def job_pictures(
    model: ContestModel, data: PreparedData, labels: dict[str, list[Any]]
) -> tuple[list[tuple[str, bytes]], str]:
    """The job's pictures as ``(filename, png bytes)``, and what went wrong with one that was
    left out ("" if nothing)."""
    if model.task_ == "regression":
        return regression_pictures(model, data)
    return draw_pictures_noting(model, data, labels)
