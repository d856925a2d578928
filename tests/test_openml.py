"""OpenML datasets: a local ARFF file as OpenML serves it, and an id through scikit-learn's
fetch_openml (replaced here: the tests have no network), both through ``mlcontest dataset
openml``'s converter: numbers, nominal attributes as 0/1 features, missing values, the target."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.utils import Bunch

from mlcontest.cli.main import main
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Dataset
from mlcontest.contest.openml_source import from_openml

ARFF = """% a tiny weather table
@relation weather
@attribute outlook {sunny,overcast,rainy}
@attribute temperature numeric
@attribute humidity numeric
@attribute play {yes,no}
@data
""" + "".join(
    f"{('sunny', 'overcast', 'rainy')[i % 3]},{20 + i % 9},{'?' if i % 5 == 0 else 60 + i},"
    f"{('yes', 'no')[i % 2]}\n"
    for i in range(30)
)


def test_a_local_arff_file_becomes_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "weather.arff"
    path.write_text(ARFF, encoding="utf-8")
    table: Any = from_openml(str(path), seed=1)
    assert table.feature_names == [
        "outlook=overcast",
        "outlook=rainy",
        "outlook=sunny",
        "temperature",
        "humidity",
    ]
    assert table.labels[:3] == ["yes", "no", "yes"]
    columns = table.features.to_pydict()
    assert columns["outlook=sunny"][:3] == [1.0, 0.0, 0.0]
    assert math.isnan(columns["humidity"][0]) and columns["humidity"][1] == 61.0
    assert "weather" in table.description and "'play'" in table.description


def test_the_command_fetches_by_id_into_its_cache_folder(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: dict[str, Any] = {}

    def fake_fetch(**kwargs: Any) -> Bunch:
        # What fetch_openml gives with target_column=None and as_frame=False: every attribute
        # in ``data``, nominal ones as codes into ``categories``.
        asked.update(kwargs)
        codes = np.array([i % 2 for i in range(40)], dtype=float)
        data = np.column_stack([np.arange(40, dtype=float), codes, 1 - codes])
        data[3, 0] = np.nan
        return Bunch(
            data=data,
            feature_names=["size", "kind", "class"],
            categories={"kind": ["big", "small"], "class": ["a", "b"]},
            details={"name": "toy", "default_target_attribute": "class"},
            target=None,
        )

    import sklearn.datasets

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake_fetch)
    code = main(["dataset", "openml", "61", "--name", "toy", "--cache", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert asked["data_id"] == 61 and asked["data_home"] == str(tmp_path)
    dataset = Dataset.objects.get(name="toy")
    assert dataset.feature_names == ["size", "kind=big", "kind=small"]
    assert dataset.missing_values == 1 and dataset.class_labels == ["a", "b"]
    assert dataset.training_points == 24


def test_an_unknown_label_column_is_refused_naming_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "weather.arff"
    path.write_text(ARFF, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        from_openml(str(path), label_column="windy")
    assert "'windy'" in caught.value.message and "outlook" in caught.value.message
