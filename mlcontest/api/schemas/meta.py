"""Who am I, what exists: the index, the signed-in user, the algorithms and metrics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlcontest.api.schemas.common import Output
from mlcontest.api.schemas.groups import Group


class Index(Output):
    openapi: str
    docs: str
    me: str
    algorithms: str
    groups: str
    datasets: str
    rounds: str
    announcements: str


class Me(Output):
    username: str
    role: Literal["student", "worker", "organizer"]
    is_organizer: bool
    is_worker: bool
    group: Group | None
    auth: Literal["session", "token"]


class Parameter(Output):
    name: str
    type: str
    default: Any


class Algorithm(Output):
    name: str
    label: str
    task: str
    help: str
    params: list[Parameter]


class Metric(Output):
    name: str
    label: str
    task: str
    higher_is_better: bool = Field(
        description="false for errors (MAE, RMSE): the lowest ranks first"
    )


class Step(Output):
    name: str
    label: str
    help: str
    supervised: bool = Field(description="needs the training labels (not for clustering)")
    params: list[Parameter]


class Algorithms(Output):
    algorithms: list[Algorithm]
    metrics: list[Metric]
    steps: list[Step] = Field(
        description="preprocessing steps a job may put before its model (params.steps)"
    )
