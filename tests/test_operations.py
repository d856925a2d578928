"""What an operator watches: ``/healthz``, ``/metrics`` and the contest's event log lines
(mlcontest/core/health.py, metrics.py, events.py)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from mlcontest.core import health
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import logged_in, ping
from tests.test_protocol_ping import expire


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in:\n{text}"
    return float(found.group(1))


def events_of(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mlcontest.events"]
    return [line for line in lines if line["event"] == name]


def test_healthz_answers_for_any_host_and_counts_the_queue(contest: Contest, settings: Any) -> None:
    # A probe reaches the instance at its own address, over plain HTTP, behind the proxy's
    # settings: neither the host check nor the HTTPS redirect may turn it away.
    settings.ALLOWED_HOSTS = ["contest.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    submit(contest, contest.alice)
    answer = Client().get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "status": "ok",
        "database": "ok",
        "queue": "ok",
        "queued": 1,
        "running": 0,
    }
    # Any other path from that host is refused as before.
    assert Client().get("/env.json/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_healthz_is_503_when_the_database_does_not_answer(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr(health.connection, "cursor", broken)
        answer = Client().get("/healthz/")
    assert answer.status_code == 503
    assert answer.json()["status"] == "error"
    assert answer.json()["database"] == "error: OperationalError"


def test_metrics_are_for_organizers_or_the_token(contest: Contest, settings: Any) -> None:
    assert Client().get("/metrics").status_code == 403
    assert logged_in(contest.alice).get("/metrics").status_code == 403
    assert logged_in(contest.walter).get("/metrics").status_code == 403
    assert logged_in(contest.olga).get("/metrics").status_code == 200
    assert Client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    bearer = {"Authorization": "Bearer s3cret-token"}
    assert Client().get("/metrics", headers=bearer).status_code == 200
    wrong = {"Authorization": "Bearer s3cret-tokex"}
    assert Client().get("/metrics", headers=wrong).status_code == 403


PINGS = 'mlcontest_request_duration_seconds_count{method="POST",route="actions/ping/"}'


def test_metrics_and_events_follow_lost_leases_failures_and_mismatches(
    contest: Contest, settings: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO, logger="mlcontest.events")
    settings.MAX_ATTEMPTS = 3
    settings.DATA_DIR = tmp_path  # only this process's latency file: none of other runs'
    organizer = logged_in(contest.olga)
    before = organizer.get("/metrics").content.decode()
    pings_before = metric(before, PINGS) if PINGS in before else 0
    assert metric(before, "mlcontest_lease_expiries_total") == 0
    assert metric(before, "mlcontest_queue_depth") == 0

    first = submit(contest, contest.alice)
    second = submit(contest, contest.bob)
    worker = logged_in(contest.walter)
    assert ping(worker) == first.pk
    queued = organizer.get("/metrics").content.decode()
    assert metric(queued, "mlcontest_queue_depth") == 1
    assert metric(queued, "mlcontest_running_jobs") == 1

    # The worker is lost: the next ping takes the job back and claims it again.
    expire(first.pk)
    assert ping(worker) == first.pk
    assert [line["job"] for line in events_of(caplog, "lease_lost")] == [first.pk]

    # A result whose claimed score the server does not confirm; then a failed job.
    labels = true_labels(contest.dataset)
    wrong_claim = result_fields(labels, score_test="0.123")
    answer = worker.post(f"/actions/update_job_details/{first.pk}.json/", wrong_claim)
    assert answer.status_code == 200, answer.content
    assert ping(worker) == second.pk
    failed = result_fields(labels, success="False", message="out of memory")
    answer = worker.post(f"/actions/update_job_details/{second.pk}.json/", failed)
    assert answer.status_code == 200, answer.content

    after = organizer.get("/metrics").content.decode()
    assert metric(after, "mlcontest_lease_expiries_total") == 1
    assert metric(after, "mlcontest_score_mismatches_total") == 1
    assert metric(after, "mlcontest_failed_jobs_total") == 1
    assert metric(after, 'mlcontest_jobs{state="done"}') == 1
    assert metric(after, "mlcontest_queue_depth") == 0
    mismatch = events_of(caplog, "score_mismatch")
    assert [line["job"] for line in mismatch] == [first.pk]
    assert mismatch[0]["claimed"][0] == 0.123
    assert [line["job"] for line in events_of(caplog, "job_failed")] == [second.pk]
    # The request latency of this process, by URL pattern, in the histogram: three pings more.
    assert metric(after, PINGS) == pings_before + 3


def test_opening_and_closing_a_round_are_logged(
    contest: Contest, caplog: pytest.LogCaptureFixture
) -> None:
    from mlcontest.contest import rounds

    caplog.set_level(logging.INFO, logger="mlcontest.events")
    rounds.close_round(contest.olga, contest.round)
    rounds.open_round(contest.olga, contest.round)
    closed = events_of(caplog, "round_closed")
    opened = events_of(caplog, "round_opened")
    assert [(line["round"], line["by"]) for line in closed] == [(contest.round.pk, "olga")]
    assert [(line["round"], line["action"]) for line in opened] == [(contest.round.pk, "reopened")]
