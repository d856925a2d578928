"""Focused browser checks over the main pages, on a phone-sized screen: every form field has a
label, no page is wider than the screen, the countdown counts, the algorithm switch shows only
the chosen algorithm's fields, and no page logs a console error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Browser, browser, seeded_server
from tests.live import LiveServer

pytestmark = [pytest.mark.live]

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from mlcontest.contest import dataset_sources, queue, rounds
from mlcontest.contest.models import Group, Job, Membership, Role, User

olga = User.objects.create_user("olga", password="pw", role=Role.ORGANIZER)
alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
alice = User.objects.create_user("alice", password="pw", role=Role.STUDENT)
Membership.objects.create(user=alice, group=alpha)
wine = dataset_sources.store("wine", dataset_sources.from_sklearn("wine"))
round_ = rounds.create_round(olga, name="Wine", dataset=wine, metric="accuracy",
    ends_at=timezone.now() + timedelta(minutes=30))
rounds.open_round(olga, round_)
job = queue.submit_job(alice, round_, "knn", {"n_neighbors": 3})
Job.objects.filter(pk=job.pk).update(state="failed", success=False, finished_at=timezone.now(),
    message="ValueError: something went wrong")
print(json.dumps({"round": round_.pk, "job": job.pk, "group": alpha.pk}))
"""

# A form control is labelled by a <label>, aria-label or aria-labelledby; buttons by their text.
UNLABELLED = """
const bad = [];
for (const el of document.querySelectorAll('input, select, textarea, button')) {
  if (el.type === 'hidden' || el.closest('[hidden]')) continue;
  if (el.tagName === 'BUTTON') {
    if (!el.textContent.trim() && !el.getAttribute('aria-label')) bad.push(el.outerHTML);
    continue;
  }
  if (el.labels && el.labels.length) continue;
  if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) continue;
  bad.push(el.outerHTML);
}
return bad;
"""
TOO_WIDE = "return document.documentElement.scrollWidth - window.innerWidth;"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    with seeded_server(tmp_path, SETUP) as seeded:
        yield seeded


def check_page(window: Browser, path: str, problems: list[str]) -> None:
    window.get(path)
    window.wait_for("main")
    unlabelled = window.driver.execute_script(UNLABELLED)
    if unlabelled:
        problems.append(f"{path}: unlabelled {unlabelled}")
    overflow = window.driver.execute_script(TOO_WIDE)
    if overflow > 1:
        problems.append(f"{path}: {overflow} px wider than the screen")


def test_pages_on_a_phone(server: tuple[LiveServer, dict[str, int]]) -> None:
    live, ids = server
    round_id, job_id = ids["round"], ids["job"]
    problems: list[str] = []
    with browser(live.url, width=390, height=844) as phone:
        check_page(phone, "/accounts/login/", problems)
        phone.sign_in("alice", "pw")
        for path in (
            "/rounds/",
            "/groups/",
            f"/groups/{ids['group']}/",
            f"/jobs/{job_id}/",
            "/help/",
        ):
            check_page(phone, path, problems)
        check_page(phone, f"/rounds/{round_id}/", problems)

        # The countdown runs in the page: minutes and seconds left of the 30 minutes.
        countdown = phone.wait_for("time[data-countdown]")
        phone.wait(lambda d: re.fullmatch(r"\d+:\d\d", countdown.text), "a running countdown")
        # Only the chosen algorithm's fields are shown (and posted).
        visible = [
            el.get_attribute("data-algorithm")
            for el in phone.find_all("fieldset.params")
            if el.is_displayed()
        ]
        assert visible == ["knn"]
        phone.select("#id_algorithm", "svm")
        visible = [
            el.get_attribute("data-algorithm")
            for el in phone.find_all("fieldset.params")
            if el.is_displayed()
        ]
        assert visible == ["svm"]
        assert phone.find("#id_svm-C").get_attribute("value") == "1.0"
        phone.driver.execute_script("window.scrollTo(0, 0);")
        phone.screenshot("phone-round")

        phone.sign_out()
        phone.sign_in("olga", "pw")
        for path in (
            "/manage/",
            "/manage/datasets/",
            "/manage/datasets/new/",
            "/manage/rounds/new/",
            f"/manage/rounds/{round_id}/",
        ):
            check_page(phone, path, problems)
        # The failure and its message are on the overview.
        phone.get("/manage/")
        assert "ValueError: something went wrong" in phone.driver.page_source
        check_page(phone, f"/rounds/{round_id}/projector/", problems)
        phone.read_console()
        assert not problems, "\n".join(problems)
        assert not phone.console_errors, json.dumps(phone.console_errors, indent=1)
