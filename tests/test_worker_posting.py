"""The worker's posting of results and pictures against a scripted client: what happens when
the server refuses a result (the live tests cover a server that accepts them)."""

from __future__ import annotations

import time
from typing import Any

from mlcontest.client import BadRequest, Conflict
from mlcontest.worker.child import JobSpec
from mlcontest.worker.posting import Caller, Poster, PostTask, post_result
from mlcontest.worker.run import Outcome

NEXT = {"id": 8, "params": {"algorithm": "knn"}}


class ScriptedAPI:
    """Answers ``update_job_details`` with what ``answer`` says, and records every call."""

    token = "t"

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.results: list[dict[str, Any]] = []
        self.pictures: list[str] = []

    def update_job_details(self, job_id: int, *args: Any, **fields: Any) -> Any:
        self.results.append({"job": job_id, **fields})
        return self.answer(fields)

    def add_job_picture_data(self, job_id: int, filename: str, data: bytes) -> Any:
        self.pictures.append(filename)
        return {"status": "ok"}


def invalid(status: int, code: str) -> Exception:
    body = {"status": "error", "code": code, "message": "The labels do not fit.", "fields": {}}
    return (BadRequest if status == 400 else Conflict)(status, "", body)


def success() -> Outcome:
    return Outcome(True, "Fitted.", {"training": ["a"], "test": ["a"], "validation": ["a"]}, 1.0)


def caller_for(api: ScriptedAPI) -> Caller:
    return Caller(api, "test", lambda: False)  # type: ignore[arg-type]


def test_a_result_refused_as_invalid_is_stored_as_a_failure_and_still_claims() -> None:
    def answer(fields: dict[str, Any]) -> Any:
        if fields["success"]:
            raise invalid(400, "invalid")
        return {"status": "ok", "stored": True, "next": NEXT}

    api = ScriptedAPI(answer)
    stored, following = post_result(caller_for(api), 7, success(), claim_next=True)
    assert stored is not None and stored.success is False
    assert stored.message == "The worker's result was refused: The labels do not fit."
    assert following == (8, {"algorithm": "knn"})
    assert [(call["success"], call["claim_next"]) for call in api.results] == [
        (True, True),
        (False, True),
    ]


def test_a_result_for_a_lost_job_is_dropped_and_claims_nothing() -> None:
    def answer(fields: dict[str, Any]) -> Any:
        raise invalid(409, "not_holder")

    api = ScriptedAPI(answer)
    assert post_result(caller_for(api), 7, success(), claim_next=True) == (None, None)
    assert len(api.results) == 1  # a conflict is not retried


def test_no_next_job_when_none_was_asked_for_or_none_is_queued() -> None:
    api = ScriptedAPI(lambda fields: {"status": "ok", "stored": True, "next": None})
    assert post_result(caller_for(api), 7, success(), claim_next=True)[1] is None
    api = ScriptedAPI(lambda fields: {"status": "ok", "stored": True})
    stored, following = post_result(caller_for(api), 7, success(), claim_next=False)
    assert stored is not None and stored.success and following is None


def test_the_stored_outcome_carries_the_servers_scores_not_the_workers() -> None:
    """The job's log line reads these: it must tell what the server stored."""
    summary = {"id": 7, "state": "done", "success": True, "score_test": 0.75}
    api = ScriptedAPI(lambda fields: {"status": "ok", "stored": True, "job": summary})
    worker_claim = success()  # claims a test score of 1.0
    stored, _ = post_result(caller_for(api), 7, worker_claim, claim_next=False)
    assert stored is not None and stored.score_test == 0.75 and stored.score_validation is None
    assert stored.labels == worker_claim.labels and api.results[0]["job"] == 7


def test_pictures_of_a_job_stored_as_failed_are_not_posted() -> None:
    api = ScriptedAPI(lambda fields: {"status": "ok"})
    poster = Poster(api, "test", lambda: False)  # type: ignore[arg-type]
    spec = JobSpec(7, "knn", {}, "accuracy", "1:v", True, 100)
    picture = [("regions.png", b"png")]
    poster.submit(PostTask(spec, Outcome(False, "refused"), time.monotonic(), picture))
    poster.submit(PostTask(spec, success(), time.monotonic(), picture))
    poster.close()
    assert api.pictures == ["regions.png"]  # the successful job's only
    assert poster.posted == 2
