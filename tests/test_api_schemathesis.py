"""Schemathesis against ``/api/openapi.json``: generated requests, as a student and as an
organizer, never get a 500, every status code answered is one the document lists, and every
answer's body fits the schema the document gives for its status (the document is generated
from the same schemas that validate the requests: ``mlcontest.api.schemas``).

The examples per operation are bounded (``MAX_EXAMPLES``) so that the module runs in well under
a minute; requests go through the WSGI application in this process, on the test database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mlcontest.api import openapi
from mlcontest.contest.models import Job, User
from mlcontest.wsgi import application
from tests.conftest import Contest, submit

# Bounded so that the suite stays fast; raise it for a deeper search, e.g.
# MLCONTEST_SCHEMATHESIS_EXAMPLES=100 pytest tests/test_api_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("MLCONTEST_SCHEMATHESIS_EXAMPLES", "4"))


@pytest.fixture(autouse=True)
def keep_test_connection(db: Any) -> Iterator[None]:
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The document as /api/openapi.json serves it (a pure function: no request needed to load it).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi.document())))
schema.app = application


def signed_in(user: User) -> dict[str, Any]:
    """The session and CSRF cookies and header that a browser of this user would send. Made
    without a request: Django's test client reconnects the signal that closes the connection."""
    client = Client()
    client.force_login(user)
    secret = get_random_string(32, CSRF_ALLOWED_CHARS)
    cookies = {
        settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
        settings.CSRF_COOKIE_NAME: secret,
    }
    return {"cookies": cookies, "headers": {"X-CSRFToken": secret}}


HYPOTHESIS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def call_and_check(case: Any, contest: Contest, username: str) -> None:
    job = Job.objects.first() or submit(contest, contest.alice)
    # Real ids in the path: generated ones would only ever reach the 404 of a missing object
    # (the hostile corpus covers those), never the body checks behind it.
    real = {
        "round_id": contest.round.pk,
        "job_id": job.pk,
        "dataset_id": contest.dataset.pk,
        "group_id": contest.alpha.pk,
    }
    if case.path_parameters:
        case.path_parameters = {
            name: real.get(name, value) for name, value in case.path_parameters.items()
        }
    case.call_and_validate(
        **signed_in(getattr(contest, username)),
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


@schema.parametrize()
@HYPOTHESIS
def test_api_as_a_student(case: Any, contest: Contest) -> None:
    call_and_check(case, contest, "alice")


@schema.parametrize()
@HYPOTHESIS
def test_api_as_an_organizer(case: Any, contest: Contest) -> None:
    call_and_check(case, contest, "olga")
