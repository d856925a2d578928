"""Empty cells and the job's pipeline: a job whose steps impute gets the empty cells and its
own imputer fills them (exactly as scikit-learn's would); every other job gets them filled with
the training points' mean, and the job's message says which happened. Neither touches the
prepared data the worker keeps for the next job."""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from mlcontest.worker.run import PreparedData, for_job, run_job

RNG = np.random.RandomState(0)
X = RNG.normal(size=(90, 3))
Y = (X[:, 0] + X[:, 1] > 0).astype(int).astype(str)
X[RNG.rand(*X.shape) < 0.15] = np.nan  # about 40 empty cells, in every split
TRAIN, TEST = slice(0, 60), slice(60, None)


def prepared() -> PreparedData:
    return PreparedData(
        "v",
        ("a", "b", "c"),
        {"training": X[TRAIN].copy(), "test": X[TEST].copy(), "validation": X[TEST][:0].copy()},
        {"training": tuple(Y[TRAIN]), "test": (None,) * len(Y[TEST]), "validation": ()},
    )


def test_a_pipeline_that_imputes_gets_the_empty_cells() -> None:
    data = prepared()
    params = {"n_neighbors": 3, "steps": [{"step": "impute", "strategy": "median"}]}
    job_data = for_job(data, params)
    assert np.isnan(job_data.X["test"]).any()
    outcome, _ = run_job("knn", params, job_data)
    direct = make_pipeline(SimpleImputer(strategy="median"), KNeighborsClassifier(n_neighbors=3))
    direct.fit(X[TRAIN], Y[TRAIN])
    assert outcome.success
    assert outcome.labels["test"] == direct.predict(X[TEST]).tolist()
    cells = int(np.isnan(X).sum())
    assert f"{cells} empty cells were left to the job's imputation step." in outcome.message


def test_any_other_job_gets_the_training_mean_and_the_kept_data_stays_as_it_was() -> None:
    data = prepared()
    job_data = for_job(data, {"n_neighbors": 3})
    assert not any(np.isnan(values).any() for values in job_data.X.values())
    means = np.nanmean(X[TRAIN], axis=0)
    rows, columns = np.nonzero(np.isnan(X[TEST]))
    assert np.array_equal(job_data.X["test"][rows, columns], means[columns])
    assert np.isnan(data.X["test"]).sum() == np.isnan(X[TEST]).sum()  # not filled in place
    outcome, _ = run_job("knn", {"n_neighbors": 3}, job_data)
    direct = make_pipeline(SimpleImputer(strategy="mean"), KNeighborsClassifier(n_neighbors=3))
    direct.fit(X[TRAIN], Y[TRAIN])
    assert outcome.labels["test"] == direct.predict(X[TEST]).tolist()
    assert "filled with their feature's mean over the training points" in outcome.message


def test_data_without_empty_cells_is_handed_on_as_it_is() -> None:
    data = prepared()
    whole = PreparedData(
        "w", data.feature_names, {k: np.nan_to_num(v) for k, v in data.X.items()}, data.y
    )
    assert for_job(whole, {"steps": [{"step": "impute"}]}) is whole
    assert for_job(whole, {}) is whole
