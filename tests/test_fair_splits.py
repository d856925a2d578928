"""Fair splits: sizes by largest remainder, every class in every split it can fill, and the
datasets refused whatever their source when a split is empty or a class has no training point."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from mlcontest.cli.main import main
from mlcontest.contest import dataset_sources as sources
from mlcontest.contest import datasets
from mlcontest.contest.dataset_choices import REGRESSION_SKLEARN_DATASETS
from mlcontest.contest.datasets import SPLITS, DatasetTable, assign_splits, split_sizes
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Dataset
from tests.conftest import Contest


@pytest.mark.parametrize(
    ("total", "fractions", "sizes"),
    [
        (20, (0.6, 0.2, 0.2), (12, 4, 4)),
        (7, (0.6, 0.2, 0.2), (4, 2, 1)),  # 4.2, 1.4, 1.4: equal remainders, the earlier split
        (10, (0.5, 0.3, 0.2), (5, 3, 2)),  # exact in decimals, not in binary floating point
        (178, (0.6, 0.2, 0.2), (107, 36, 35)),  # wine: 106.8, 35.6, 35.6
        (11, (1 / 3, 1 / 3, 1 / 3), (4, 4, 3)),
        (5, (0.8, 0.1, 0.1), (4, 1, 0)),  # 4.0, 0.5, 0.5
        (3, (0.6, 0.2, 0.2), (2, 1, 0)),  # 1.8, 0.6, 0.6: rounding each alone gives 2, 1, 1
        (1797, (0.7, 0.15, 0.15), (1258, 270, 269)),  # digits: 1257.9, 269.55, 269.55
    ],
)
def test_split_sizes_are_rounded_by_largest_remainder(
    total: int, fractions: tuple[float, float, float], sizes: tuple[int, int, int]
) -> None:
    assert split_sizes(total, fractions) == sizes
    assert sum(sizes) == total


def by_class(labels: list[str], splits: list[str]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for label, split in zip(labels, splits, strict=True):
        counts.setdefault(label, Counter())[split] += 1
    return counts


@pytest.mark.parametrize(
    ("class_sizes", "fractions"),
    [
        ([50, 50, 50], (0.6, 0.2, 0.2)),
        ([59, 71, 48], (0.6, 0.2, 0.2)),  # wine's classes
        ([7, 7, 7, 7, 7, 7, 7, 7, 7, 7], (0.6, 0.2, 0.2)),  # each 4.2/1.4/1.4: ties decide
        ([100, 5, 3], (0.8, 0.1, 0.1)),  # the small classes' shares round to no test point
        ([40, 3], (0.9, 0.05, 0.05)),
        ([13, 17, 19, 23], (0.5, 0.25, 0.25)),
    ],
)
def test_every_class_is_in_every_split_and_the_sizes_are_their_shares(
    class_sizes: list[int], fractions: tuple[float, float, float]
) -> None:
    labels = [f"c{number}" for number, size in enumerate(class_sizes) for _ in range(size)]
    splits = assign_splits(labels, seed=4, fractions=fractions)
    for label, counts in by_class(labels, splits).items():
        assert all(counts[split] >= 1 for split in SPLITS), (label, counts)
        size = sum(counts.values())
        for split, share in zip(SPLITS, fractions, strict=True):
            # Stratified: a class's part of a split is its share, give or take the rounding
            # and the one point a small class is promised in every split.
            assert abs(counts[split] - size * share) < 2, (label, split, counts)
    overall = Counter(splits)
    targets = split_sizes(len(labels), fractions)
    if all(size * share >= 1 for size in class_sizes for share in fractions):
        assert tuple(overall[split] for split in SPLITS) == targets
    else:  # the promised points may take a split past its share, a point per small class
        assert all(abs(overall[s] - t) <= 2 for s, t in zip(SPLITS, targets, strict=True))


def test_classes_too_small_for_every_split_still_get_a_training_point() -> None:
    labels = ["big"] * 20 + ["pair"] * 2 + ["single"]
    counts = by_class(labels, assign_splits(labels, seed=1))
    assert counts["single"] == {"training": 1}
    assert counts["pair"]["training"] == 1 and sum(counts["pair"].values()) == 2
    assert all(counts["big"][split] >= 1 for split in SPLITS)


def test_the_split_is_reproducible_from_the_seed_and_changes_with_it() -> None:
    labels = [str(index % 3) for index in range(90)]
    first = assign_splits(labels, seed=9)
    assert first == assign_splits(list(labels), seed=9)
    assert first != assign_splits(labels, seed=10)
    # Another seed moves points between splits but not the sizes.
    assert Counter(first) == Counter(assign_splits(labels, seed=10))


@pytest.mark.parametrize(
    "fractions", [(0.5, 0.5, 0.0), (0.0, 0.5, 0.5), (0.8, 0.3, -0.1), (0.5, 0.3, 0.3)]
)
def test_fractions_that_leave_a_split_empty_or_do_not_add_up_are_refused(
    fractions: tuple[float, float, float],
) -> None:
    with pytest.raises(InvalidInput, match="three positive numbers") as caught:
        assign_splits(["a"] * 10, fractions=fractions)
    assert caught.value.fields == {"fractions": "three positive shares that add up to 1"}


# --- refusals at store time, for every source ------------------------------------------------


def table(labels: list[str], splits: list[str]) -> DatasetTable:
    return DatasetTable(["x"], [[float(index)] for index in range(len(labels))], labels, splits)


@pytest.mark.django_db
@pytest.mark.parametrize("empty", ["test", "validation"])
def test_a_dataset_without_test_or_validation_points_is_refused_and_not_stored(
    empty: str,
) -> None:
    others = [split for split in SPLITS if split != empty]
    with pytest.raises(InvalidInput) as caught:
        datasets.store_dataset("holes", table(["a", "b", "a", "b"], [*others, *others]))
    assert f"The {empty} split would be empty" in caught.value.message
    assert caught.value.fields == {"split": f"no {empty} points"}
    assert not Dataset.objects.filter(name="holes").exists()


@pytest.mark.django_db
def test_a_class_without_a_training_point_is_refused_by_name() -> None:
    labels = ["cat", "cat", "cat", "dog", "dog"]
    splits = ["training", "test", "validation", "test", "validation"]
    with pytest.raises(InvalidInput) as caught:
        datasets.store_dataset("pets", table(labels, splits))
    assert caught.value.message.startswith("Class 'dog' would have no training point")
    assert caught.value.fields == {"split": "no training point for class 'dog'"}
    assert not Dataset.objects.exists()


def test_a_csv_split_column_that_leaves_classes_out_of_training_is_refused() -> None:
    text = "x,label,split\n1,a,training\n2,a,test\n3,b,validation\n4,c,test\n"
    with pytest.raises(InvalidInput, match="Classes 'b', 'c' would have no training point"):
        sources.from_csv(text)


def test_too_few_points_for_a_validation_split_are_refused() -> None:
    # Two points split 0.6/0.2/0.2: training 1, test 1, validation 0.
    with pytest.raises(InvalidInput, match="validation split would be empty"):
        sources.from_csv("x,label\n1,a\n2,a\n")


def test_a_generator_with_more_classes_than_it_can_split_is_refused() -> None:
    # 10 points in 10 spiral arms: each class has its one point in training.
    with pytest.raises(InvalidInput, match="test split would be empty"):
        sources.generate("spirals", n_points=10, n_classes=10)
    # In 8 arms, two classes have a second point, and it goes where a split has none.
    assert set(sources.generate("spirals", n_points=10, n_classes=8).splits) == set(SPLITS)


@pytest.mark.parametrize(
    "name", [name for name in sources.SKLEARN_DATASETS if name not in REGRESSION_SKLEARN_DATASETS]
)
def test_the_shipped_datasets_split_by_largest_remainder(name: str) -> None:
    shipped = sources.from_sklearn(name, seed=2)
    sizes = Counter(shipped.splits)
    assert tuple(sizes[split] for split in SPLITS) == split_sizes(len(shipped))
    for counts in by_class(shipped.labels, shipped.splits).values():
        assert all(counts[split] >= 1 for split in SPLITS)


def test_the_web_upload_names_the_class_and_stores_nothing(contest: Contest) -> None:
    rows = "x,label,split\n1,a,training\n2,a,test\n3,a,validation\n4,z,test\n"
    client: Client = contest.client(contest.olga)
    response = client.post(
        reverse("web:dataset_new"),
        {"name": "no-z", "source": "csv", "csv_text": rows, "action": "save"},
    )
    assert "Class &#x27;z&#x27; would have no training point" in response.content.decode()
    assert not Dataset.objects.filter(name="no-z").exists()


@pytest.mark.django_db
def test_the_cli_refuses_a_zero_validation_share_and_stores_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["dataset", "generate", "flat", "moons", "--fractions", "0.5,0.5,0"])
    assert code == 2
    assert "three positive numbers" in capsys.readouterr().err
    assert not Dataset.objects.filter(name="flat").exists()
