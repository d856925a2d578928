"""The client's one transport: a requests session whose adapter retries through urllib3's
``Retry``, with a policy per call.

What is retried (docs/worker.md, "From Python"): connection errors and the answers 500, 502,
503 and 504, ``retries`` times with exponential backoff (urllib3's: the first retry at
once, then after 2 ``backoff``, 4 ``backoff`` ...). A call that is not idempotent (a job
submission) is resent only when it surely did not reach the server: when the connection could
not be made. A 503's
``Retry-After`` (database_unavailable) is not waited for here, and a 429 (login_throttled,
quota) is never retried: the worker's outage loop (worker/posting.py) decides how long to wait.
"""

from __future__ import annotations

import os
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({500, 502, 503, 504})


def retry_policy(retries: int, backoff: float, idempotent: bool) -> Retry:
    """urllib3's ``Retry`` for one call; the last 5xx answer is returned, not raised."""
    again = retries if idempotent else 0
    return Retry(
        total=retries,
        connect=retries,  # the request never left: safe to resend even a job submission
        read=again,
        status=again,
        other=again,
        allowed_methods=None,  # the seed's POSTs are idempotent: the call says, not the method
        status_forcelist=RETRY_STATUSES if idempotent else (),
        backoff_factor=backoff,
        raise_on_status=False,
        respect_retry_after_header=False,
    )


class RetryingAdapter(HTTPAdapter):
    """requests' adapter; ``max_retries`` is set per call by :func:`send` (a session belongs
    to one thread: ``API.clone`` gives another thread its own)."""


def new_session(host: str) -> requests.Session:
    """A session that reads the environment's proxy and CA settings for this host once.
    requests reads them again on every request (every variable, twice, and a stat of
    ~/.netrc): measured here, up to a millisecond per request, on each of a worker's."""
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(host)
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    adapter = RetryingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    retries: int,
    backoff: float,
    idempotent: bool,
    timeout: float,
    **options: Any,
) -> requests.Response:
    """The answer to one request after the retries (any status); requests' exceptions when
    the server could not be reached."""
    adapter = session.get_adapter(url)
    if isinstance(adapter, RetryingAdapter):
        adapter.max_retries = retry_policy(retries, backoff, idempotent)
    return session.request(method, url, timeout=timeout, **options)
