"""Dataset sources: CSV, scikit-learn's shipped datasets and the generators, their reproducible
splits, and every way a CSV file can be refused."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn import datasets as sk_datasets
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from mlcontest.contest import dataset_sources as sources
from mlcontest.contest.dataset_choices import (
    GENERATORS,
    MAX_CLASSES,
    MAX_POINTS,
    REGRESSION_SKLEARN_DATASETS,
)
from mlcontest.contest.datasets import SPLITS, assign_splits, load_points
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Dataset

CSV_WITH_SPLITS = """x,y,label,split
1.0,2.0,a,training
1.5,2.5,a,test
3.0,4.0,b,training
3.5,4.5,b,validation
"""


def csv_without_splits(n_per_class: int = 10) -> str:
    rows = ["id,name,x,y,label"]
    for index in range(n_per_class):
        rows.append(f"{index},p{index},{index},{index * 2},cat")
        rows.append(f"{index + 100},q{index},{-index},{index * 3},dog")
    return "\n".join(rows) + "\n"


# --- CSV -------------------------------------------------------------------------------------


def test_csv_with_a_split_column_keeps_its_splits_and_string_labels() -> None:
    table = sources.from_csv(CSV_WITH_SPLITS)
    assert table.feature_names == ["x", "y"]
    assert table.features == [[1.0, 2.0], [1.5, 2.5], [3.0, 4.0], [3.5, 4.5]]
    assert table.labels == ["a", "a", "b", "b"]
    assert table.splits == ["training", "test", "training", "validation"]
    assert "splits from column 'split'" in table.description
    assert table.source == "CSV text"


def test_csv_without_a_split_column_is_split_from_the_seed() -> None:
    text = csv_without_splits()
    first = sources.from_csv(text, seed=7, fractions=(0.4, 0.3, 0.3))
    again = sources.from_csv(text, seed=7, fractions=(0.4, 0.3, 0.3))
    other_seed = sources.from_csv(text, seed=8, fractions=(0.4, 0.3, 0.3))
    assert first.splits == again.splits
    assert first.splits == assign_splits(first.labels, 7, (0.4, 0.3, 0.3))
    assert first.splits != other_seed.splits
    assert Counter(first.splits) == {"training": 8, "test": 6, "validation": 6}
    assert "seed 7" in first.description


def test_csv_default_features_skip_id_and_columns_without_numbers() -> None:
    table = sources.from_csv(csv_without_splits(3))
    assert table.feature_names == ["x", "y"]
    assert table.features[1] == [0.0, 0.0] and table.features[3] == [-1.0, 3.0]
    assert "left out: name" in table.description


def test_csv_explicit_feature_columns_and_label_column() -> None:
    text = "a,b,c,kind\n1,2,3,u\n4,5,6,v\n7,8,9,u\n10,11,12,v\n"
    table = sources.from_csv(text, label_column="kind", feature_columns=["c", "a"])
    assert table.feature_names == ["c", "a"]
    assert table.features[0] == [3.0, 1.0]
    assert table.labels == ["u", "v", "u", "v"]


def test_csv_from_a_path_a_path_string_and_bytes_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV_WITH_SPLITS.encode())
    for given in (path, str(path), path.read_bytes()):
        table = sources.from_csv(given)
        assert table.feature_names == ["x", "y"], given
        assert table.labels == ["a", "a", "b", "b"]
    assert sources.from_csv(path).source == "CSV file points.csv"


def test_csv_with_semicolons_and_quoted_fields() -> None:
    text = 'x;y;label;split\n1;2;"a; really";training\n3;4;"a; really";test\n5;6;b;training\n'
    text += "7;8;b;validation\n"
    table = sources.from_csv(text)
    assert table.labels == ["a; really", "a; really", "b", "b"]
    assert table.features == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]


def test_csv_split_values_are_read_without_regard_to_case_or_spaces() -> None:
    table = sources.from_csv("x,label,split\n1,a, Training\n2,a,TEST\n3,a,Validation \n")
    assert table.splits == ["training", "test", "validation"]


@pytest.mark.parametrize(
    ("text", "kwargs", "words", "field"),
    [
        ("x,y,class\n1,2,a\n", {}, ["No label column 'label'", "x, y, class"], "label_column"),
        ("x,y,label\n1,2,a\n3,abc,b\n", {}, ["Line 3", "column 'y'", "'abc'"], "y"),
        ("x,y,label\n1,2,a\n1,,\n", {}, ["Line 3", "label is empty"], "label"),
        ("x,y,label\n1,inf,a\n", {}, ["Line 2", "column 'y'", "finite"], "y"),
        ('x,y,label\n1,2,a\n1,"2,5",b\n', {}, ["Line 3", "decimal mark"], "y"),
        ("", {}, ["empty"], "file"),
        ("  \n\n", {}, ["empty"], "file"),
        ("x,y,label\n", {}, ["no points"], "file"),
        ("x,label,split\n1,a,training\n2,b,train\n", {}, ["Line 3", "'train'"], "split"),
        ("x,label,split\n1,a,\n", {}, ["Line 2", "unknown split ''"], "split"),
        ("id,x,label\n1,2,a\n", {"feature_columns": ["id", "x"]}, ["'id'", "reserved"], "id"),
        ("x,label,class\n1,2,a\n", {"label_column": "class"}, ["'label'", "reserved"], "label"),
        ("split,x,label\n1,2,a\n", {"split_column": None}, ["'split'", "reserved"], "split"),
        ("x,label\n1,a\n", {"feature_columns": ["x", "z"]}, ["No column 'z'"], "feature_columns"),
        ("x,label\n1,a\n", {"feature_columns": ["x", "label"]}, ["reserved"], "label"),
        ("x,x,label\n1,2,a\n", {}, ["'x' appears twice"], "x"),
        ("x,,label\n1,2,a\n", {}, ["Column 2", "no name"], "file"),
        ("x,y,label\n1,2,a\n3,4\n", {}, ["Line 3 has 2 values", "header has 3"], "file"),
        ("x,y,label\n1,2,\n", {}, ["Line 2", "label is empty"], "label"),
        ("name,label\nfoo,a\n", {}, ["no numeric feature column"], "feature_columns"),
        ("x,label,split\n1,a,test\n", {}, ["training split would be empty"], "split"),
    ],
)
def test_csv_errors_name_the_line_and_column(
    text: str, kwargs: dict[str, object], words: list[str], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        sources.from_csv(text, **kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in caught.value.message
    assert field in caught.value.fields


def test_csv_file_that_cannot_be_read_or_is_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="Cannot read"):
        sources.from_csv(tmp_path / "missing.csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("x,label\n1,Grün\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        sources.from_csv(latin1)


def test_csv_bad_fractions_are_refused() -> None:
    with pytest.raises(InvalidInput, match="add up to 1"):
        sources.from_csv(csv_without_splits(), fractions=(0.5, 0.5, 0.5))


# --- scikit-learn ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [name for name in sources.SKLEARN_DATASETS if name not in REGRESSION_SKLEARN_DATASETS]
)
def test_sklearn_datasets_keep_their_features_and_class_names(name: str) -> None:
    bunch = getattr(sk_datasets, f"load_{name}")()
    table = sources.from_sklearn(name, seed=3)
    assert len(table) == len(bunch.target)
    assert table.feature_names == [str(feature) for feature in bunch.feature_names]
    assert table.features[5] == pytest.approx(list(bunch.data[5]))
    assert table.labels[5] == str(bunch.target_names[bunch.target[5]])
    assert set(table.labels) == {str(target_name) for target_name in bunch.target_names}
    assert set(table.splits) == set(SPLITS)
    assert f"load_{name}" in table.source and "seed 3" in table.description


def test_sklearn_labels_are_names_where_they_exist() -> None:
    assert set(sources.from_sklearn("iris").labels) == {"setosa", "versicolor", "virginica"}
    assert set(sources.from_sklearn("digits").labels) == {str(digit) for digit in range(10)}


def test_sklearn_splits_are_reproducible_and_stratified() -> None:
    first = sources.from_sklearn("wine", seed=11)
    assert first.splits == sources.from_sklearn("wine", seed=11).splits
    assert first.splits != sources.from_sklearn("wine", seed=12).splits
    for label in set(first.labels):
        of_label = [
            split for split, lab in zip(first.splits, first.labels, strict=True) if lab == label
        ]
        assert set(of_label) == set(SPLITS)


def test_sklearn_unknown_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Unknown scikit-learn dataset 'titanic'"):
        sources.from_sklearn("titanic")


# --- generators ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", GENERATORS)
def test_generators_are_reproducible_from_the_seed(kind: str) -> None:
    first = sources.generate(kind, n_points=120, noise=0.2, seed=5)
    again = sources.generate(kind, n_points=120, noise=0.2, seed=5)
    other = sources.generate(kind, n_points=120, noise=0.2, seed=6)
    names = ["x1", "x2", "x3", "x4", "x5"] if kind == "friedman" else ["x", "y"]
    assert len(first) == 120 and first.feature_names == names
    assert (first.features, first.labels, first.splits) == (
        again.features,
        again.labels,
        again.splits,
    )
    assert first.features != other.features
    assert first.splits == assign_splits(first.labels, 5, sources.DEFAULT_FRACTIONS)
    assert kind in first.source and "seed 5" in first.description


@pytest.mark.parametrize(("kind", "classes"), [("blobs", 5), ("spirals", 3)])
def test_generators_with_a_number_of_classes(kind: str, classes: int) -> None:
    table = sources.generate(kind, n_points=150, n_classes=classes)
    assert sorted(set(table.labels)) == [str(index) for index in range(classes)]
    assert f"{classes} classes" in table.description


def test_noise_spreads_the_points() -> None:
    calm = np.array(sources.generate("moons", noise=0.0, seed=1).features)
    noisy = np.array(sources.generate("moons", noise=0.5, seed=1).features)
    assert noisy.std() > calm.std()


def test_xor_without_noise_follows_the_quadrants_and_defeats_a_linear_model() -> None:
    table = sources.generate("xor", n_points=400, noise=0.0, seed=2)
    for (x, y), label in zip(table.features, table.labels, strict=True):
        assert label == ("1" if (x > 0) != (y > 0) else "0")
    features, labels = np.array(table.features), np.array(table.labels)
    linear = LogisticRegression().fit(features, labels).score(features, labels)
    assert linear < 0.7


@pytest.mark.parametrize("kind", ["spirals", "xor", "moons", "circles", "blobs"])
def test_generated_classes_are_learnable_by_nearest_neighbours(kind: str) -> None:
    table = sources.generate(kind, n_points=600, noise=0.05, seed=4)
    features, labels, splits = (
        np.array(part) for part in (table.features, table.labels, table.splits)
    )
    train, test = splits == "training", splits == "test"
    model = KNeighborsClassifier(n_neighbors=3).fit(features[train], labels[train])
    assert model.score(features[test], labels[test]) > 0.9


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "cubes"}, "kind"),
        ({"kind": "moons", "n_points": 5}, "n_points"),
        ({"kind": "moons", "n_points": MAX_POINTS + 1}, "n_points"),
        ({"kind": "moons", "noise": -0.1}, "noise"),
        ({"kind": "moons", "noise": float("nan")}, "noise"),
        ({"kind": "moons", "n_classes": 3}, "n_classes"),
        ({"kind": "blobs", "n_classes": 1}, "n_classes"),
        ({"kind": "spirals", "n_classes": MAX_CLASSES + 1}, "n_classes"),
    ],
)
def test_generator_settings_are_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        sources.generate(**kwargs)  # type: ignore[arg-type]
    assert field in caught.value.fields


# --- storing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_store_keeps_description_source_and_points() -> None:
    table = sources.generate("circles", n_points=50, seed=9)
    dataset = sources.store("rings", table)
    stored = Dataset.objects.get(name="rings")
    assert stored.pk == dataset.pk
    assert stored.description == table.description and stored.source == table.source
    loaded = load_points(stored)
    assert list(loaded.labels) == table.labels and list(loaded.splits) == table.splits
    assert [list(row) for row in loaded.features] == table.features


@pytest.mark.django_db
def test_store_replaces_only_when_asked() -> None:
    sources.store("rings", sources.generate("circles", n_points=50, seed=1))
    with pytest.raises(Exception, match="exists already"):
        sources.store("rings", sources.generate("circles", n_points=60, seed=1))
    sources.store("rings", sources.generate("circles", n_points=60, seed=1), replace=True)
    assert Dataset.objects.get(name="rings").size == 60
