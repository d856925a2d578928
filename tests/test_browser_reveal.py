"""The reveal as a show in a real browser (issue 11, item 2): the organizer reveals the final
ranking place by place on the projector (1920 x 1080), and a student's round page on a phone
(375 x 812) shows exactly the places revealed so far, without a reload, and the whole ranking
with the validation scores once the organizer ends the reveal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains

from tests.browser import USERS_SETUP, Browser, seeded_server
from tests.live import LiveServer
from tests.test_browser_room import CLOSE, FINISH, PHONE, PROJECTOR, TOO_WIDE, room_browser

pytestmark = [pytest.mark.live]

SETUP = (
    USERS_SETUP
    + """
import json
from mlcontest.contest import dataset_sources, queue, rounds
students = {}
for group_name, student in (("Alpha", "alice"), ("Beta", "bob"), ("Gamma", "dave")):
    group = Group.objects.create(name=group_name, public=True, created_by=olga)
    students[student] = user(student, Role.STUDENT, group)
wine = dataset_sources.store("wine", dataset_sources.from_sklearn("wine"))
round_ = rounds.create_round(olga, name="Wine", dataset=wine, metric="accuracy",
    allowed_algorithms=["knn", "svm"], reveal_show=True)
rounds.open_round(olga, round_)
jobs = [queue.submit_job(students[name], round_, "knn", {"n_neighbors": 5})
    for name in ("alice", "bob", "dave")]
print(json.dumps({"round": round_.pk, "jobs": [job.pk for job in jobs]}))
"""
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    with seeded_server(tmp_path, SETUP) as seeded:
        yield seeded


def final_groups(window: Browser) -> list[str] | None:
    """The groups of the final ranking's lines on the page, best first (None: the part was
    being replaced as it was read)."""
    try:
        return [
            row.get_attribute("data-group")
            for row in window.find_all("[data-part=reveal] .table.final tbody tr")
        ]
    except StaleElementReferenceException:
        return None


def part_html(window: Browser, name: str) -> str:
    """A live part's HTML ("" while it is being replaced, or the page reloads)."""
    try:
        return str(window.find(f"[data-part={name}]").get_attribute("innerHTML"))
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def shows(window: Browser, groups: list[str], what: str) -> None:
    window.wait(lambda d: final_groups(window) == groups, what)


def test_the_phone_follows_the_projector_place_by_place(
    server: tuple[LiveServer, dict[str, list[int] | int]],
) -> None:
    live, ids = server
    # Job k gets k labels wrong: Alpha first, Beta second, Gamma last, on both splits.
    live.run_python(FINISH.format(jobs=ids["jobs"]))
    with (
        room_browser(live.url, PROJECTOR) as projector,
        room_browser(live.url, PHONE) as phone,
    ):
        projector.sign_in("olga", "pw")
        projector.get(f"/rounds/{ids['round']}/projector/")
        phone.sign_in("alice", "pw")
        phone.get(f"/rounds/{ids['round']}/")
        phone.wait_for("[data-part=jobs] tr[data-state=done]")

        live.run_python(CLOSE.format(round=ids["round"]))
        # The close reloads the student's page once (the form goes); from then on it follows.
        phone.wait(lambda d: "being revealed" in part_html(phone, "status"), "the show's line")
        phone.mark_page()
        projector.wait_for("[data-reveal-next]")
        projector.mark_page()
        assert final_groups(projector) == [] and final_groups(phone) == []
        assert "Validation" not in part_html(phone, "jobs")
        projector.screenshot("reveal-show-start")

        # The last place, by the button; the next one by the space bar (a presenter's clicker).
        projector.click("[data-reveal-next]")
        shows(projector, ["Gamma"], "the last place on the projector")
        shows(phone, ["Gamma"], "the last place on the phone")
        assert "1 of 3 places so far" in part_html(phone, "reveal")
        ActionChains(projector.driver).send_keys(" ").perform()
        shows(projector, ["Beta", "Gamma"], "two places on the projector")
        shows(phone, ["Beta", "Gamma"], "two places on the phone")
        jobs_html = part_html(phone, "jobs")
        assert jobs_html and "Validation" not in jobs_html, "a validation score during the show"
        phone.screenshot("reveal-show-phone")
        projector.screenshot("reveal-show-projector")

        # The end of the show: everything, and the validation scores on the student's page.
        projector.click("[data-reveal-all]")
        shows(projector, ["Alpha", "Beta", "Gamma"], "the whole ranking on the projector")
        shows(phone, ["Alpha", "Beta", "Gamma"], "the whole ranking on the phone")
        phone.wait(lambda d: "Validation" in part_html(phone, "jobs"), "the validation column")
        assert "being revealed" not in part_html(phone, "status")
        assert not projector.find_all("[data-reveal-next], [data-reveal-all]")
        assert projector.same_page() and phone.same_page(), "a page was reloaded, not updated"
        assert phone.driver.execute_script(TOO_WIDE) <= 0
        assert projector.driver.execute_script(TOO_WIDE) <= 0
        phone.screenshot("reveal-show-phone-end")
        for window in (projector, phone):
            window.read_console()
            assert not window.console_errors, json.dumps(window.console_errors, indent=1)
