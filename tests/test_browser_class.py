"""A class played in headless Chromium against a real server and a real worker.

An organizer makes a dataset (preview first) and a round and opens it; two students in two
groups submit jobs, one with a bad parameter that the form refuses; a worker runs them; the
student's job list, the leaderboard and the projector view update without a reload; the round
closes and the reveal shows. No page logs a console error. Screenshots of the main pages go to
docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import USERS_SETUP, Browser, browser, skip_without_browser
from tests.live import LiveServer
from tests.worker_support import WorkerProcess

pytestmark = [pytest.mark.live]

SETUP = (
    USERS_SETUP
    + """
alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
beta = Group.objects.create(name="Beta", public=False, created_by=olga)
user("alice", Role.STUDENT, alpha)
user("bob", Role.STUDENT, beta)
user("carol", Role.STUDENT)
"""
)


def job_count(server: LiveServer) -> int:
    code = "from mlcontest.contest.models import Job\nprint(Job.objects.count())"
    return int(server.run_python(code).strip().splitlines()[-1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    skip_without_browser()
    (tmp_path / "server").mkdir()
    with LiveServer(tmp_path / "server") as live:
        live.run_python(SETUP)
        yield live


def create_dataset(organizer: Browser) -> None:
    organizer.get("/manage/datasets/new/")
    organizer.fill("#id_name", "Moons")
    organizer.click("input[name=source][value=generate]")
    organizer.select("#id_kind", "moons")
    organizer.fill("#id_n_points", "240")
    organizer.fill("#id_noise", "0.25")
    organizer.fill("#id_seed", "1")
    organizer.submit_and_wait("button[value=preview]")
    organizer.wait_for("figure[data-preview] svg circle")
    assert "240 points" in organizer.driver.page_source
    organizer.screenshot("dataset-preview")
    organizer.submit_and_wait("button[value=save]")
    organizer.wait_text(".messages", "Dataset Moons saved")


def create_and_open_round(organizer: Browser) -> int:
    organizer.get("/manage/rounds/new/")
    organizer.fill("#id_name", "Lecture 3: moons")
    organizer.fill("#id_description", "Separate the two moons. Scaling may help.")
    organizer.select("#id_dataset", text="Moons")
    organizer.select("#id_metric", "accuracy")
    for name in ("knn", "svm", "decision_tree"):
        organizer.click(f"input[name=allowed_algorithms][value={name}]")
    organizer.fill("#id_job_quota", "10")
    organizer.click("#id_final_choice_allowed")
    organizer.screenshot("round-new")
    organizer.submit_and_wait("form button[type=submit].primary")
    match = re.search(r"/manage/rounds/(\d+)/", organizer.driver.current_url)
    assert match, organizer.driver.current_url
    organizer.submit_and_wait("form[action$='/open/'] button")
    organizer.wait_text("h1 .badge", "open")
    organizer.screenshot("manage-round")
    return int(match.group(1))


def submit_job(student: Browser, algorithm: str, **params: str) -> None:
    student.select("#id_algorithm", algorithm)
    for name, value in params.items():
        student.fill(f"#id_{algorithm}-{name}", value)
    student.submit_and_wait("#submit-form button[type=submit]")


def test_a_class_plays_a_round(server: LiveServer, tmp_path: Path) -> None:
    worker: WorkerProcess | None = None
    with browser(server.url) as organizer, browser(server.url) as student:
        try:
            organizer.sign_in("olga", "pw")
            create_dataset(organizer)
            round_id = create_and_open_round(organizer)
            round_page = f"/rounds/{round_id}/"

            # The projector: from here on it must update by itself.
            organizer.get(f"/rounds/{round_id}/projector/")
            organizer.wait_text(".projector-status", "Open until")
            organizer.mark_page()

            # Alice: a bad parameter is refused next to its field, and nothing is queued.
            student.sign_in("alice", "pw")
            student.get("/groups/")
            student.screenshot("groups")
            student.get(round_page)
            student.wait_for("svg.scatter circle")
            submit_job(student, "knn", **{"n_neighbors": "0"})
            error = student.wait_for("#id_knn-n_neighbors_error")
            assert "must be at least 1" in error.text
            student.expect_refusal(400)  # the refused form's status, not a fault of the page
            field = student.find("#id_knn-n_neighbors")
            assert field.get_attribute("aria-invalid") == "true"
            assert "id_knn-n_neighbors_error" in field.get_attribute("aria-describedby")
            student.screenshot("form-error")
            assert job_count(server) == 0

            # A good job waits in the queue: no worker runs yet.
            submit_job(student, "knn", n_neighbors="7")
            student.wait_for("tr[data-state=queued]")
            student.mark_page()
            organizer.wait_text("[data-part=newest]", "Alpha")

            # The worker starts; Alice's list, her leaderboard and the projector follow.
            worker = WorkerProcess(
                server.url, tmp_path / "worker.log", pictures=True, name="lab-pc-1"
            )
            student.wait_for("[data-part=jobs] tr[data-state=done]", timeout=90)
            student.wait_text("[data-part=board]", "Alpha")
            assert student.same_page(), "the job list was reloaded, not updated"
            organizer.wait_text("[data-part=board]", "Alpha")
            assert organizer.same_page(), "the projector was reloaded, not updated"
            student.wait_for("[data-history-chart] path.series")
            student.screenshot("round")

            # The job page: scores and, a moment later, pictures.
            student.click("[data-part=jobs] tr[data-state=done] a")
            student.wait_for("h1")
            student.wait_for(".pictures img", timeout=60)
            student.wait_text("dl.scores", "0.")
            student.screenshot("job")
            student.sign_out()

            # Bob, in the other group, with an SVM.
            student.sign_in("bob", "pw")
            student.get(round_page)
            submit_job(student, "svm", C="3")
            student.mark_page()
            student.wait_for("[data-part=jobs] tr[data-state=done]", timeout=60)
            student.wait_text("[data-part=board]", "Beta")
            assert student.same_page()
            organizer.wait_text("[data-part=board]", "Beta")
            organizer.wait_text("[data-part=newest]", "Beta")
            assert organizer.same_page()
            organizer.screenshot("projector")
            student.sign_out()

            # Olga closes the round from her laptop; the projector shows the reveal by itself.
            student.sign_in("olga", "pw")
            student.get("/manage/")
            student.screenshot("overview")
            student.get(f"/manage/rounds/{round_id}/")
            student.submit_and_wait("form[action$='/close/'] button")
            # The round form's default is the show: the places come one by one, on the server.
            organizer.wait_for("[data-reveal-next]")
            assert organizer.same_page(), "the projector was reloaded for the reveal"
            assert not organizer.find_all(".table.final tbody tr")
            organizer.click("[data-reveal-next]")
            organizer.wait(
                lambda d: len(organizer.find_all(".table.final tbody tr")) == 1,
                "one place revealed",
            )
            organizer.click("[data-reveal-all]")
            organizer.wait(
                lambda d: len(organizer.find_all(".table.final tbody tr")) == 2, "all revealed"
            )
            assert not organizer.find_all("[data-reveal-next], [data-reveal-all]")
            final_rows = organizer.find_all(".table.final tbody tr")
            assert {row.get_attribute("data-group") for row in final_rows} == {"Alpha", "Beta"}
            organizer.screenshot("reveal")

            # The CSV export has both jobs.
            export = student.driver.execute_async_script(
                "const done = arguments[0];"
                f"fetch('/manage/rounds/{round_id}/export.csv').then(r => r.text()).then(done);"
            )
            assert len(list(csv.reader(io.StringIO(export)))) == 3, export  # header, two jobs

            # Every page the students and the organizer saw: no console error.
            organizer.read_console()
            student.read_console()
            errors = organizer.console_errors + student.console_errors
            assert not errors, json.dumps(errors, indent=1)
        finally:
            if worker is not None:
                worker.cleanup()
