"""Forms that no longer accept what always fails (issue 11, item 4): parameters bounded by the
round's training points are checked at submit (domain, JSON API, web form) and the form's max
says so; ``random_state`` only where it changes the result (old jobs still run and display);
SVM's empty ``gamma`` reads 'scale'; MLP's ``learning_rate`` is named ``learning_rate_init``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.urls import reverse
from sklearn import datasets as sk

from mlcontest.algorithms import REGISTRY, ParameterError, validate_params
from mlcontest.contest import datasets
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Job
from mlcontest.web.forms import ParamsForm
from mlcontest.worker.run import PreparedData, run_job
from tests.conftest import Contest, submit
from tests.protocol_helpers import assert_error, logged_in

BOUNDED = [
    (algorithm.name, param.name)
    for algorithm in REGISTRY.values()
    for param in algorithm.params
    if param.per_training_point
]
UNSEEDED = (
    "knn",
    "svm",
    "logistic_regression",
    "naive_bayes",
    "dbscan",
    "agglomerative",
    # Regressors that draw nothing at random (Lasso only with selection="random").
    "linear_regression",
    "ridge",
    "lasso",
    "knn_regressor",
    "svr",
)


def training_count(contest: Contest) -> int:
    return contest.dataset.training_points


def tiny(n_training: int) -> PreparedData:
    """Blobs with exactly ``n_training`` training points (and a few test/validation ones)."""
    X, y = sk.make_blobs(n_samples=n_training + 4, centers=2, random_state=0)
    labels = [str(v) for v in y]
    return PreparedData(
        "v",
        ("x", "y"),
        {"training": X[:n_training], "test": X[n_training:-2], "validation": X[-2:]},
        {
            "training": tuple(labels[:n_training]),
            "test": (None, None),
            "validation": (None, None),
        },
    )


def test_the_bounded_parameters_are_the_ones_scikit_learn_bounds() -> None:
    assert sorted(BOUNDED) == [
        ("agglomerative", "n_clusters"),
        ("gaussian_mixture", "n_components"),
        ("kmeans", "n_clusters"),
        ("knn", "n_neighbors"),
        ("knn_regressor", "n_neighbors"),
    ]


@pytest.mark.parametrize(("algorithm", "name"), BOUNDED)
def test_the_bound_is_exactly_where_scikit_learn_fails(algorithm: str, name: str) -> None:
    data = tiny(6)
    outcome, _ = run_job(algorithm, {name: 6}, data)  # one per training point: fine
    assert outcome.success
    with pytest.raises(ValueError):
        run_job(algorithm, {name: 7}, data)
    with pytest.raises(ParameterError) as refused:
        validate_params(REGISTRY[algorithm], {name: 7}, training_points=6)
    assert refused.value.errors == {
        name: "must be at most 6: this round's dataset has 6 training points"
    }
    assert validate_params(REGISTRY[algorithm], {name: 6}, training_points=6)[name] == 6


def test_submit_refuses_more_neighbours_than_training_points(contest: Contest) -> None:
    n = training_count(contest)
    with pytest.raises(InvalidInput) as refused:
        submit(contest, contest.alice, n_neighbors=n + 1)
    assert refused.value.fields == {
        "n_neighbors": f"must be at most {n}: this round's dataset has {n} training points"
    }
    assert not Job.objects.exists()
    assert submit(contest, contest.alice, n_neighbors=n).params["n_neighbors"] == n


def test_the_checks_read_the_dataset_s_row_not_its_points(contest: Contest) -> None:
    """Loading the points would hold a 70,000 x 784 dataset whole in the server at a submit."""
    datasets._load_points.cache_clear()
    n = training_count(contest)
    with pytest.raises(InvalidInput):
        submit(contest, contest.alice, n_neighbors=n + 1)
    submit(contest, contest.alice, n_neighbors=n)
    assert datasets._load_points.cache_info().currsize == 0


def test_the_json_api_refuses_it_with_the_field(contest: Contest) -> None:
    n = training_count(contest)
    body = {"algorithm": "knn", "params": {"n_neighbors": n + 1}}
    response = logged_in(contest.alice).post(
        f"/api/rounds/{contest.round.pk}/jobs/", json.dumps(body), content_type="application/json"
    )
    answer = assert_error(response, 400, fields=("n_neighbors",))
    assert f"{n} training points" in answer["fields"]["n_neighbors"]
    assert not Job.objects.exists()


def test_the_web_form_says_the_bound_and_refuses_beyond_it(contest: Contest) -> None:
    n = training_count(contest)
    client = contest.client(contest.alice)
    url = reverse("web:round", args=[contest.round.pk])
    html = client.get(url).content.decode()
    assert f'name="knn-n_neighbors" value="5" step="1" inputmode="decimal" min="1" max="{n}"' in (
        html
    )
    assert f"From 1 to {n}. This round&#x27;s dataset has {n} training points." in html
    data = {"algorithm": "knn", "knn-n_neighbors": str(n + 1), "knn-weights": "uniform"}
    data.update({"knn-p": "2", "knn-scaling": "none"})
    response = client.post(url, data)
    assert response.status_code == 400
    assert f"must be at most {n}: this round&#x27;s dataset has {n} training points" in (
        response.content.decode()
    )
    assert not Job.objects.exists()


@pytest.mark.parametrize("algorithm", UNSEEDED)
def test_random_state_is_offered_only_where_it_changes_the_result(algorithm: str) -> None:
    spec = REGISTRY[algorithm]
    assert "random_state" not in spec.defaults()
    assert "random_state" not in ParamsForm(spec).fields
    seeded = [name for name, other in REGISTRY.items() if "random_state" in other.defaults()]
    assert sorted(seeded) == sorted(set(REGISTRY) - set(UNSEEDED))


def test_a_script_that_sends_random_state_to_knn_is_not_refused(contest: Contest) -> None:
    body = {"algorithm": "knn", "params": {"n_neighbors": 3, "random_state": 7}}
    response = logged_in(contest.alice).post(
        f"/api/rounds/{contest.round.pk}/jobs/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert "random_state" not in Job.objects.get().params


@pytest.mark.parametrize("algorithm", UNSEEDED)
def test_old_jobs_with_random_state_still_run(algorithm: str) -> None:
    data = tiny(30)
    params = {"random_state": 7, "n_clusters": 2} if algorithm == "agglomerative" else {}
    if algorithm != "agglomerative":
        params = {"random_state": 7}
    old, model = run_job(algorithm, params, data)
    new, _ = run_job(algorithm, {k: v for k, v in params.items() if k != "random_state"}, data)
    assert old.success and old.labels == new.labels
    assert "random_state" not in model.params_


def test_an_old_job_shows_its_random_state_as_changing_nothing(contest: Contest) -> None:
    job = submit(contest, contest.alice, n_neighbors=3)
    Job.objects.filter(pk=job.pk).update(params={**job.params, "random_state": 7})
    html = contest.client(contest.alice).get(reverse("web:job", args=[job.pk])).content.decode()
    assert "<td>random_state</td><td><code>7 (changes nothing for k-nearest neighbours)" in html
    job.refresh_from_db()
    assert job.params_summary() == "n_neighbors=3, p=2, scaling=none, weights=uniform"


def test_empty_gamma_reads_scale_in_the_form_and_on_the_job_page(contest: Contest) -> None:
    help_text = str(ParamsForm(REGISTRY["svm"]).fields["gamma"].help_text)
    assert "Leave empty for 'scale'." in help_text and "Default: empty ('scale')." in help_text
    assert "none" not in help_text
    depth_help = str(ParamsForm(REGISTRY["decision_tree"]).fields["max_depth"].help_text)
    assert "Leave empty for no limit." in depth_help
    job = submit(contest, contest.alice, "svm")
    assert job.params["gamma"] is None
    html = contest.client(contest.alice).get(reverse("web:job", args=[job.pk])).content.decode()
    assert "<td>gamma</td><td><code>&#x27;scale&#x27;</code>" in html
    assert "gamma='scale'" in job.params_summary()
    _, model = run_job("svm", job.params, tiny(20))
    assert model.estimator_.gamma == "scale"


def test_mlp_learning_rate_is_named_learning_rate_init(contest: Contest) -> None:
    field = ParamsForm(REGISTRY["mlp"]).fields["learning_rate"]
    assert field.label == "learning_rate_init"
    assert "learning_rate_init" in str(field.help_text)
    _, model = run_job("mlp", {"learning_rate": 0.01, "max_iter": 20}, tiny(20))
    assert model.estimator_.learning_rate_init == 0.01
    assert model.estimator_.learning_rate == "constant"
    schema = {p["name"]: p for p in REGISTRY["mlp"].schema()["params"]}
    assert schema["learning_rate"]["label"] == "learning_rate_init"
    shown = dict(REGISTRY["mlp"].shown_params({"learning_rate": 0.01}))
    assert shown == {"learning_rate_init": "0.01"}
    assert np.isclose(model.estimator_.learning_rate_init, 0.01)
