"""Bring your own predictions in headless Chromium (issue 15, item 4): the organizer allows
uploads on the manage page; a student reads the unlabelled test and validation file, uploads a
file with a wrong row (refused, naming the row, nothing stored) and then a good one, which
appears as a finished job on the round page and the leaderboard without any worker running,
and whose page says "uploaded predictions" instead of parameters. No console error."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accessibility import blocking, report, run_axe
from tests.browser import USERS_SETUP, Browser, browser, seeded_server
from tests.live import LiveServer

pytestmark = [pytest.mark.live]

SETUP = (
    USERS_SETUP
    + """
import json
from mlcontest.contest import datasets, rounds
from tests.conftest import tiny_table
alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
user("alice", Role.STUDENT, alpha)
tiny = datasets.store_dataset("tiny", tiny_table())
round_ = rounds.create_round(olga, name="Own models", dataset=tiny, metric="accuracy")
rounds.open_round(olga, round_)
loaded = datasets.load_points(tiny)
truth = [[p, s, label] for p, s, label in zip(loaded.positions, loaded.splits, loaded.labels)]
print(json.dumps({"round": round_.pk, "truth": truth}))
"""
)

JOBS = "from mlcontest.contest.models import Job\nprint(Job.objects.count())"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict]]:
    with seeded_server(tmp_path, SETUP) as seeded:
        yield seeded


def accessible(window: Browser, page: str) -> None:
    """No serious or critical axe finding on the page as it is now."""
    found = blocking(run_axe(window))
    assert not found, report(page, found)


def write(path: Path, rows: list[tuple[int, str]]) -> str:
    path.write_text("id,label\n" + "".join(f"{i},{label}\n" for i, label in rows))
    return str(path)


def test_a_student_uploads_predictions_made_anywhere(
    server: tuple[LiveServer, dict],
    tmp_path: Path,
) -> None:
    live, ids = server
    round_id = ids["round"]
    truth = ids["truth"]
    with browser(live.url) as organizer:
        organizer.sign_in("olga", "pw")
        organizer.get(f"/manage/rounds/{round_id}/")
        assert organizer.find("[data-uploads]").get_attribute("data-uploads") == "off"
        organizer.submit_and_wait("form[action$='/uploads/'] button")
        assert organizer.find("[data-uploads]").get_attribute("data-uploads") == "on"
        accessible(organizer, "manage page with its switches")
        assert not organizer.console_errors, organizer.console_errors

    with browser(live.url) as student:
        student.sign_in("alice", "pw")
        student.get(f"/rounds/{round_id}/")
        accessible(student, "round page with the upload form")
        # What the student downloads: the ids to predict, with no label column.
        text = student.driver.execute_async_script(
            "const done = arguments[0];"
            f"fetch('/rounds/{round_id}/data/test-validation.csv').then(r => r.text()).then(done);"
        )
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert rows[0] == ["id", "split", "x", "y"]
        hidden = {int(row[0]) for row in rows[1:]}
        assert hidden == {p for p, split, _ in truth if split != "training"}

        # A training point's id in row 3: refused, naming the row; nothing stored.
        training_id = next(p for p, split, _ in truth if split == "training")
        predicted = [(p, label) for p, split, label in truth if split != "training"]
        bad = [predicted[0], (training_id, "a"), *predicted[2:]]
        student.find("#upload-file").send_keys(write(tmp_path / "bad.csv", bad))
        student.submit_and_wait("#upload-form button[type=submit]")
        student.wait_text(".message.error", "Row 3")
        accessible(student, "round page with a refusal")
        assert f"id {training_id} is a training point" in student.find(".message.error").text
        assert live.run_python(JOBS).strip() == "0"

        # Two wrong labels: a score below 1 on the board, with no worker running.
        wrong = [
            (p, "b" if label == "a" else "a") if n < 2 else (p, label)
            for n, (p, label) in enumerate(predicted)
        ]
        student.find("#upload-file").send_keys(write(tmp_path / "mine.csv", wrong))
        student.submit_and_wait("#upload-form button[type=submit]")
        # The notice names the job; the page's script then follows it to "done" with its score.
        student.wait_for(".message.success.job-notice")
        student.wait_text("[data-part=jobs] tr[data-state=done]", "uploaded predictions")
        score = student.find("[data-part=jobs] tr[data-state=done] [data-test]").text
        assert score and score != "1.000"
        student.wait_text("[data-part=board] tr[data-group=Alpha]", score)

        student.click("[data-part=jobs] tr[data-state=done] a")
        student.wait_for("[data-uploaded]")
        assert "mine.csv" in student.find("[data-uploaded]").text
        page = student.find("main").text
        assert "Parameters" not in page and "Submit again with changes" not in page
        assert "hidden until the round closes" in page
        accessible(student, "uploaded job page")
        student.screenshot("uploaded-predictions")
        assert not student.console_errors, student.console_errors
    stored = json.loads(
        live.run_python(
            "import json\nfrom mlcontest.contest.models import Job\n"
            "j = Job.objects.get()\n"
            "print(json.dumps([j.algorithm, j.state, j.worker_id, j.params]))"
        )
        .strip()
        .splitlines()[-1]
    )
    assert stored == ["uploaded", "done", None, {"file": "mine.csv", "rows": len(predicted)}]
