"""The round page and the projector in a lecture room, at the three sizes the room has: a phone
(375 x 812), a laptop (1280 x 900) and a projector (1920 x 1080).

Issue 11, items 1, 3 and 7: no student page is wider than a phone and the submit button takes
its own taps; the form keeps the job just submitted and its notice follows the job; the form is
in the first screen of a laptop; 404 pages have the site's layout; a hint when jobs wait and no
worker runs; the projector shows its chart, every group and, once revealed, the algorithms.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser import USERS_SETUP, Browser, browser, seeded_server
from tests.live import LiveServer

pytestmark = [pytest.mark.live]

PHONE = (375, 812)
LAPTOP = (1280, 900)
PROJECTOR = (1920, 1080)

SETUP = (
    USERS_SETUP
    + """
import json
from mlcontest.contest import dataset_sources, queue, rounds
# Six groups as in a lecture; Gamma (private) has not played.
students = {}
for group_name, public, student in (("Alpha", True, "alice"), ("Beta", True, "bob"),
        ("Gamma", False, "dave"), ("Delta", True, "erin"), ("Epsilon", True, "frank"),
        ("Zeta", True, "grace")):
    group = Group.objects.create(name=group_name, public=public, created_by=olga)
    students[student] = user(student, Role.STUDENT, group)
wine = dataset_sources.store("wine", dataset_sources.from_sklearn("wine"))
round_ = rounds.create_round(olga, name="Wine", dataset=wine, metric="accuracy",
    allowed_algorithms=["knn", "svm", "decision_tree"], job_quota=20)
rounds.open_round(olga, round_)
plays = [("alice", "knn", {"n_neighbors": 5}), ("bob", "svm", {"C": 2.0}),
    ("erin", "decision_tree", {"max_depth": 2}), ("frank", "knn", {"n_neighbors": 1}),
    ("grace", "svm", {"C": 0.1}), ("erin", "knn", {"n_neighbors": 9}),
    ("bob", "decision_tree", {"max_depth": 4}), ("grace", "knn", {"n_neighbors": 3})]
jobs = [queue.submit_job(students[name], round_, algorithm, params)
    for name, algorithm, params in plays]
alpha = Membership.objects.get(user=students["alice"]).group_id
print(json.dumps({"round": round_.pk, "alice_job": jobs[0].pk, "bob_job": jobs[1].pk,
    "jobs": [job.pk for job in jobs], "group": alpha}))
"""
)

# Finish jobs {jobs} as walter would, through the real result path (the server scores the
# labels); job k gets k test and validation labels wrong, so the scores differ.
FINISH = """
from datetime import timedelta
from django.utils import timezone
from mlcontest.contest import datasets, result_fields, results
from mlcontest.contest.models import Job, JobState, User
walter = User.objects.get(username="walter")
for wrong, pk in enumerate({jobs}):
    now = timezone.now()
    Job.objects.filter(pk=pk).update(state=JobState.RUNNING, worker=walter, worker_key="w-1",
        claimed_at=now, lease_expires_at=now + timedelta(seconds=60), attempts=1)
    job = Job.objects.get(pk=pk)
    loaded = datasets.load_points(job.round.dataset)
    labels = {{split: loaded.labels_of(split) for split in datasets.SPLITS}}
    first, second = sorted(set(labels["training"]))[:2]
    for split in ("test", "validation"):
        labels[split] = [(first if label != first else second) if i < wrong else label
            for i, label in enumerate(labels[split])]
    payload = result_fields.parse_result({{"success": True, "labels_training": labels["training"],
        "labels_test": labels["test"], "labels_validation": labels["validation"]}})
    results.record_result(walter, job, "w-1", payload)
"""

WORKER_SEEN = """
from mlcontest.contest.models import User, WorkerSeen
WorkerSeen.objects.create(worker_key="w-1", user=User.objects.get(username="walter"),
    name="lab-pc-1")
"""

CLOSE = """
from mlcontest.contest import rounds
from mlcontest.contest.models import Round, User
rounds.close_round(User.objects.get(username="olga"), Round.objects.get(pk={round}))
"""

TOO_WIDE = "return document.documentElement.scrollWidth - window.innerWidth;"
# Whether a tap at the element's centre lands on the element (or inside it), once scrolled in.
TAPPABLE = """
const el = document.querySelector(arguments[0]);
el.scrollIntoView({block: "center"});
const box = el.getBoundingClientRect();
const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
return hit === el || el.contains(hit);
"""
BOX = """
const b = document.querySelector(arguments[0]).getBoundingClientRect();
return [b.top, b.bottom];
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    with seeded_server(tmp_path, SETUP) as seeded:
        yield seeded


