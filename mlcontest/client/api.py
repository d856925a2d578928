"""The Python client: the seed's ``API`` with the seed's methods, plus the rest of the JSON API.

A script written for the seed's client runs unchanged: the same method names, arguments and
answers, the same wire format (after ``env.json/`` every call is a POST of form fields with
``csrfmiddlewaretoken`` and ``api=1``), except that ``update_job_details`` posts one JSON body.
What differs on purpose:

* an HTTP error raises a :class:`ServerError` subclass that carries the server's JSON error
  (``API(..., raise_errors=False)`` returns the seed's ``{"status": "error", ...}`` dict instead);
* connection errors and 5xx answers are retried with exponential backoff;
* a wrong login raises :class:`LoginFailed` instead of going on signed out.

Credentials default to the environment: ``MLCONTEST_SERVER``, ``MLCONTEST_USERNAME``,
``MLCONTEST_PASSWORD`` (or ``MLCONTEST_PASSWORD_FILE``) or a token in ``MLCONTEST_TOKEN``
(or ``MLCONTEST_TOKEN_FILE``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import csv
import email.utils
import io
import json
import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import requests

from mlcontest.client import transport
from mlcontest.client.errors import (
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    LoginFailed,
    NotAuthenticated,
    NotFound,
    QuotaExceeded,
    ServerError,
    ServerFailure,
    error_for,
    reason_of,
)

# The exceptions are part of this module's interface: ``from mlcontest.client import Conflict``.
__all__ = [
    "API",
    "BadRequest",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "LoginFailed",
    "NotAuthenticated",
    "NotFound",
    "QuotaExceeded",
    "ServerError",
    "ServerFailure",
]

DEFAULT_SERVER = "http://127.0.0.1:8000"
JSON_TYPE = "application/json"


def normalize_url(host: str, path: str) -> str:
    """``host`` and ``path`` joined by exactly one slash (the seed's helper)."""
    return "{}/{}".format(host.rstrip("/"), path.lstrip("/"))


def env_secret(name: str) -> str | None:
    """``$NAME``, or the contents of the file named by ``$NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name) or None


def _form_value(value: Any) -> str | bytes:
    # As the seed's urlencode: None becomes "None", True "True"; requests would drop None.
    return value if isinstance(value, str | bytes) else str(value)


class API:
    """The seed's client. ``API(username, password, host)`` signs in at once.

    With ``token`` it sends ``Authorization: Token <key>`` instead of signing in; a worker
    using one token in several processes tells them apart by ``worker_name``.
    """

    _csrftoken: str | None = None
    dataset_cache: dict[int, dict[str, Any]] | None = None

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        host: str | None = None,
        *,
        token: str | None = None,
        worker_name: str = "",
        retries: int = 3,
        backoff: float = 0.25,
        timeout: float = 30.0,
        raise_errors: bool = True,
    ) -> None:
        self.host = host or os.environ.get("MLCONTEST_SERVER") or DEFAULT_SERVER
        self.token = token or None
        self.worker_name = worker_name
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.raise_errors = raise_errors
        self.server_date: datetime | None = None
        self.session = transport.new_session(self.host)
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
            return
        username = username if username is not None else os.environ.get("MLCONTEST_USERNAME", "")
        password = password if password is not None else env_secret("MLCONTEST_PASSWORD") or ""
        self._username, self._password = username, password
        self.relogin()

    @classmethod
    def from_environment(cls, **options: Any) -> API:
        """A token from ``MLCONTEST_TOKEN`` if set, else username and password."""
        token = env_secret("MLCONTEST_TOKEN")
        if token:
            return cls(token=token, **options)
        return cls(**options)

    def clone(self) -> API:
        """A second client with its own HTTP session but the same cookies, hence the same
        server session (the same claim holder), for use from another thread."""
        other = copy.copy(self)
        other.session = transport.new_session(self.host)
        other.session.headers.update(self.session.headers)
        other.session.cookies.update(self.session.cookies)
        return other

    def relogin(self) -> None:
        """Sign in again, as the constructor does (e.g. after the server lost the session)."""
        if self.token:
            return
        self._csrftoken = None
        self.session.cookies.clear()
        env = self.load("env.json/")
        if isinstance(env, dict) and "csrftoken" in env:
            self._csrftoken = env["csrftoken"]
        result = self.login(self._username, self._password)
        if result is not True:
            raise LoginFailed(400, "login failed", result)
        env = self.load("env.json/")
        if isinstance(env, dict) and "csrftoken" in env:
            self._csrftoken = env["csrftoken"]

    # -- the transport ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        timeout: float | None = None,
        retries: int | None = None,
        json_body: Any = None,
        **options: Any,
    ) -> requests.Response:
        """One HTTP request, retried as ``transport`` says; a successful response or a raised
        ClientError. A ``json_body`` (a POST's) is encoded here."""
        url = path if path.startswith(("http://", "https://")) else normalize_url(self.host, path)
        if json_body is not None:
            options["data"] = json.dumps(json_body).encode()
            options["headers"] = {**options.get("headers", {}), "Content-Type": JSON_TYPE}
        try:
            response = transport.send(
                self.session,
                method,
                url,
                retries=self.retries if retries is None else retries,
                backoff=self.backoff,
                idempotent=idempotent,
                timeout=timeout or self.timeout,
                **options,
            )
        except requests.RequestException as error:
            raise ConnectionFailed(f"{method} {url}: {reason_of(error)}") from error
        self._note_date(response)
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def _note_date(self, response: requests.Response) -> None:
        # The server's clock, for lease arithmetic that does not trust this machine's clock.
        header = response.headers.get("Date")
        if header:
            with contextlib.suppress(TypeError, ValueError):
                self.server_date = email.utils.parsedate_to_datetime(header)

    def _csrf(self) -> str | None:
        return self.session.cookies.get("csrftoken") or self._csrftoken

    def load(
        self, path: str, raw: bool = False, *, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """The seed's request: GET while there is no CSRF token, else a POST of ``kwargs`` as
        form fields with the token and ``api=1``. Decoded JSON, or text that is not JSON;
        ``raw`` gives the bytes."""
        return self.send(path, kwargs, raw=raw, timeout=timeout)

    def send(
        self,
        path: str,
        fields: Mapping[str, Any],
        *,
        raw: bool = False,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Any:
        """``load`` with the transport's knobs: ``timeout`` and ``retries`` for this call."""
        csrf = self._csrf()
        if csrf:
            self._csrftoken = csrf
        options: dict[str, Any] = {"timeout": timeout, "retries": retries}
        if csrf or self.token:
            form = {key: _form_value(value) for key, value in fields.items()}
            if csrf:
                form["csrfmiddlewaretoken"] = csrf
            form["api"] = "1"
            if self.worker_name and "worker_name" not in form:
                form["worker_name"] = self.worker_name
            method, options["data"] = "POST", form
        else:
            method = "GET"
        try:
            response = self.request(method, path, **options)
        except ServerError as error:
            if self.raise_errors:
                raise
            return error.as_seed_dict()
        if raw:
            return response.content
        try:
            return response.json()
        except ValueError:
            return response.text

    def send_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """``send`` with the fields as one JSON object (the CSRF token in its header)."""
        headers = {"X-CSRFToken": csrf} if (csrf := self._csrf()) else {}
        body = {"api": 1, **body}
        if self.worker_name:
            body.setdefault("worker_name", self.worker_name)
        try:
            response = self.request("POST", path, json_body=body, headers=headers)
        except ServerError as error:
            if self.raise_errors:
                raise
            return error.as_seed_dict()
        return response.json()

    # -- the seed's methods -------------------------------------------------------------

    def login(self, username: str, password: str) -> Any:
        """Sign in; True on success, else the server's answer (as the seed's client)."""
        try:
            result = self.load(
                "accounts/login/?next=" + quote_plus("/ok.json"),
                username=username,
                password=password,
            )
        except ServerError as error:
            return error.body
        try:
            if result["status"] == "ok":
                return True
        except (ValueError, KeyError, TypeError):
            pass
        return result

    def add_group(self, name: str, public: bool = True) -> Any:
        """Create a group (organizers only)."""
        return self.load("actions/add_group/", group_name=name, public=public)

    def join_group(self, group_name: str, invite_code: str | None = None) -> Any:
        """Join the named group; a private one needs its ``invite_code``."""
        fields = {"invite_code": invite_code} if invite_code else {}
        return self.send(f"actions/join_group/{quote_plus(group_name)}/", fields)

    def list_groups(self) -> Any:
        """Every group you may see: name -> details."""
        return self.load("actions/get_groups.json/")

    def get_round(self, round_id: int | str) -> Any:
        """Join the round with your group and return it."""
        return self.load(f"actions/get_round/{quote_plus(str(round_id))}.json/")

    def get_job_params(self, job_id: int | str) -> Any:
        """Workers: ``{"algorithm", "dataset", "params", ...}`` of a job."""
        return self.load(f"actions/get_job_params/{quote_plus(str(job_id))}.json/")

    def update_job_details(
        self,
        job_id: int | str,
        score_test: float | None,
        score_validation: float | None,
        labels_training: list[Any] | None,
        labels_test: list[Any] | None,
        labels_validation: list[Any] | None,
        extra_scores_test: Mapping[str, float] | None = None,
        extra_scores_validation: Mapping[str, float] | None = None,
        message: str | None = None,
        success: bool = True,
        timings: Mapping[str, float] | None = None,
        *,
        diagnostics: Mapping[str, float] | None = None,
        claim_next: bool = False,
    ) -> Any:
        """Workers: post a job's result (posting the same result twice is harmless).

        Unlike the seed, the fields go as one JSON body: three label lists urlencoded cost
        milliseconds to encode here and to parse on the server. With ``claim_next`` the
        answer's ``next`` is the worker's next job, ``{"id", "params"}`` as ``claim`` gives
        it, or None: one request per job instead of two."""
        fields: dict[str, Any] = {
            "score_test": score_test,
            "score_validation": score_validation,
            "labels_training": labels_training,
            "labels_test": labels_test,
            "labels_validation": labels_validation,
            "extra_scores_test": extra_scores_test,
            "extra_scores_validation": extra_scores_validation,
            "message": message,
            "success": success,
        }
        if timings is not None:
            fields["timings"] = dict(timings)
        if diagnostics is not None:
            fields["diagnostics"] = dict(diagnostics)
        if claim_next:
            fields["next"] = True
        return self.send_json(f"actions/update_job_details/{quote_plus(str(job_id))}.json/", fields)

    def add_job_picture(self, job_id: int | str, filename: str) -> Any:
        """Workers: attach the image file ``filename`` to a job."""
        return self.add_job_picture_data(job_id, filename, Path(filename).read_bytes())

    def add_job_picture_data(self, job_id: int | str, filename: str, data: bytes) -> Any:
        """Workers: attach an image held in memory."""
        return self.load(
            f"actions/add_job_picture/{quote_plus(str(job_id))}.json/",
            filename=filename,
            data=base64.b64encode(data).decode("ascii"),
        )

    def get_datasets(self) -> dict[int, dict[str, Any]]:
        """Every dataset you may see: id -> details (kept in ``dataset_cache``)."""
        answer = self.load("actions/get_datasets.json/")
        if not isinstance(answer, dict) or answer.get("status") == "error":
            return answer
        self.dataset_cache = {int(key): value for key, value in answer.items()}
        return self.dataset_cache

    def get_dataset_points(self, dataset_id: int | str) -> list[dict[str, Any]]:
        """The dataset's points; labels of test and validation points only for organizers."""
        number = int(dataset_id)
        if not self.dataset_cache or number not in self.dataset_cache:
            self.get_datasets()
        try:
            assert self.dataset_cache is not None
            return self.load(self.dataset_cache[number]["url"])
        except (KeyError, TypeError, AssertionError):
            return []

    def ping(self, wait: float | None = None) -> int | None:
        """Workers: claim a queued job; its id, or None. ``wait`` seconds long-polls."""
        if not wait:
            return self.load("actions/ping/")
        return self.load("actions/ping/", wait=wait, timeout=self.timeout + wait)

    def claim(self, wait: float | None = None) -> tuple[int, dict[str, Any]] | None:
        """Workers: ``ping`` that also answers the claimed job's parameters (one request, not
        two): ``(job id, parameters)``, or None."""
        fields: dict[str, Any] = {"with_params": 1}
        if wait:
            fields["wait"] = wait
        timeout = self.timeout + wait if wait else None
        answer = self.send("actions/ping/", fields, timeout=timeout)
        if answer is None:
            return None
        return int(answer["id"]), answer["params"]

    # -- beyond the seed: leases ----------------------------------------------------------

    def renew_lease(
        self, job_id: int, timeout: float | None = None, retries: int | None = None
    ) -> Any:
        """Workers: keep the claim on a long job alive."""
        path = f"actions/renew_lease/{int(job_id)}.json/"
        return self.send(path, {}, timeout=timeout, retries=retries)

    def release_job(self, job_id: int) -> Any:
        """Workers: hand a claimed job back to the queue."""
        return self.load(f"actions/release_job/{int(job_id)}.json/")

    # -- beyond the seed: the JSON API --------------------------------------------------

    def api_get(self, path: str, **query: Any) -> Any:
        return self.request("GET", normalize_url("api", path), params=query or None).json()

    def api_post(self, path: str, body: Mapping[str, Any], *, idempotent: bool = False) -> Any:
        headers = {"X-CSRFToken": csrf} if (csrf := self._csrf()) else {}
        return self.request(
            "POST",
            normalize_url("api", path),
            json_body=dict(body),
            headers=headers,
            idempotent=idempotent,
        ).json()

    def get_me(self) -> dict[str, Any]:
        """Who you are: role, group."""
        return self.api_get("me/")

    def get_dataset_list(self) -> list[dict[str, Any]]:
        """The datasets you may see (the JSON API's form of ``get_datasets``)."""
        return self.api_get("datasets/")["datasets"]

    def get_dataset(self, dataset_id: int) -> dict[str, Any]:
        return self.api_get(f"datasets/{int(dataset_id)}/")

    def get_round_details(self, round_id: int) -> dict[str, Any]:
        """One round with your group's quota; unlike the seed's ``get_round``, joins nothing."""
        return self.api_get(f"rounds/{int(round_id)}/")

    def open_round(self, round_id: int) -> dict[str, Any]:
        """Organizers: open (or reopen) a round."""
        return self.api_post(f"rounds/{int(round_id)}/open/", {}, idempotent=True)

    def close_round(self, round_id: int) -> dict[str, Any]:
        """Organizers: close a round (the final ranking is revealed)."""
        return self.api_post(f"rounds/{int(round_id)}/close/", {}, idempotent=True)

    def reveal_places(
        self, round_id: int, places: int | None = None, everything: bool = False
    ) -> dict[str, Any]:
        """Organizers, during a round's show: reveal the next place, the last ``places``
        places, or (``everything``) all of them, which ends the show."""
        body: dict[str, Any] = {"all": True} if everything else {}
        if places is not None and not everything:
            body["places"] = int(places)
        return self.api_post(f"rounds/{int(round_id)}/reveal/", body, idempotent=bool(body))

    def get_algorithms(self) -> dict[str, Any]:
        """The registry: every algorithm with its parameter schema, and the metrics."""
        return self.api_get("algorithms/")

    def get_rounds(self) -> list[dict[str, Any]]:
        """The rounds you may see."""
        return self.api_get("rounds/")["rounds"]

    def get_round_jobs(self, round_id: int) -> list[dict[str, Any]]:
        """Your group's jobs in a round (every job, for workers and organizers)."""
        return self.api_get(f"rounds/{int(round_id)}/jobs/")["jobs"]

    def submit_job(
        self,
        round_id: int,
        algorithm: str,
        params: Mapping[str, Any] | None = None,
        *,
        baseline: bool = False,
    ) -> dict[str, Any]:
        """Queue a job for your group; the new job (``id``, ``state`` ...)."""
        body: dict[str, Any] = {"algorithm": algorithm, "params": dict(params or {})}
        if baseline:
            body["baseline"] = True
        return self.api_post(f"rounds/{int(round_id)}/jobs/", body)

    def upload_predictions(
        self, round_id: int, predictions: str | bytes | Path | Mapping[int, Any]
    ) -> dict[str, Any]:
        """Upload your group's predictions made anywhere (rounds with ``prediction_uploads``):
        a CSV file's path, its text or bytes (``id,label`` and a row per test and validation
        point), or a mapping of point id to label. The answer is the finished job."""
        if isinstance(predictions, Path):
            predictions = predictions.read_bytes()
        if isinstance(predictions, Mapping):
            rows = io.StringIO()
            writer = csv.writer(rows, lineterminator="\n")
            writer.writerow(["id", "label"])
            writer.writerows((int(point), label) for point, label in predictions.items())
            predictions = rows.getvalue()
        if isinstance(predictions, str):
            predictions = predictions.encode("utf-8")
        # The bytes as they are, so that the server can name the row of a file that is not
        # UTF-8; not retried on a 5xx, as a submission is not: it may have made a job.
        headers = {"Content-Type": "text/csv"}
        if csrf := self._csrf():
            headers["X-CSRFToken"] = csrf
        return self.request(
            "POST",
            normalize_url("api", f"rounds/{int(round_id)}/predictions/"),
            data=predictions,
            headers=headers,
            idempotent=False,
        ).json()

    def get_job(self, job_id: int, labels: bool = False) -> dict[str, Any]:
        """A job's state and, once finished, its scores, message and pictures."""
        query = {"labels": "1"} if labels else {}
        return self.api_get(f"jobs/{int(job_id)}/", **query)

    def wait_for_job(
        self, job_id: int, timeout: float = 60.0, interval: float = 0.05
    ) -> dict[str, Any]:
        """Poll until the job is done or failed; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job["state"] in ("done", "failed"):
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout} s")
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)

    def get_leaderboard(self, round_id: int) -> dict[str, Any]:
        """A round's live leaderboard (groups ranked by their best test score)."""
        return self.api_get(f"rounds/{int(round_id)}/leaderboard/")

    def get_final_ranking(self, round_id: int) -> dict[str, Any]:
        """A closed round's ranking by validation score, with each group's move."""
        return self.api_get(f"rounds/{int(round_id)}/final/")

    def get_courses(self) -> list[dict[str, Any]]:
        """Every course, with the rounds you may see in it."""
        return list(self.api_get("courses/")["courses"])

    def create_course(self, name: str, points: list[int] | None = None) -> dict[str, Any]:
        """Organizers: a new course; ``points`` per final rank (default 10, 8, 6, 5, 4, 3, 2, 1)."""
        body: dict[str, Any] = {"name": name}
        if points is not None:
            body["points"] = list(points)
        return self.api_post("courses/", body)

    def get_course_standings(self, course_id: int) -> dict[str, Any]:
        """The standings across a course's revealed rounds: the groups and your own line."""
        return self.api_get(f"courses/{int(course_id)}/standings/")
