"""Regression rounds (issue 15, item 1): every regressor gives exactly scikit-learn's predictions,
R², MAE and RMSE equal scikit-learn's, the regression datasets split fairly, a round's metric
must fit its dataset's labels, and an error metric (lower is better) ranks the right way round
on every board: public, baselines, ties, history and the reveal."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn import datasets as sk
from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from mlcontest.algorithms import METRICS, algorithms_for, all_scores
from mlcontest.algorithms.direction import beats, higher_is_better, rank_value
from mlcontest.contest import dataset_sources as sources
from mlcontest.contest import datasets, leaderboard, queue, results, rounds
from mlcontest.contest.diagnostics import parse_diagnostics
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import JobState
from mlcontest.contest.regression import label_ranges, metric_fits_labels, regression_labels
from mlcontest.contest.result_fields import parse_result
from mlcontest.worker.job_pictures import job_pictures
from mlcontest.worker.run import PreparedData, run_job
from tests.conftest import Contest, true_labels
from tests.leaderboard_helpers import claim

X, Y = sk.make_friedman1(n_samples=90, n_features=5, noise=0.5, random_state=1)
TRAIN, TEST = slice(0, 60), slice(60, 90)


def prepared() -> PreparedData:
    labels = tuple(repr(float(v)) for v in Y[TRAIN])
    return PreparedData(
        "v",
        tuple(f"x{i}" for i in range(5)),
        {"training": X[TRAIN], "test": X[TEST], "validation": X[TEST][:0]},
        {"training": labels, "test": (None,) * 30, "validation": ()},
    )


# The registry's regressors with non-default parameters, and scikit-learn's own estimator.
DIRECT: dict[str, tuple[dict[str, Any], Any]] = {
    "linear_regression": ({}, linear_model.LinearRegression()),
    "ridge": ({"alpha": 3.0}, linear_model.Ridge(alpha=3.0)),
    "lasso": ({"alpha": 0.05, "max_iter": 500}, linear_model.Lasso(alpha=0.05, max_iter=500)),
    "knn_regressor": (
        {"n_neighbors": 4, "weights": "distance", "p": 1},
        neighbors.KNeighborsRegressor(n_neighbors=4, weights="distance", p=1),
    ),
    "decision_tree_regressor": (
        {"max_depth": 4, "criterion": "absolute_error", "random_state": 3},
        tree.DecisionTreeRegressor(max_depth=4, criterion="absolute_error", random_state=3),
    ),
    "random_forest_regressor": (
        {"n_estimators": 15, "max_depth": 5, "random_state": 2},
        ensemble.RandomForestRegressor(n_estimators=15, max_depth=5, random_state=2, n_jobs=1),
    ),
    "gradient_boosting_regressor": (
        {"n_estimators": 30, "learning_rate": 0.2, "max_depth": 2, "random_state": 4},
        ensemble.GradientBoostingRegressor(
            n_estimators=30, learning_rate=0.2, max_depth=2, random_state=4
        ),
    ),
    "svr": (
        {"kernel": "rbf", "C": 10.0, "epsilon": 0.2, "gamma": 0.5},
        svm.SVR(kernel="rbf", C=10.0, epsilon=0.2, gamma=0.5),
    ),
    "mlp_regressor": (
        {"hidden_units": 16, "max_iter": 200, "random_state": 5},
        neural_network.MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=5),
    ),
}


def test_every_regressor_is_compared_here() -> None:
    assert sorted(algorithm.name for algorithm in algorithms_for("regression")) == sorted(DIRECT)


@pytest.mark.parametrize("name", sorted(DIRECT))
def test_each_regressor_predicts_exactly_what_scikit_learn_predicts(name: str) -> None:
    params, direct = DIRECT[name]
    outcome, _ = run_job(name, params, prepared())
    direct.fit(X[TRAIN], Y[TRAIN])
    assert outcome.success
    assert outcome.labels["test"] == direct.predict(X[TEST]).tolist()
    assert outcome.labels["training"] == direct.predict(X[TRAIN]).tolist()
    assert all(isinstance(value, float) for value in outcome.labels["test"])


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_scaling_is_the_same_pipeline_for_regressors(scaling: str) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    scaler = StandardScaler() if scaling == "standard" else MinMaxScaler()
    direct = make_pipeline(scaler, neighbors.KNeighborsRegressor(n_neighbors=3))
    outcome, _ = run_job("knn_regressor", {"n_neighbors": 3, "scaling": scaling}, prepared())
    assert outcome.labels["test"] == direct.fit(X[TRAIN], Y[TRAIN]).predict(X[TEST]).tolist()


def test_the_metrics_equal_scikit_learns() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(50, 20, size=200)
    guess = truth + rng.normal(0, 7, size=200)
    as_text = [repr(float(v)) for v in truth], [repr(float(v)) for v in guess]
    scores = all_scores("regression", *as_text)
    assert scores["r2"] == pytest.approx(r2_score(truth, guess), rel=1e-12, abs=1e-12)
    assert scores["mae"] == pytest.approx(mean_absolute_error(truth, guess), rel=1e-12)
    assert scores["rmse"] == pytest.approx(root_mean_squared_error(truth, guess), rel=1e-12)
    # R² falls below 0 for a model worse than the mean; a constant truth as scikit-learn says.
    assert METRICS["r2"].compute(["1", "2", "3"], ["3", "2", "1"]) == r2_score([1, 2, 3], [3, 2, 1])
    assert METRICS["r2"].compute(["2", "2"], ["2", "2"]) == 1.0
    assert METRICS["r2"].compute(["2", "2"], ["2", "3"]) == r2_score([2, 2], [2, 3])


def test_errors_rank_lowest_first_and_scores_highest_first() -> None:
    assert higher_is_better("r2") and higher_is_better("accuracy")
    assert not higher_is_better("mae") and not higher_is_better("rmse")
    assert sorted([3.0, 1.0, 2.0], key=lambda v: rank_value(v, "rmse")) == [1.0, 2.0, 3.0]
    assert sorted([3.0, 1.0, 2.0], key=lambda v: rank_value(v, "r2")) == [3.0, 2.0, 1.0]
    assert beats(1.0, 2.0, "mae") and not beats(2.0, 1.0, "mae") and not beats(1.0, 1.0, "mae")


def test_posted_predictions_must_be_finite_numbers() -> None:
    assert regression_labels([1, 2.5, "3.25"]) == ["1.0", "2.5", "3.25"]
    for bad in (["x"], [None], [True], [float("nan")], ["inf"]):
        with pytest.raises(ValueError, match="label 1"):
            regression_labels(bad)
    # A worker's floats (the quick way through): the same texts, the same refusals.
    floats = [0.1, -0.0, 1e-300, 123456789.123, 2.0]
    assert regression_labels(floats) == ["0.1", "-0.0", "1e-300", "123456789.123", "2.0"]
    for bad in ([0.5, float("inf")], [0.5, float("-inf")], [0.5, float("nan")]):
        with pytest.raises(ValueError, match=r"label 2: .* is not a finite number"):
            regression_labels(bad)


def test_regression_pictures_come_from_the_training_split() -> None:
    outcome, model = run_job("ridge", {}, prepared())
    pictures, note = job_pictures(model, prepared(), outcome.labels)
    assert note == ""
    assert [name for name, _ in pictures] == ["predicted.png", "residuals.png"]
    assert all(png.startswith(b"\x89PNG") for _, png in pictures)


# --- datasets --------------------------------------------------------------------------------


def test_diabetes_keeps_scikit_learns_numbers_and_splits_by_ranges() -> None:
    bunch = sk.load_diabetes()
    table = sources.from_sklearn("diabetes", seed=3)
    assert table.labels == [str(target) for target in bunch.target]
    assert table.features[7] == pytest.approx(list(bunch.data[7]))
    assert "numeric label" in table.description
    # Every tenth of the target's range has points in every split (a stratified split).
    for label_range in set(label_ranges(table.labels)):
        splits = {
            split
            for split, in_range in zip(table.splits, label_ranges(table.labels), strict=True)
            if in_range == label_range
        }
        assert splits == set(datasets.SPLITS)


@pytest.mark.parametrize(("kind", "features"), [("friedman", 5), ("linear", 2)])
def test_regression_generators_are_reproducible(kind: str, features: int) -> None:
    first = sources.generate(kind, n_points=200, noise=0.1, seed=4)
    assert first.labels == sources.generate(kind, n_points=200, noise=0.1, seed=4).labels
    assert first.labels != sources.generate(kind, n_points=200, noise=0.1, seed=5).labels
    assert len(first.feature_names) == features
    assert len(set(first.labels)) > 150  # numbers, not classes
    assert set(first.splits) == set(datasets.SPLITS)


def test_a_csv_with_a_numeric_target_splits_by_ranges() -> None:
    rows = ["x,price"] + [f"{i},{i * 1.5 + 0.25}" for i in range(100)]
    table = sources.from_csv("\n".join(rows), label_column="price")
    counts = {split: table.splits.count(split) for split in datasets.SPLITS}
    assert counts == dict(zip(datasets.SPLITS, datasets.split_sizes(100), strict=True))
    pairs = zip(table.labels, table.splits, strict=True)
    test_prices = [float(label) for label, split in pairs if split == "test"]
    assert min(test_prices) < 40 and max(test_prices) > 110  # spread over the range


def test_a_round_metric_must_fit_the_labels(contest: Contest) -> None:
    assert "numbers" in metric_fits_labels("rmse", ["a", "b"])
    assert metric_fits_labels("rmse", ["1.5", "2"]) == ""
    assert "regression metric" in metric_fits_labels("accuracy", [str(i) for i in range(50)])
    assert metric_fits_labels("accuracy", [str(i) for i in range(10)]) == ""  # digits
    with pytest.raises(InvalidInput) as refused:
        rounds.create_round(contest.olga, name="R", dataset=contest.dataset, metric="mae")
    assert "metric" in refused.value.fields
    with pytest.raises(InvalidInput) as refused:
        rounds.create_round(
            contest.olga,
            name="R",
            dataset=contest.dataset,
            metric="accuracy",
            allowed_algorithms=["ridge"],
        )
    assert "not classification algorithms: ridge" in refused.value.fields["allowed_algorithms"]


# --- a regression round, through the real result path ------------------------------------------


@pytest.fixture
def regression_round(contest: Contest) -> Any:
    table = sources.generate("linear", n_points=60, noise=0.2, seed=1)
    dataset = sources.store("plane", table)
    round_ = rounds.create_round(
        contest.olga, name="Plane", dataset=dataset, metric="rmse", job_quota=10, queued_quota=5
    )
    rounds.open_round(contest.olga, round_)
    return round_


def finish_off(contest: Contest, job: Any, test_off: float, validation_off: float) -> Any:
    """Finish ``job`` with predictions that miss every test (validation) point by the offset:
    its RMSE on the split is exactly that offset."""
    claim(job, contest.walter)
    truth = true_labels(job.round.dataset)
    fields = {
        "success": True,
        "labels_training": [float(v) for v in truth["training"]],
        "labels_test": [float(v) + test_off for v in truth["test"]],
        "labels_validation": [float(v) + validation_off for v in truth["validation"]],
    }
    finished, stored = results.record_result(contest.walter, job, "worker-1", parse_result(fields))
    assert stored
    return finished


def test_an_error_metric_ranks_lowest_first_on_every_board(
    contest: Contest, regression_round: Any
) -> None:
    alpha_bad = queue.submit_job(contest.alice, regression_round, "ridge", {})
    beta_good = queue.submit_job(contest.bob, regression_round, "ridge", {})
    baseline = queue.submit_job(
        contest.olga, regression_round, "linear_regression", {}, baseline=True
    )
    finish_off(contest, alpha_bad, 5.0, 1.0)
    finish_off(contest, beta_good, 2.0, 4.0)
    finish_off(contest, baseline, 3.0, 3.0)
    assert alpha_bad.score_test == pytest.approx(5.0)
    regression_round.refresh_from_db()
    board = leaderboard.public_leaderboard(regression_round)
    assert [line.group for line in board.standings] == ["Beta", "Alpha"]
    assert board.baselines[0].groups_above == 1  # Beta's 2.0 beats the line's 3.0
    # Alpha improves to 2.0 later: a tie with Beta, whose job came first.
    alpha_tie = queue.submit_job(contest.alice, regression_round, "ridge", {})
    finish_off(contest, alpha_tie, 2.0, 0.5)
    regression_round.refresh_from_db()
    board = leaderboard.public_leaderboard(regression_round)
    assert [(line.group, line.tied) for line in board.standings] == [
        ("Beta", False),
        ("Alpha", True),
    ]
    history = leaderboard.score_history(regression_round)
    alpha = next(line for line in history.groups if line.group == "Alpha")
    assert [point.score_test for point in alpha.points] == pytest.approx([5.0, 2.0])
    # The reveal: Alpha's best test job (its 2.0) has validation 0.5, Beta's 4.0: Alpha climbs.
    rounds.close_round(contest.olga, regression_round)
    regression_round.refresh_from_db()
    final = leaderboard.final_ranking(regression_round)
    assert [(line.group, line.move) for line in final.standings] == [("Alpha", 1), ("Beta", -1)]


def test_the_history_chart_spans_a_regression_rounds_scores(
    contest: Contest, regression_round: Any
) -> None:
    from mlcontest.web import board

    job = queue.submit_job(contest.alice, regression_round, "ridge", {})
    finish_off(contest, job, 40.0, 1.0)
    regression_round.refresh_from_db()
    shown = board.chart_range(regression_round, board.history(regression_round))
    assert shown["low"] == 0.0 and shown["high"] == pytest.approx(42.0)  # 0 is a perfect error
    assert board.chart_range(contest.round, board.history(contest.round)) == {}  # 0..1 stays
    page = contest.client(contest.alice).get(f"/rounds/{regression_round.pk}/").content.decode()
    assert "(an error: lower is better)" in page


def test_a_numeric_label_is_drawn_by_ranges_of_its_value() -> None:
    from mlcontest.web import plots

    table = sources.generate("linear", n_points=100, noise=0.1, seed=2)
    plot = plots.scatter(table.features, table.labels, table.feature_names, "plane")
    assert [colour for _, colour in plot.legend] == list(plots.RAMP)
    low = min(float(label) for label in table.labels)
    high = max(float(label) for label in table.labels)
    assert plot.legend[0][0].startswith(f"{low:g} to ")
    # What a screen reader hears says the same: a range, not "100 classes".
    assert f"100 points, coloured by the label, from {low:g} to {high:g}" in plot.svg
    assert "classes" not in plot.svg


def test_a_numeric_labels_values_are_not_listed_as_classes(contest: Contest) -> None:
    dataset = sources.store("diabetes", sources.from_sklearn("diabetes"))
    # The class list is public: for a number it would give away the hidden labels' values.
    assert dataset.class_labels == []
    assert datasets.describe_dataset(dataset)["labels"] == []
    round_ = rounds.create_round(contest.olga, name="D", dataset=dataset, metric="mae")
    assert round_.metric == "mae"
    with pytest.raises(InvalidInput) as refused:
        rounds.create_round(contest.olga, name="D2", dataset=dataset, metric="accuracy")
    assert "use a regression metric" in refused.value.fields["metric"]


def test_a_worker_may_post_its_own_error_score_in_a_regression_round(
    contest: Contest, regression_round: Any
) -> None:
    from tests.protocol_helpers import logged_in

    job = queue.submit_job(contest.alice, regression_round, "ridge", {})
    worker = logged_in(contest.walter)
    assert worker.post("/actions/ping/").json() == job.pk  # the seed's claim
    truth = true_labels(regression_round.dataset)
    fields = {
        "success": "True",
        "score_test": "12.5",  # an RMSE: above 1, refused in a round scored in [0, 1]
        "extra_scores_test": json.dumps({"mae": 10.5, "r2": -3.0}),  # dropped, not refused
        "labels_training": json.dumps([float(v) for v in truth["training"]]),
        "labels_test": json.dumps([float(v) + 2.0 for v in truth["test"]]),
        "labels_validation": json.dumps([float(v) for v in truth["validation"]]),
    }
    answer = worker.post(f"/actions/update_job_details/{job.pk}.json/", fields)
    assert answer.status_code == 200, answer.content
    job.refresh_from_db()
    assert job.score_test == pytest.approx(2.0) and job.worker_score_test == 12.5
    assert job.score_mismatch


def test_uploaded_predictions_are_numbers_in_a_regression_round(
    contest: Contest, regression_round: Any
) -> None:
    from mlcontest.contest import uploads

    rounds.update_round(contest.olga, regression_round, prediction_uploads=True)
    loaded = datasets.load_points(regression_round.dataset)
    hidden = [
        (position, float(label))
        for position, split, label in zip(
            loaded.positions, loaded.splits, loaded.labels, strict=True
        )
        if split != "training"
    ]
    rows = "\n".join(f"{point_id},{label + 3.0}" for point_id, label in hidden)
    job = uploads.upload_predictions(
        contest.alice, regression_round, f"id,label\n{rows}\n".encode()
    )
    assert job.score_test == pytest.approx(3.0)  # every prediction 3 off: RMSE 3
    bad = f"id,label\n{hidden[0][0]},lots\n".encode()
    with pytest.raises(InvalidInput, match="is not a number"):
        uploads.upload_predictions(contest.alice, regression_round, bad)


def test_a_regression_cv_score_is_kept_in_the_rounds_units(
    contest: Contest, regression_round: Any
) -> None:
    """An RMSE on the training folds is in the label's units, and an R² may be far below 0:
    neither is refused as it would be in a round scored in [0, 1]."""
    from tests.protocol_helpers import assert_error, logged_in

    rounds.update_round(contest.olga, regression_round, diagnostics=True)
    first = queue.submit_job(contest.alice, regression_round, "ridge", {})
    second = queue.submit_job(contest.bob, regression_round, "ridge", {})
    worker = logged_in(contest.walter)
    truth = true_labels(regression_round.dataset)
    fields = {
        "success": "True",
        "labels_training": json.dumps([float(v) for v in truth["training"]]),
        "labels_test": json.dumps([float(v) + 2.0 for v in truth["test"]]),
        "labels_validation": json.dumps([float(v) for v in truth["validation"]]),
    }
    assert worker.post("/actions/ping/").json() == first.pk
    nan = json.dumps({"cv_score": float("nan")})
    refused = worker.post(
        f"/actions/update_job_details/{first.pk}.json/", {**fields, "diagnostics": nan}
    )
    assert_error(refused, 400, fields=("diagnostics",))
    diagnostics = {"cv_score": 12.5, "cv_std": 3.25, "cv_folds": 5.0}
    answer = worker.post(
        f"/actions/update_job_details/{first.pk}.json/",
        {**fields, "diagnostics": json.dumps(diagnostics)},
    )
    assert answer.status_code == 200, answer.content
    first.refresh_from_db()
    assert first.state == JobState.DONE and first.diagnostics == diagnostics
    assert parse_diagnostics({"cv_score": -3.5}, regression=True) == {"cv_score": -3.5}
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_diagnostics({"cv_score": -3.5})
    finish_off(contest, second, 1.0, 1.0)  # no diagnostics posted: no CV score
    board = contest.client(contest.alice).get(f"/api/rounds/{regression_round.pk}/leaderboard/")
    assert [(line["job"], line["score_cv"]) for line in board.json()["standings"]] == [
        (second.pk, None),
        (first.pk, 12.5),
    ]