@contextmanager
def room_browser(url: str, size: tuple[int, int]) -> Iterator[Browser]:
    """A browser whose viewport is exactly ``size`` (a window's size includes its frame and
    headless Chromium keeps windows at least 500 px wide); the phone is a touch device."""
    width, height = size
    phone = width < 500
    with browser(url, max(width, 500), height + 200) as window:
        window.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": phone},
        )
        if phone:
            window.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
        yield window


def box(window: Browser, css: str) -> tuple[float, float]:
    top, bottom = window.driver.execute_script(BOX, css)
    return float(top), float(bottom)


def at_top(window: Browser, path: str) -> None:
    window.get(path)
    window.wait_for("main")
    window.driver.execute_script("window.scrollTo(0, 0);")


def submit_svm(window: Browser, c: str) -> None:
    window.select("#id_algorithm", "svm")
    window.fill("#id_svm-C", c)
    assert window.driver.execute_script(TAPPABLE, "#submit-form button[type=submit]")
    window.submit_and_wait("#submit-form button[type=submit]")


def assert_form_kept(window: Browser, c: str) -> None:
    """After a submit the form shows the algorithm and parameters just submitted."""
    assert window.find("#id_algorithm").get_attribute("value") == "svm"
    assert float(window.find("#id_svm-C").get_attribute("value")) == float(c)
    shown = [
        el.get_attribute("data-algorithm")
        for el in window.find_all("fieldset.params")
        if el.is_displayed()
    ]
    assert shown == ["svm"]


def newest_job(window: Browser) -> int:
    return int(window.find("[data-part=jobs] tr[data-job]").get_attribute("data-job"))


def follow_notice(window: Browser, live: LiveServer, job: int) -> None:
    """The "Job N is queued." notice is in view after the submit and changes, without a
    reload, when the job is done."""
    window.wait_text(".messages", f"Job {job} is queued")
    top, bottom = box(window, ".messages")
    assert top >= 0 and bottom <= window.driver.execute_script("return window.innerHeight;")
    window.mark_page()
    live.run_python(FINISH.format(jobs=[job]))
    window.wait_text(".messages", f"Job {job} is done")
    assert "queued" not in window.find(".messages").text
    assert window.same_page()


def test_phone(server: tuple[LiveServer, dict[str, Any]]) -> None:
    live, ids = server
    round_page = f"/rounds/{ids['round']}/"
    problems: list[str] = []
    with room_browser(live.url, PHONE) as phone:
        phone.sign_in("alice", "pw")
        live.run_python(FINISH.format(jobs=[ids["alice_job"]]))
        for path in (
            "/rounds/",
            "/groups/",
            f"/groups/{ids['group']}/",
            f"/jobs/{ids['alice_job']}/",
            f"/jobs/{ids['bob_job']}/",  # another group's job: the 404 page
            "/help/",
            round_page,
        ):
            at_top(phone, path)
            if path == f"/jobs/{ids['bob_job']}/":
                phone.read_console()
                phone.console_errors.clear()  # the 404 itself, logged by the browser
            overflow = phone.driver.execute_script(TOO_WIDE)
            if overflow > 0:
                problems.append(f"{path}: {overflow} px wider than the phone")
            phone.screenshot("room-phone-" + path.strip("/").replace("/", "-"))
        assert not problems, "\n".join(problems)
        phone.wait_for("[data-history-chart] path.series")
        phone.screenshot("room-phone-round-top")
        submit_svm(phone, "3")
        assert_form_kept(phone, "3")
        assert phone.driver.execute_script(TOO_WIDE) <= 0
        follow_notice(phone, live, newest_job(phone))
        phone.screenshot("room-phone-round-submitted")
        # The job list's Test column, the board's Jobs column and the chart are all in view.
        for css in (
            "[data-part=jobs] table",
            "[data-part=board] table",
            "[data-history-chart] svg",
        ):
            right = phone.driver.execute_script(
                "return document.querySelector(arguments[0]).getBoundingClientRect().right;", css
            )
            assert right <= PHONE[0], f"{css} ends at {right} px"
        phone.driver.execute_script("document.getElementById('jobs').scrollIntoView();")
        phone.screenshot("room-phone-round-jobs")

        # After the reveal the final ranking (with its algorithm column) fits the phone too.
        live.run_python(CLOSE.format(round=ids["round"]))
        at_top(phone, round_page)
        final = phone.wait_for(".table.final")
        assert "ALGORITHM" in final.text.upper()
        assert phone.driver.execute_script(TOO_WIDE) <= 0
        phone.driver.execute_script("document.querySelector('.table.final').scrollIntoView();")
        phone.screenshot("room-phone-round-final")
        right = phone.driver.execute_script(
            "return document.querySelector('.table.final').getBoundingClientRect().right;"
        )
        assert right <= PHONE[0], f"the final ranking ends at {right} px"
        phone.read_console()
        assert not phone.console_errors, json.dumps(phone.console_errors, indent=1)


