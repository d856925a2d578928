"""``mlcontest dataset``: import a CSV, take a scikit-learn dataset, generate one, list them
(docs/cli.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlcontest.contest.dataset_sources import SourcedTable

from mlcontest.cli.base import (
    Subcommands,
    comma_list,
    command,
    fractions_arg,
    print_table,
)
from mlcontest.contest.dataset_choices import GENERATORS, SKLEARN_DATASETS

# --- dataset ---------------------------------------------------------------------------------


def register_dataset_commands(commands: Subcommands) -> None:
    dataset = commands.add_parser("dataset", help="import, generate and list datasets")
    actions = dataset.add_subparsers(dest="action", required=True)

    def split_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
        parser.add_argument(
            "--fractions",
            type=fractions_arg,
            default=(0.6, 0.2, 0.2),
            help="training,test,validation shares (default 0.6,0.2,0.2)",
        )
        parser.add_argument("--replace", action="store_true", help="replace an existing dataset")

    import_csv = actions.add_parser("import-csv", help="import a CSV file with a header line")
    import_csv.add_argument("name")
    import_csv.add_argument("file", type=Path)
    import_csv.add_argument("--label-column", default="label")
    import_csv.add_argument(
        "--split-column",
        default="split",
        help="column of training/test/validation; without it the points are split by --seed",
    )
    import_csv.add_argument(
        "--features", type=comma_list, help="feature columns (default: every numeric column)"
    )
    split_options(import_csv)
    import_csv.set_defaults(handler=cmd_dataset_import_csv)

    sklearn = actions.add_parser("sklearn", help="a dataset that ships with scikit-learn")
    sklearn.add_argument("name")
    sklearn.add_argument("source", choices=SKLEARN_DATASETS)
    split_options(sklearn)
    sklearn.set_defaults(handler=cmd_dataset_sklearn)

    generate = actions.add_parser("generate", help="a generated 2-D dataset")
    generate.add_argument("name")
    generate.add_argument("kind", choices=GENERATORS)
    generate.add_argument("--points", type=int, default=300)
    generate.add_argument("--noise", type=float, default=0.1)
    generate.add_argument("--classes", type=int, help="blobs and spirals: number of classes")
    split_options(generate)
    generate.set_defaults(handler=cmd_dataset_generate)

    openml = actions.add_parser(
        "openml", help="a dataset from OpenML: its id or name, or a local .arff file"
    )
    openml.add_argument("source", metavar="ID-OR-NAME")
    openml.add_argument("--name", help="the dataset's name here (default: ID-OR-NAME)")
    openml.add_argument("--label-column", help="default: OpenML's default target")
    openml.add_argument("--version", type=int, help="the OpenML version of a name")
    openml.add_argument(
        "--cache", type=Path, help="scikit-learn's OpenML cache folder (default: DATA_DIR/openml)"
    )
    split_options(openml)
    openml.set_defaults(handler=cmd_dataset_openml)

    actions.add_parser("list", help="list the datasets").set_defaults(handler=cmd_dataset_list)


@command
def cmd_dataset_import_csv(args: argparse.Namespace) -> None:
    from mlcontest.contest import dataset_sources

    table = dataset_sources.from_csv(
        args.file,
        label_column=args.label_column,
        split_column=args.split_column,
        feature_columns=args.features,
        seed=args.seed,
        fractions=args.fractions,
    )
    _store_dataset(args.name, table, args.replace)


@command
def cmd_dataset_sklearn(args: argparse.Namespace) -> None:
    from mlcontest.contest import dataset_sources

    table = dataset_sources.from_sklearn(args.source, seed=args.seed, fractions=args.fractions)
    _store_dataset(args.name, table, args.replace)


@command
def cmd_dataset_generate(args: argparse.Namespace) -> None:
    from mlcontest.contest import dataset_sources

    table = dataset_sources.generate(
        args.kind,
        n_points=args.points,
        noise=args.noise,
        seed=args.seed,
        fractions=args.fractions,
        n_classes=args.classes,
    )
    _store_dataset(args.name, table, args.replace)


@command
def cmd_dataset_openml(args: argparse.Namespace) -> None:
    from django.conf import settings

    from mlcontest.contest.openml_source import from_openml

    table = from_openml(
        args.source,
        label_column=args.label_column,
        seed=args.seed,
        fractions=args.fractions,
        data_home=args.cache or settings.DATA_DIR / "openml",
        version=args.version,
    )
    _store_dataset(args.name or Path(args.source).stem, table, args.replace)


def _store_dataset(name: str, table: SourcedTable, replace: bool) -> None:
    from mlcontest.contest import dataset_sources
    from mlcontest.contest.models import Dataset

    existed = Dataset.objects.filter(name=name.strip()).exists()
    dataset = dataset_sources.store(name, table, replace=replace)
    counts = ", ".join(f"{split} {table.splits.count(split)}" for split in ("training", "test"))
    counts += f", validation {table.splits.count('validation')}"
    verb = "replaced" if existed else "created"
    print(f"{verb} dataset {dataset.name!r} (id {dataset.pk}; {counts}): {table.description}")


@command
def cmd_dataset_list(args: argparse.Namespace) -> None:
    from mlcontest.contest.datasets import SPLITS, describe_dataset
    from mlcontest.contest.models import Dataset

    rows = []
    for dataset in Dataset.objects.order_by("name"):
        described = describe_dataset(dataset)
        splits = "/".join(str(described["splits"][split]) for split in SPLITS)
        rows.append(
            (
                dataset.pk,
                dataset.name,
                described["size"],
                splits,
                len(described["features"]),
                len(described["labels"]),
                dataset.source,
            )
        )
    headers = ("id", "name", "points", "train/test/valid", "features", "classes", "source")
    print_table(headers, rows, "no datasets yet")
