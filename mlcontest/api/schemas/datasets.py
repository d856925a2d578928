"""Datasets: their description (the points themselves are the seed's point list)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mlcontest.api.schemas.common import Output


class Dataset(Output):
    id: int
    name: str
    description: str
    source: str
    features: list[str]
    labels: list[str]
    size: int
    splits: dict[str, int]
    version: str
    url: str = Field(description="the seed protocol's points URL")
    points_url: str


class DatasetList(Output):
    datasets: list[Dataset]


Points = list[dict[str, Any]]
