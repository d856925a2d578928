"""Pipelines (issue 15, items 2 and 5): each preprocessing step gives exactly what scikit-learn
gives when called directly, steps run in the order given and before the model, old jobs
without steps keep their shape, and a value the round's data cannot allow is refused at submit
with a message that names the step and the data."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn import datasets as sk
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, f_classif, f_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

from mlcontest.algorithms import REGISTRY, ParameterError, validate_params
from mlcontest.algorithms.one_hot import categorical_columns
from mlcontest.algorithms.registry import DataShape
from mlcontest.algorithms.steps import STEPS
from mlcontest.contest import queue
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Job
from mlcontest.worker.run import PreparedData, run_job
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, logged_in, ok_json

WINE = sk.load_wine()
ORDER = np.random.RandomState(0).permutation(len(WINE.target))
XW, YW = WINE.data[ORDER], WINE.target[ORDER].astype(str)
# A category-like column (3 codes) in front, so that one-hot has something to encode.
XW = np.column_stack([np.digitize(XW[:, 0], [12.5, 13.5]).astype(float), XW])
TRAIN, TEST = slice(0, 120), slice(120, None)


def wine() -> PreparedData:
    return PreparedData(
        "v",
        tuple(f"f{i}" for i in range(XW.shape[1])),
        {"training": XW[TRAIN], "test": XW[TEST], "validation": XW[TEST][:0]},
        {
            "training": tuple(YW[TRAIN]),
            "test": (None,) * len(YW[TEST]),
            "validation": (),
        },
    )


ONE_HOT = ColumnTransformer(
    [
        (
            "one_hot",
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            categorical_columns(XW[TRAIN], 5),
        )
    ],
    remainder="passthrough",
)
# Each step with non-default parameters, and the transformer scikit-learn builds for it.
DIRECT: dict[str, tuple[dict[str, Any], Any]] = {
    "scale": ({"method": "robust"}, RobustScaler()),
    "pca": ({"n_components": 3, "whiten": True}, PCA(n_components=3, whiten=True, random_state=0)),
    "polynomial": (
        {"degree": 2, "interaction_only": True},
        PolynomialFeatures(degree=2, interaction_only=True, include_bias=False),
    ),
    "select_k_best": ({"k": 4}, SelectKBest(f_classif, k=4)),
    "impute": ({"strategy": "median"}, SimpleImputer(strategy="median")),
    "one_hot": ({"max_values": 5}, ONE_HOT),
}


def test_every_step_is_compared_here() -> None:
    assert sorted(STEPS) == sorted(DIRECT)
    assert categorical_columns(XW[TRAIN], 5) == [0]


@pytest.mark.parametrize("name", sorted(DIRECT))
def test_each_step_gives_exactly_what_scikit_learn_gives(name: str) -> None:
    params, transformer = DIRECT[name]
    steps = [{"step": name, **params}]
    outcome, model = run_job("knn", {"n_neighbors": 3, "steps": steps}, wine())
    direct = make_pipeline(transformer, KNeighborsClassifier(n_neighbors=3))
    direct.fit(XW[TRAIN], YW[TRAIN])
    assert outcome.success
    assert outcome.labels["test"] == direct.predict(XW[TEST]).tolist()
    assert np.array_equal(model.transform(XW[TEST]), direct[:-1].transform(XW[TEST]))


def test_steps_run_in_order_after_the_scaling_and_before_the_model() -> None:
    steps = [{"step": "pca", "n_components": 5}, {"step": "select_k_best", "k": 2}]
    outcome, model = run_job("knn", {"scaling": "minmax", "steps": steps}, wine())
    direct = make_pipeline(
        MinMaxScaler(),
        PCA(n_components=5, random_state=0),
        SelectKBest(f_classif, k=2),
        KNeighborsClassifier(),
    ).fit(XW[TRAIN], YW[TRAIN])
    assert outcome.labels["test"] == direct.predict(XW[TEST]).tolist()
    assert [type(step).__name__ for step in model.pipeline_] == [
        "MinMaxScaler",
        "PCA",
        "SelectKBest",
        "KNeighborsClassifier",
    ]


def test_select_k_best_scores_by_the_task() -> None:
    regression = validate_params(REGISTRY["ridge"], {"steps": [{"step": "select_k_best"}]})
    classification = validate_params(REGISTRY["knn"], {"steps": [{"step": "select_k_best"}]})
    assert regression["steps"][0]["score_func"] == "f_regression"
    assert classification["steps"][0]["score_func"] == "f_classif"
    X, y = sk.make_regression(n_samples=80, n_features=6, random_state=0)
    data = PreparedData(
        "v",
        tuple("abcdef"),
        {"training": X[:60], "test": X[60:], "validation": X[:0]},
        {"training": tuple(repr(float(v)) for v in y[:60]), "test": (None,) * 20, "validation": ()},
    )
    outcome, _ = run_job("ridge", regression, data)
    direct = make_pipeline(SelectKBest(f_regression, k=2), Ridge()).fit(X[:60], y[:60])
    assert outcome.labels["test"] == direct.predict(X[60:]).tolist()
    with pytest.raises(ParameterError, match="clustering has none"):
        validate_params(REGISTRY["kmeans"], {"steps": [{"step": "select_k_best"}]})


def test_a_job_without_steps_keeps_its_old_shape() -> None:
    old = {"n_neighbors": 5, "weights": "uniform", "p": 2, "scaling": "standard"}
    assert validate_params(REGISTRY["knn"], old) == old
    assert validate_params(REGISTRY["knn"], {**old, "steps": []}) == old
    _, model = run_job("knn", old, wine())
    direct = make_pipeline(StandardScaler(), KNeighborsClassifier())
    assert [type(step).__name__ for step in model.pipeline_] == [
        type(step).__name__ for step in direct
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("pca", "must be a list of steps"),
        ([{"step": "fourier"}], "step 1: must be one of scale, pca"),
        ([{"step": "pca", "n_components": 0}], "step 1 (pca): n_components must be at least 1"),
        ([{"step": "pca", "colour": 1}], "step 1 (pca): unknown parameter colour"),
        ([{"step": "scale"}] * 7, "at most 6 steps"),
    ],
)
def test_bad_steps_are_refused_by_name(steps: Any, message: str) -> None:
    with pytest.raises(ParameterError) as refused:
        validate_params(REGISTRY["knn"], {"steps": steps})
    assert message in refused.value.errors["steps"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"step": "pca", "n_components": 3}],
            "step 1 (pca): n_components must be at most 2: the step gets 2 features "
            "from 12 training points",
        ),
        (
            [{"step": "polynomial", "degree": 3}, {"step": "select_k_best", "k": 10}],
            "step 2 (select_k_best): k must be at most 9, the number of features the step gets",
        ),
        (
            [{"step": "pca", "n_components": 1}, {"step": "select_k_best", "k": 2}],
            "step 2 (select_k_best): k must be at most 1, the number of features the step gets",
        ),
    ],
)
def test_ranges_that_depend_on_the_data_are_checked_at_submit(
    contest: Contest, steps: Any, message: str
) -> None:
    # The tiny dataset: 2 features, 12 training points.
    with pytest.raises(InvalidInput) as refused:
        queue.submit_job(contest.alice, contest.round, "knn", {"steps": steps})
    assert refused.value.fields["steps"] == message


def test_polynomial_features_may_not_blow_the_table_up() -> None:
    with pytest.raises(ParameterError) as refused:
        validate_params(
            REGISTRY["ridge"], {"steps": [{"step": "polynomial", "degree": 4}]}, DataShape(100, 30)
        )
    assert "degree 4 on 30 features makes 46375 features" in refused.value.errors["steps"]


def test_a_job_with_steps_is_stored_and_handed_to_the_worker_as_given(contest: Contest) -> None:
    steps = [{"step": "scale", "method": "minmax"}, {"step": "pca", "n_components": 1}]
    job = queue.submit_job(contest.alice, contest.round, "knn", {"n_neighbors": 3, "steps": steps})
    assert job.params["steps"] == [
        {"step": "scale", "method": "minmax"},
        {"step": "pca", "n_components": 1, "whiten": False},
    ]
    shown = dict(REGISTRY["knn"].shown_params(job.params))
    assert shown["steps"] == "Scaling (method=minmax) → PCA (n_components=1, whiten=False)"


def test_the_json_api_takes_steps_beside_or_inside_params(contest: Contest) -> None:
    client = logged_in(contest.alice)
    steps = [{"step": "scale", "method": "robust"}, {"step": "select_k_best", "k": 1}]
    path = f"/api/rounds/{contest.round.pk}/jobs/"
    beside = {"algorithm": "knn", "params": {"n_neighbors": 3}, "steps": steps}
    answer = ok_json(client.post(path, json.dumps(beside), content_type="application/json"), 201)
    assert [step["step"] for step in answer["params"]["steps"]] == ["scale", "select_k_best"]
    inside = {"algorithm": "knn", "params": {"steps": [{"step": "pca", "n_components": 9}]}}
    refused = client.post(path, json.dumps(inside), content_type="application/json")
    body = assert_error(refused, 400, fields=("steps",))
    assert "n_components must be at most 2" in body["fields"]["steps"]
    # The worker gets the steps in the seed's get_job_params answer, params as stored.
    job_id = answer["id"]
    params = logged_in(contest.walter).post(f"/actions/get_job_params/{job_id}.json/").json()
    assert params["params"]["steps"][1] == {
        "step": "select_k_best",
        "k": 1,
        "score_func": "f_classif",
    }


def test_the_api_lists_the_steps_and_each_metrics_direction(contest: Contest) -> None:
    answer = ok_json(logged_in(contest.alice).get("/api/algorithms/"))
    assert [step["name"] for step in answer["steps"]] == list(STEPS)
    pca = next(step for step in answer["steps"] if step["name"] == "pca")
    assert pca["params"][0]["name"] == "n_components"
    directions = {metric["name"]: metric["higher_is_better"] for metric in answer["metrics"]}
    assert directions["rmse"] is False and directions["mae"] is False
    assert directions["r2"] is True and directions["accuracy"] is True


def post_form(contest: Contest, data: dict[str, str]) -> Any:
    from django.urls import reverse

    form = {"algorithm": "knn", "knn-n_neighbors": "3", "knn-weights": "uniform", "knn-p": "2"}
    form["knn-scaling"] = "none"
    return contest.client(contest.alice).post(
        reverse("web:round", args=[contest.round.pk]), {**form, **data}
    )


def test_the_job_form_takes_steps_in_its_slots(contest: Contest) -> None:
    response = post_form(
        contest,
        {
            "steps-s1": "scale",
            "steps-s1_scale_method": "minmax",
            "steps-s2": "",  # an empty slot is skipped
            "steps-s3": "select_k_best",
            "steps-s3_select_k_best_k": "1",
            "steps-s3_select_k_best_score_func": "",  # empty: the round's F-test
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.get(round=contest.round)
    assert job.params["steps"] == [
        {"step": "scale", "method": "minmax"},
        {"step": "select_k_best", "k": 1, "score_func": "f_classif"},
    ]
    # "Submit again" starts the form from the job, steps included; the job page shows them.
    again = (
        contest.client(contest.alice)
        .get(f"/rounds/{contest.round.pk}/?from_job={job.pk}")
        .content.decode()
    )
    assert '<option value="select_k_best" selected>' in again
    assert '<details class="steps" id="steps" open>' in again  # unfolded: it has steps
    fresh = contest.client(contest.alice).get(f"/rounds/{contest.round.pk}/").content.decode()
    assert '<details class="steps" id="steps">' in fresh  # folded: the button stays in view
    page = contest.client(contest.alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "Scaling (method=minmax) → Select k best features (k=1, score_func=f_classif)" in page


def test_the_job_form_shows_a_refused_step_above_the_steps(contest: Contest) -> None:
    response = post_form(contest, {"steps-s1": "pca", "steps-s1_pca_n_components": "5"})
    html = response.content.decode()
    assert response.status_code == 400 and not Job.objects.filter(round=contest.round).exists()
    assert "step 1 (pca): n_components must be at most 2" in html