def test_laptop(server: tuple[LiveServer, dict[str, Any]]) -> None:
    live, ids = server
    round_page = f"/rounds/{ids['round']}/"
    with room_browser(live.url, LAPTOP) as laptop:
        laptop.sign_in("alice", "pw")
        at_top(laptop, "/rounds/")
        assert "closed by hand" not in laptop.find("main").text
        assert "open until the organizer closes it" in laptop.find("main").text.lower()

        # Another group's job: a 404 in the site's layout.
        at_top(laptop, f"/jobs/{ids['bob_job']}/")
        assert laptop.find_all("header.top nav a.brand")
        assert "Not found" in laptop.find("main h1").text
        laptop.screenshot("room-laptop-404")
        laptop.read_console()
        laptop.console_errors.clear()  # the 404 itself, logged by the browser

        # The form is within the first screen, the dataset card after it.
        at_top(laptop, round_page)
        laptop.screenshot("room-laptop-round-top")
        height = laptop.driver.execute_script("return window.innerHeight;")
        assert box(laptop, "#submit-title")[0] < height
        assert box(laptop, "#submit-form button[type=submit]")[1] <= height
        assert box(laptop, "#submit-title")[0] < box(laptop, "#dataset-title")[0]

        # Alice's job waits and no worker has been seen: the page says so, live.
        laptop.wait_for("[data-part=jobs] [data-no-worker]")
        laptop.screenshot("room-laptop-round")
        laptop.mark_page()
        live.run_python(WORKER_SEEN)
        live.run_python(FINISH.format(jobs=[ids["alice_job"]]))
        laptop.wait(lambda d: not laptop.find_all("[data-no-worker]"), "the hint to go")
        assert laptop.same_page()

        submit_svm(laptop, "4")
        assert_form_kept(laptop, "4")
        follow_notice(laptop, live, newest_job(laptop))
        laptop.screenshot("room-laptop-round-submitted")
        laptop.read_console()
        assert not laptop.console_errors, json.dumps(laptop.console_errors, indent=1)


def test_projector(server: tuple[LiveServer, dict[str, Any]]) -> None:
    live, ids = server
    live.run_python(FINISH.format(jobs=ids["jobs"][:-1]))  # the last one still waits
    live.run_python(WORKER_SEEN)
    with room_browser(live.url, PROJECTOR) as projector:
        projector.sign_in("olga", "pw")
        at_top(projector, f"/rounds/{ids['round']}/projector/")
        projector.wait_for("[data-history-chart] path.series")
        height = projector.driver.execute_script("return window.innerHeight;")
        assert box(projector, "[data-history-chart] svg")[1] <= height
        assert box(projector, "[data-history-chart] .chart-legend")[1] <= height
        assert projector.driver.execute_script(TOO_WIDE) <= 0
        # Every group, also one without a job; no algorithms before the reveal.
        groups = {
            row.get_attribute("data-group")
            for row in projector.find_all("[data-part=board] tbody tr")
        }
        assert {"Alpha", "Beta", "Gamma"} <= groups
        assert "Algorithm" not in projector.find("[data-part=board] thead").text
        projector.screenshot("room-projector")

        projector.mark_page()
        live.run_python(CLOSE.format(round=ids["round"]))
        # A round made by script has no show: everything is revealed at once, no buttons.
        projector.wait_for(".table.final tbody tr")
        assert not projector.find_all("[data-reveal-next], [data-reveal-all]")
        assert projector.same_page()
        head = projector.find(".table.final thead").text
        assert "ALGORITHM" in head.upper()
        cells = {
            row.get_attribute("data-group"): row.text
            for row in projector.find_all(".table.final tbody tr")
        }
        assert "knn" in cells["Alpha"] and "svm" in cells["Beta"], cells
        assert "Gamma" not in cells  # no job, no validation score
        projector.screenshot("room-projector-reveal")
        projector.read_console()
        assert not projector.console_errors, json.dumps(projector.console_errors, indent=1)
