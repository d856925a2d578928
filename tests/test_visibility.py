"""One visibility policy (issue 10, item 4): the matrix of roles x views, walked through the three
adapters (web pages, JSON API, seed protocol), before the reveal, during a reveal's show (one
place out of two revealed on the projector), after it, and while a revealed round is reopened
for practice. Each adapter must allow or deny a view exactly as the table
below says (docs/rules.md, "What each role can see"); an adapter that has no such view at all is
left out for it (``None``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from mlcontest.contest import pictures, queue, reveal_show, rounds
from mlcontest.contest.models import Job, User
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.leaderboard_helpers import finish
from tests.protocol_helpers import b64, logged_in, ok_json, png_bytes

# Roles, each played by a named user of conftest: alice's group Alpha owns the job looked at.
ROLES = {
    "anonymous": None,
    "student_of_the_group": "alice",
    "student_of_another_group": "bob",
    "student_without_group": "carol",
    "worker": "walter",
    "organizer": "olga",
}
STATES = ("open", "in_show", "revealed", "reopened")
STAGE_OF = {"open": 0, "in_show": 1, "revealed": 2, "reopened": 2}

# view -> role -> (before the reveal, during its show, after it). Written out, not computed
# from the policy.
NO, YES, AT_REVEAL = (False, False, False), (True, True, True), (False, False, True)
AT_THE_SHOW = (False, True, True)  # the final ranking: during the show, the places out so far
EXPECTED: dict[str, dict[str, tuple[bool, bool, bool]]] = {
    "recipes": {  # other groups' algorithms on the boards
        "anonymous": NO,
        "student_of_the_group": AT_REVEAL,
        "student_of_another_group": AT_REVEAL,
        "student_without_group": AT_REVEAL,
        "worker": AT_REVEAL,
        "organizer": YES,
    },
    "validation": {  # validation scores
        "anonymous": NO,
        "student_of_the_group": AT_REVEAL,
        "student_of_another_group": AT_REVEAL,
        "student_without_group": AT_REVEAL,
        "worker": AT_REVEAL,
        "organizer": YES,
    },
    "final": {  # the final ranking (the organizer's look before the reveal: a preview)
        "anonymous": NO,
        "student_of_the_group": AT_THE_SHOW,
        "student_of_another_group": AT_THE_SHOW,
        "student_without_group": AT_THE_SHOW,
        "worker": AT_THE_SHOW,
        "organizer": YES,
    },
    "alpha_job": {  # Alpha's job: other groups' jobs are for organizers only
        "anonymous": NO,
        "student_of_the_group": YES,
        "student_of_another_group": NO,
        "student_without_group": NO,
        "worker": NO,
        "organizer": YES,
    },
    "job_owner": {  # which group and user Alpha's job belongs to
        "anonymous": NO,
        "student_of_the_group": YES,
        "student_of_another_group": NO,
        "student_without_group": NO,
        "worker": NO,
        "organizer": YES,
    },
}


@dataclass
class World:
    contest: Contest
    alpha_job: Job  # alice's, with a picture
    picture_url: str


def build(contest: Contest, state: str) -> World:
    """Alpha (knn) and Beta (decision tree) each have a finished job; a spare job of Beta waits
    in the queue (for a result posted in the seed's probe). Then the round is closed, or closed
    and reopened, or (``in_show``) closed with a show and its last place revealed."""
    if state == "in_show":
        rounds.update_round(contest.olga, contest.round, reveal_show=True)
    alpha_job = finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    beta_job = queue.submit_job(contest.bob, contest.round, "decision_tree", {})
    finish(contest, beta_job, test_wrong=1, validation_wrong=0)
    submit(contest, contest.bob)  # the spare, queued
    picture = pictures.add_picture(contest.walter, alpha_job, "worker-1", "p.png", b64(png_bytes()))
    if state in ("revealed", "reopened", "in_show"):
        rounds.close_round(contest.olga, contest.round)
    if state == "in_show":
        reveal_show.reveal_places(contest.olga, rounds.get_round(contest.round.pk), 1)
    if state == "reopened":
        rounds.open_round(contest.olga, rounds.get_round(contest.round.pk))
    return World(contest, alpha_job, picture.image.url)


def client_for(world: World, role: str) -> tuple[Client, User | None]:
    username = ROLES[role]
    user = getattr(world.contest, username) if username else None
    return logged_in(user), user


# --- the web pages ---------------------------------------------------------------------------


def live_parts(world: World, client: Client) -> dict[str, str] | None:
    """The round page's parts as the page's live poll renders them (None: no page)."""
    response = client.get(f"/rounds/{world.contest.round.pk}/live/")
    if response.status_code != 200:
        return None
    parts: dict[str, str] = response.json()["parts"]
    return parts


def web_recipes(world: World, client: Client, user: User | None) -> bool | None:
    parts = live_parts(world, client)
    return parts is not None and "decision_tree" in parts["board"]


def web_validation(world: World, client: Client, user: User | None) -> bool | None:
    """The job list's column, or the final ranking's validation scores beyond the places a
    show has revealed (Beta's is the first place: out only when the show ends)."""
    parts = live_parts(world, client)
    if parts is None:
        return False
    return '<th scope="col">Validation' in parts["jobs"] or 'data-group="Beta"' in parts["reveal"]


def web_final(world: World, client: Client, user: User | None) -> bool | None:
    parts = live_parts(world, client)
    return parts is not None and 'class="table final' in parts["reveal"]


def web_alpha_job(world: World, client: Client, user: User | None) -> bool | None:
    return client.get(f"/jobs/{world.alpha_job.pk}/").status_code == 200


def web_job_owner(world: World, client: Client, user: User | None) -> bool | None:
    response = client.get(f"/jobs/{world.alpha_job.pk}/")
    return response.status_code == 200 and "submitted by alice" in response.content.decode()


# --- the JSON API ----------------------------------------------------------------------------


def api_board(world: World, client: Client) -> dict[str, Any] | None:
    response = client.get(f"/api/rounds/{world.contest.round.pk}/leaderboard/")
    return response.json() if response.status_code == 200 else None


def beta_line(board: dict[str, Any]) -> dict[str, Any]:
    return next(line for line in board["standings"] if line["group"] == "Beta")


def api_recipes(world: World, client: Client, user: User | None) -> bool | None:
    board = api_board(world, client)
    return board is not None and beta_line(board).get("algorithm") == "decision_tree"


def api_validation(world: World, client: Client, user: User | None) -> bool | None:
    board = api_board(world, client)
    return board is not None and "score_validation" in beta_line(board)


def api_final(world: World, client: Client, user: User | None) -> bool | None:
    return client.get(f"/api/rounds/{world.contest.round.pk}/final/").status_code == 200


def api_alpha_job(world: World, client: Client, user: User | None) -> bool | None:
    single = client.get(f"/api/jobs/{world.alpha_job.pk}/").status_code == 200
    listed = client.get(f"/api/rounds/{world.contest.round.pk}/jobs/")
    in_list = listed.status_code == 200 and world.alpha_job.pk in {
        job["id"] for job in listed.json()["jobs"]
    }
    assert single == in_list, "one job and the list of jobs disagree"
    return single


def api_job_owner(world: World, client: Client, user: User | None) -> bool | None:
    response = client.get(f"/api/jobs/{world.alpha_job.pk}/")
    if response.status_code != 200:
        return False
    job = response.json()
    return (job.get("group"), job.get("user")) == ("Alpha", "alice")


# --- the seed protocol -----------------------------------------------------------------------


def seed_validation(world: World, client: Client, user: User | None) -> bool | None:
    """The seed shows scores only in the answer to a worker's result."""
    if user is None or not user.is_worker:
        return None  # no seed endpoint shows this role a score
    job_id = ok_json(client.post("/actions/ping/"))
    assert job_id is not None, "the spare job should be waiting"
    fields = result_fields(true_labels(world.contest.dataset))
    answer = ok_json(client.post(f"/actions/update_job_details/{job_id}.json/", fields))
    return "score_validation" in answer["job"]


def seed_alpha_job(world: World, client: Client, user: User | None) -> bool | None:
    return client.get(world.picture_url).status_code == 200


Probe = Callable[[World, Client, "User | None"], "bool | None"]
PROBES: dict[str, dict[str, Probe | None]] = {
    "web": {
        "recipes": web_recipes,
        "validation": web_validation,
        "final": web_final,
        "alpha_job": web_alpha_job,
        "job_owner": web_job_owner,
    },
    "api": {
        "recipes": api_recipes,
        "validation": api_validation,
        "final": api_final,
        "alpha_job": api_alpha_job,
        "job_owner": api_job_owner,
    },
    # The seed protocol has no boards and no final ranking, and names no job's owner to anyone
    # (see test_worker_answers_never_name_the_owner).
    "seed": {
        "recipes": None,
        "validation": seed_validation,
        "final": None,
        "alpha_job": seed_alpha_job,
        "job_owner": None,
    },
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_adapter_follows_the_policy(contest: Contest, role: str, state: str) -> None:
    world = build(contest, state)
    client, user = client_for(world, role)
    stage = STAGE_OF[state]
    checked, wrong = 0, []
    for adapter, probes in PROBES.items():
        for view, probe in probes.items():
            if probe is None:
                continue
            seen = probe(world, client, user)
            if seen is None:
                continue
            checked += 1
            expected = EXPECTED[view][role][stage]
            if seen != expected:
                wrong.append(f"{adapter}/{view}: {'shown' if seen else 'hidden'}")
    assert not wrong, f"{role} ({state}) sees against the policy: {wrong}"
    assert checked >= 9


def test_worker_answers_never_name_the_owner(contest: Contest) -> None:
    """A worker (lab PCs are within students' reach) must not learn whose job it runs."""
    submit(contest, contest.alice)
    second = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    claimed = ok_json(worker.post("/actions/ping/", {"with_params": "1"}))
    answers = [
        claimed,
        ok_json(worker.post(f"/actions/get_job_params/{second.pk}.json/")),
    ]
    fields = {**result_fields(true_labels(contest.dataset)), "next": "1"}
    answers.append(
        ok_json(worker.post(f"/actions/update_job_details/{claimed['id']}.json/", fields))
    )
    assert answers[-1]["next"]["id"] == second.pk
    for answer in answers:
        text = json.dumps(answer)
        for owner in ("alice", "Alpha", '"group"', '"user"'):
            assert owner not in text, (owner, answer)
