"""The one boolean parser (``mlcontest.core.booleans``): the spellings it accepts, the error for
others, and that settings, the seed protocol and the algorithm parameters all read through it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from mlcontest.algorithms.params import _as_bool
from mlcontest.contest.result_fields import _parse_success
from mlcontest.core import env as settings_module
from mlcontest.core.booleans import ERROR, parse_bool
from tests.conftest import Contest
from tests.protocol_helpers import ok_json
from tests.test_hidden_labels import as_role, finished_job


@pytest.mark.parametrize(
    "value", [True, 1, "true", "True", "TRUE", " true ", "1", "yes", "Yes", "on", "ON"]
)
def test_true_spellings(value: Any) -> None:
    assert parse_bool(value) is True


@pytest.mark.parametrize(
    "value", [False, 0, "false", "False", " FALSE", "0", "no", "NO", "off", "Off"]
)
def test_false_spellings(value: Any) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["t", "y", "2", "nope", "none", "1.0", 2, -1, 1.0, [], {}])
def test_other_values_are_refused_with_a_clear_error(value: Any) -> None:
    with pytest.raises(ValueError) as refused:
        parse_bool(value, True)
    assert str(refused.value) == ERROR
    assert "true/false, 1/0, yes/no, on/off" in ERROR


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_gives_the_default_or_an_error_without_one(value: Any) -> None:
    assert parse_bool(value, True) is True
    assert parse_bool(value, False) is False
    with pytest.raises(ValueError):
        parse_bool(value)


def test_every_caller_reads_the_same_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCONTEST_FLAG_UNDER_TEST", "Off")
    assert settings_module.env_bool("MLCONTEST_FLAG_UNDER_TEST", True) is False
    monkeypatch.setenv("MLCONTEST_FLAG_UNDER_TEST", "on")
    assert settings_module.env_bool("MLCONTEST_FLAG_UNDER_TEST", False) is True
    monkeypatch.setenv("MLCONTEST_FLAG_UNDER_TEST", "")
    assert settings_module.env_bool("MLCONTEST_FLAG_UNDER_TEST", True) is True
    monkeypatch.setenv("MLCONTEST_FLAG_UNDER_TEST", "enabled")
    with pytest.raises(ImproperlyConfigured, match="MLCONTEST_FLAG_UNDER_TEST must be true"):
        settings_module.env_bool("MLCONTEST_FLAG_UNDER_TEST", False)
    for spelling, expected in (("True", True), ("off", False), ("1", True), ("no", False)):
        assert _parse_success(spelling) is expected
        assert _as_bool(spelling) is expected
    with pytest.raises(ValueError):
        _parse_success(None)  # a result without success must not pass for one


@pytest.mark.parametrize(
    ("spelling", "with_labels"), [("1", True), ("yes", True), ("0", False), ("off", False)]
)
def test_the_job_answers_labels_query_reads_through_the_parser(
    contest: Contest, spelling: str, with_labels: bool
) -> None:
    job, predicted = finished_job(contest)
    get, _ = as_role(contest, "student")
    body = ok_json(get(f"/api/jobs/{job.pk}/?labels={spelling}"))
    assert ("labels_test" in body) is with_labels
    if with_labels:
        assert body["labels_test"] == predicted["test"]


def test_a_labels_query_the_parser_does_not_know_is_a_400(contest: Contest) -> None:
    job, _ = finished_job(contest)
    get, _ = as_role(contest, "student")
    response = get(f"/api/jobs/{job.pk}/?labels=maybe")
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["code"]) == ("error", "invalid")
    assert ERROR in body["fields"]["labels"]
