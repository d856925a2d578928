"""German in Chromium: a student switches the language by keyboard with the switch in the header
and sees the round page in German, including the words the page's script writes (the
countdown's label, the chart's axis, the job notice); the choice stays for the next page, and
the switch turns English back on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import USERS_SETUP, Browser, browser, seeded_server
from tests.live import LiveServer
from tests.test_i18n_pages import english_words

pytestmark = [pytest.mark.live]

SETUP = (
    USERS_SETUP
    + """
import json
from datetime import timedelta
from django.utils import timezone
from mlcontest.contest import dataset_sources, queue, rounds
from mlcontest.contest.models import Job

alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
alice = user("alice", Role.STUDENT, alpha)
wine = dataset_sources.store("wine", dataset_sources.from_sklearn("wine"))
round_ = rounds.create_round(olga, name="Wine", dataset=wine, metric="accuracy",
    ends_at=timezone.now() + timedelta(minutes=30))
rounds.open_round(olga, round_)
done = queue.submit_job(alice, round_, "knn", {"n_neighbors": 3})
Job.objects.filter(pk=done.pk).update(state="done", success=True, score_test=0.875,
    score_validation=0.75, finished_at=timezone.now())
# The dataset's own words (its description, its feature names) are content, not the page's.
print(json.dumps({"round": round_.pk, "names": [wine.description, *wine.feature_names]}))
"""
)
NAMES = ["alice", "Alpha", "Wine", "wine", "knn", "n_neighbors", "accuracy", "mlcontest"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with seeded_server(tmp_path, SETUP) as seeded:
        yield seeded


def press_the_switch(window: Browser) -> None:
    """Focus the header's language button and press Enter, as a keyboard user would."""
    from selenium.webdriver.common.keys import Keys

    button = window.find("header .language-switch button")
    window.driver.execute_script("arguments[0].focus();", button)
    assert window.driver.switch_to.active_element == button
    old = window.find("html")
    button.send_keys(Keys.ENTER)
    window.wait(lambda d: old != window.find("html"), "the page in the other language")
    window.wait_for("body")
    window.read_console()


def test_a_student_switches_the_round_page_to_german(
    server: tuple[LiveServer, dict[str, Any]],
) -> None:
    live, ids = server
    path = f"/rounds/{ids['round']}/"
    with browser(live.url) as window:
        window.sign_in("alice", "pw")
        window.get(path)
        assert window.find("html").get_attribute("lang") == "en"
        assert window.find("#submit-title").text == "Submit a job"
        assert window.find("header .language-switch button").text == "Deutsch"

        press_the_switch(window)
        assert window.driver.current_url.endswith(path)  # back on the same page
        assert window.find("html").get_attribute("lang") == "de"
        assert window.find("#submit-title").text == "Einen Auftrag einreichen"
        assert window.find("#board-title").text.startswith("Bestenliste")
        window.wait_text("[data-part=jobs]", "0,875")  # the German decimal comma
        # The script's own words: the chart's axis and the countdown's label.
        window.wait_text("[data-history-chart]", "Zeit seit Öffnung der Runde")
        countdown = window.wait_for("time[data-countdown]")
        window.wait(
            lambda d: (countdown.get_attribute("aria-label") or "").startswith("um "),
            "the countdown's German label",
        )
        window.wait_text(".chart-legend", "Alpha 0,875")  # the script's numbers too
        chart = window.find("[data-history-chart] svg").get_attribute("aria-label")
        assert chart == "Bester Testwert im Zeitverlauf: Alpha 0,875", chart
        text = window.driver.execute_script("return document.body.innerText;")
        assert english_words(text, [*NAMES, *ids["names"]]) == set(), text

        # A job submitted in German: its notice is German too.
        window.submit_and_wait("#submit-form button[type=submit]")
        window.wait_text(".message.job-notice", "wartet.")
        assert window.find(".message.job-notice").text.startswith("Auftrag ")

        # The choice is kept: the next page is German without asking again.
        window.get("/groups/")
        assert window.find("h1").text == "Gruppen"
        window.screenshot("german-groups")
        window.get(path)
        window.screenshot("german-round")

        press_the_switch(window)
        assert window.find("html").get_attribute("lang") == "en"
        assert window.find("#submit-title").text == "Submit a job"
        assert window.find("header .language-switch button").text == "Deutsch"
        assert window.console_errors == []
