"""Accessibility in the browser (issue 11): axe-core runs on every page a person sees, in each
state that changes the markup (form errors, a dataset preview, the final ranking, the
projector's reveal), and fails on a violation of impact "serious" or "critical"; the student's
main flow and the projector's reveal work with the keyboard alone, with a visible focus on
every stop and no keyboard trap.

axe-core comes from the selenium-axe-python package (tests/accessibility.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import blocking, report, run_axe
from tests.browser import USERS_SETUP, Browser, browser, seeded_server, skip_without_browser
from tests.live import LiveServer

pytestmark = [pytest.mark.live]

# Finishing a job as the worker walter would, through the real result path (the server scores
# the labels); ``wrong`` test and validation labels are wrong, so that scores differ.
FINISH_JOB = """
import base64, io, json
from datetime import timedelta
from django.utils import timezone
from mlcontest.contest import (dataset_sources, datasets, pictures, queue, result_fields, results,
                               reveal_show, rounds)
from mlcontest.contest.models import Dataset, Job, JobState, Round, User, WorkerSeen

walter = User.objects.get(username="walter")


def finish(job, wrong):
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, worker=walter,
        worker_key="w-1", claimed_at=now, lease_expires_at=now + timedelta(seconds=60),
        attempts=1)
    job = Job.objects.get(pk=job.pk)
    loaded = datasets.load_points(job.round.dataset)
    labels = {split: loaded.labels_of(split) for split in datasets.SPLITS}
    first, second = sorted(set(labels["training"]))[:2]
    for split in ("test", "validation"):
        labels[split] = [(first if label != first else second) if i < wrong else label
            for i, label in enumerate(labels[split])]
    payload = result_fields.parse_result({"success": True, "labels_training": labels["training"],
        "labels_test": labels["test"], "labels_validation": labels["validation"]})
    results.record_result(walter, job, "w-1", payload)
    return job
"""

# Two rounds: Wine is open with scores, a failed job and a job with a picture; Iris is closed,
# so its final ranking is revealed. carol has no group; Beta is private.
SETUP = (
    USERS_SETUP
    + FINISH_JOB
    + """
from PIL import Image

alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
beta = Group.objects.create(name="Beta", public=False, created_by=olga)
alice = user("alice", Role.STUDENT, alpha)
bob = user("bob", Role.STUDENT, beta)
user("carol", Role.STUDENT)
gamma = Group.objects.create(name="Gamma", public=True, created_by=olga)
dave = user("dave", Role.STUDENT, gamma)
WorkerSeen.objects.create(worker_key="w-1", user=walter, name="lab-pc-1")

ids = {}
# name, dataset, a show for its reveal: Iris reveals at once (as a script closes), "Iris show"
# is a show with its last place out (the pages during a show), "Iris keys" a show not begun
# (the keyboard's reveal).
for name, source, show in (("Wine", "wine", False), ("Iris", "iris", False),
        ("Iris show", "iris", True), ("Iris keys", "iris", True)):
    found = Dataset.objects.filter(name=source).first()
    dataset = found or dataset_sources.store(source, dataset_sources.from_sklearn(source))
    round_ = rounds.create_round(olga, name=name, dataset=dataset, metric="accuracy",
        allowed_algorithms=["knn", "svm", "decision_tree"], job_quota=20,
        ends_at=timezone.now() + timedelta(minutes=30), reveal_show=show)
    rounds.open_round(olga, round_)
    key = name.lower().replace(" ", "_")
    ids[key] = round_.pk
    mine = finish(queue.submit_job(alice, round_, "knn", {"n_neighbors": 5}), 1)
    theirs = finish(queue.submit_job(bob, round_, "svm", {"C": 2.0}), 3)
    ids[key + "_alice_job"], ids[key + "_bob_job"] = mine.pk, theirs.pk
    if source == "iris":
        finish(queue.submit_job(dave, round_, "decision_tree", {"max_depth": 2}), 5)
        rounds.close_round(olga, round_)

reveal_show.reveal_places(olga, Round.objects.get(pk=ids["iris_show"]), 1)
picture = io.BytesIO()
Image.new("RGB", (120, 80), (40, 90, 200)).save(picture, format="PNG")
pictures.add_picture(walter, Job.objects.get(pk=ids["wine_alice_job"]), "w-1",
    "confusion_matrix.png", base64.b64encode(picture.getvalue()).decode())
failed = queue.submit_job(alice, Round.objects.get(pk=ids["wine"]), "svm", {"C": 0.5})
Job.objects.filter(pk=failed.pk).update(state="failed", success=False,
    finished_at=timezone.now(), message="ValueError: something went wrong")
queue.submit_job(alice, Round.objects.get(pk=ids["wine"]), "decision_tree", {"max_depth": 3})
# Announcements on every page, and one on Wine's pages only.
from mlcontest.contest import announcements
announcements.post(olga, "5 minutes left: choose your final job")
announcements.post(olga, "Try scaling", round_=Round.objects.get(pk=ids["wine"]), minutes=30)
# A course of both rounds: Iris revealed gives points, Wine is still open.
from mlcontest.contest import courses
course = courses.create_course(olga, "Maschinelles Lernen 1", "Zwei Runden, eine Note.")
for pk in (ids["wine"], ids["iris"]):
    courses.assign_round(olga, Round.objects.get(pk=pk), course)
ids.update(alpha=alpha.pk, beta=beta.pk, failed_job=failed.pk, course=course.pk)
print(json.dumps(ids))
"""
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with seeded_server(tmp_path_factory.mktemp("a11y"), SETUP) as seeded:
        yield seeded


class Audit:
    """axe on each page shown; the blocking findings of all pages, reported together."""

    def __init__(self, window: Browser) -> None:
        self.window = window
        self.problems: list[str] = []
        self.minor: list[str] = []
        self.pages = 0

    def check(
        self, label: str, path: str | None = None, ready: str = "main", title: str = ""
    ) -> None:
        """axe on ``path`` (or the page shown) once ``ready`` is there; ``title`` in its h1
        proves it is the page meant."""
        if path is not None:
            self.window.get(path)
        self.window.wait_for(ready)
        if title:
            assert title in self.window.find("h1").text, (label, self.window.find("h1").text)
        found = run_axe(self.window)
        self.pages += 1
        if blocking(found):
            self.problems.append(report(label, blocking(found)))
        rest = [v for v in found if v not in blocking(found)]
        if rest:
            self.minor.append(report(label, rest))

    def assert_clean(self) -> None:
        if self.minor:
            print("Findings below 'serious' (not failing):\n" + "\n".join(self.minor))
        assert not self.problems, (
            f"axe found serious or critical violations on {len(self.problems)} of "
            f"{self.pages} pages:\n" + "\n".join(self.problems)
        )


def test_anonymous_pages(server: tuple[LiveServer, dict[str, Any]], tmp_path: Path) -> None:
    live, _ = server
    with browser(live.url) as window:
        audit = Audit(window)
        audit.check("login", "/accounts/login/")
        window.fill("#id_username", "nobody")
        window.fill("#id_password", "wrong")
        window.submit_and_wait("main button[type=submit]")
        audit.check("login with an error", ready=".error")
        audit.check("sign-up closed", "/signup/", title="Sign-up is closed")
        audit.check("404", "/no/such/page/", title="Not found")
        audit.check("help", "/help/")
        # The same pages in German: the page's language follows the switch (axe checks that
        # lang is valid; the switch's own word carries the language it is in).
        window.get("/accounts/login/")
        window.submit_and_wait(".language-switch button")
        assert window.find("html").get_attribute("lang") == "de"
        audit.check("login in German")
        audit.check("help in German", "/help/")
        audit.assert_clean()

    # Sign-up is open only with a class code: a server of its own, with one.
    skip_without_browser()
    (tmp_path / "signup").mkdir()
    with (
        LiveServer(tmp_path / "signup", extra_env={"MLCONTEST_SIGNUP_CODE": "c0de"}) as open_,
        browser(open_.url) as window,
    ):
        audit = Audit(window)
        audit.check("sign-up", "/signup/", title="Sign up")
        window.submit_and_wait("main button[type=submit]")
        audit.check("sign-up with errors", ready=".error")
        audit.assert_clean()


@contextmanager
def sized_browser(url: str, size: tuple[int, int]) -> Iterator[Browser]:
    """A browser whose viewport is exactly ``size``, a phone's as a touch device (headless
    Chromium keeps windows at least 500 px wide)."""
    width, height = size
    with browser(url, max(width, 500), height + 200) as window:
        window.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
        )
        yield window


# On a phone the cards stack and a wide table scrolls inside its card: axe checks that such a
# scrolling part can be reached by keyboard too.
@pytest.mark.parametrize("size", [(1280, 900), (375, 812)], ids=["laptop", "phone"])
def test_student_pages(server: tuple[LiveServer, dict[str, Any]], size: tuple[int, int]) -> None:
    live, ids = server
    with sized_browser(live.url, size) as window:
        audit = Audit(window)
        window.sign_in("alice", "pw")
        audit.check("rounds (with an announcement)", "/rounds/", ready=".announcement")
        audit.check(
            "open round (jobs, board, chart)",
            f"/rounds/{ids['wine']}/",
            ready="[data-history-chart] svg",
        )
        # The chart is one image to a screen reader, named by each group's latest score.
        label = window.find("[data-history-chart] svg").get_attribute("aria-label")
        assert re.search(r"Alpha \d\.\d{3}, Beta \d\.\d{3}", label), label
        window.fill("#id_knn-n_neighbors", "0")
        window.submit_and_wait("#submit-form button[type=submit]")
        audit.check("round with a refused job", ready="#submit-form .error")
        # The refused field says so, and points to its message and its help.
        field = window.find("#id_knn-n_neighbors")
        assert field.get_attribute("aria-invalid") == "true"
        described = field.get_attribute("aria-describedby").split()
        assert "id_knn-n_neighbors_error" in described, described
        assert window.find("#id_knn-n_neighbors_error").text
        audit.check("closed round (final ranking)", f"/rounds/{ids['iris']}/", ready=".table.final")
        audit.check(
            "a closed round during the reveal's show",
            f"/rounds/{ids['iris_show']}/",
            ready=".table.final tr[data-rank]",
        )
        audit.check("job with a picture", f"/jobs/{ids['wine_alice_job']}/", ready=".pictures img")
        audit.check("a failed job", f"/jobs/{ids['failed_job']}/", ready=".message-box")
        audit.check("another group's job (404)", f"/jobs/{ids['wine_bob_job']}/", title="Not found")
        audit.check("groups", "/groups/")
        audit.check("own group", f"/groups/{ids['alpha']}/")
        audit.check("a private group", f"/groups/{ids['beta']}/")
        audit.check("course", f"/courses/{ids['course']}/", title="Maschinelles Lernen 1")
        audit.check("help", "/help/")
        audit.check("organizer page (403)", "/manage/", title="Organizers only")
        window.sign_out()
        window.sign_in("carol", "pw")
        audit.check("rounds without a group", "/rounds/")
        audit.check("groups without a group", "/groups/")
        audit.check("API reference", "/api/docs/", ready="body")
        audit.assert_clean()


def test_organizer_pages(server: tuple[LiveServer, dict[str, Any]]) -> None:
    live, ids = server
    with browser(live.url) as window:
        audit = Audit(window)
        window.sign_in("olga", "pw")
        audit.check("class overview (workers, groups, failures)", "/manage/")
        audit.check("overview of one round", f"/manage/?round={ids['wine']}")
        audit.check("manage an open round", f"/manage/rounds/{ids['wine']}/")
        audit.check("manage a closed round", f"/manage/rounds/{ids['iris']}/")
        audit.check("new round", "/manage/rounds/new/")
        window.submit_and_wait("form button[type=submit].primary")
        audit.check("new round with errors", ready=".error")
        audit.check("announcements", "/manage/announcements/", ready=".announcement")
        window.submit_and_wait(".announce-form button[type=submit]")
        audit.check("announcing nothing (errors)", ready=".announce-form .error")
        audit.check("courses", "/manage/courses/")
        window.submit_and_wait("form[aria-labelledby=new-course] button[type=submit]")
        audit.check("a refused new course", ready="form[aria-labelledby=new-course] .error")
        audit.check("course edit", f"/manage/courses/{ids['course']}/")
        audit.check("course (every student)", f"/courses/{ids['course']}/")
        audit.check("course projector", f"/courses/{ids['course']}/projector/")
        audit.check("datasets", "/manage/datasets/")
        audit.check("new dataset", "/manage/datasets/new/")
        window.fill("#id_name", "Moons")
        window.submit_and_wait("button[value=preview]")
        audit.check("dataset preview", ready="figure[data-preview] svg")
        audit.check("groups", "/groups/")
        audit.check(
            "round page (preview of the ranking)",
            f"/rounds/{ids['wine']}/",
            ready="[data-history-chart] svg",
        )
        audit.check(
            "projector", f"/rounds/{ids['wine']}/projector/", ready="[data-history-chart] svg"
        )
        audit.check(
            "projector before the reveal",
            f"/rounds/{ids['iris_keys']}/projector/",
            ready="[data-reveal-next]",
        )
        audit.check(
            "projector during the reveal",
            f"/rounds/{ids['iris_show']}/projector/",
            ready="[data-reveal-next]",
        )
        audit.check("manage a round during the reveal", f"/manage/rounds/{ids['iris_show']}/")
        window.get(f"/rounds/{ids['iris_show']}/projector/")
        window.wait_for("[data-reveal-all]")
        window.click("[data-reveal-all]")
        window.wait(lambda d: not window.find_all("[data-reveal-all]"), "the end of the reveal")
        audit.check("projector after the reveal")
        audit.assert_clean()


# A page with a faint text and an image without a text: axe must call both serious or worse.
PLANTED = """
const p = document.createElement('p');
p.textContent = 'faint';
p.style.cssText = 'color:#c8c8c8;background:#ffffff';
const img = document.createElement('img');
img.src = '/static/web/favicon.svg';
document.querySelector('main').append(p, img);
"""


def test_the_checker_catches_planted_violations(
    server: tuple[LiveServer, dict[str, Any]],
) -> None:
    """The walk above can fail: axe runs, with its contrast and text-alternative rules."""
    live, _ = server
    with browser(live.url) as window:
        window.get("/help/")
        window.wait_for("main")
        window.driver.execute_script(PLANTED)
        found = {violation["id"] for violation in blocking(run_axe(window))}
        assert {"color-contrast", "image-alt"} <= found, found


# Keyboard ------------------------------------------------------------------------------------

# The focused element, whether it shows a focus ring, and the ring's contrast with what lies
# behind it (the first ancestor with a background: the ring sits outside the element), which
# WCAG 2.1's 1.4.11 wants at 3:1 at least.
FOCUSED = """
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement) return null;
const style = getComputedStyle(el);
const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
function rgb(text) { return (text.match(/[\\d.]+/g) || []).map(Number); }
function lum(c) {
  const [r, g, b] = c.slice(0, 3).map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
let back = [255, 255, 255];
for (let up = el.parentElement; up; up = up.parentElement) {
  const c = rgb(getComputedStyle(up).backgroundColor);
  if (c.length >= 3 && (c.length < 4 || c[3] > 0)) { back = c; break; }
}
const a = lum(rgb(style.outlineColor)), b = lum(back);
const contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
if (!el.dataset.kb) el.dataset.kb = String(document.querySelectorAll('[data-kb]').length + 1);
return {kb: el.dataset.kb, ring: ring, contrast: contrast,
        matches: arguments[0] ? el.matches(arguments[0]) : false,
        what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' '
              + (el.getAttribute('aria-label') || el.textContent || el.value || '').trim()
                  .replace(/\\s+/g, ' ').slice(0, 50)};
"""
# What a Tab should reach: visible, enabled, in the tab order; a radio group is one stop.
TABBABLE = """
const seen = new Set();
const out = [];
const all = document.querySelectorAll(
  'a[href], button, input, select, textarea, summary, [tabindex]');
for (const el of all) {
  if (el.disabled || el.tabIndex < 0 || el.type === 'hidden') continue;
  // Not rendered: display none, visibility hidden, or inside a closed <details>.
  if (!el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true})) continue;
  if (el.type === 'radio') { if (seen.has(el.name)) continue; seen.add(el.name); }
  if (!el.dataset.kb) el.dataset.kb = 't' + out.length;
  out.push(el.dataset.kb);
}
return out;
"""


class Keyboard:
    """Keys go to whatever has the focus, as a person's would; every stop must show a ring."""

    def __init__(self, window: Browser) -> None:
        self.window = window
        self.stops: list[str] = []

    def press(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.window.driver).send_keys(*keys).perform()

    def focused(self, css: str = "") -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.window.driver.execute_script(FOCUSED, css)
        if found is not None:
            self.stops.append(found["what"])
            assert found["ring"], f"no visible focus on {found['what']!r}"
            assert found["contrast"] >= 3, f"a faint focus ring on {found}"
        return found

    def tab_to(self, css: str, back: bool = False, limit: int = 80) -> None:
        from selenium.webdriver.common.keys import Keys

        for _ in range(limit):
            if back:
                self.press(Keys.SHIFT, Keys.TAB, Keys.SHIFT)
            else:
                self.press(Keys.TAB)
            found = self.focused(css)
            if found and found["matches"]:
                return
        raise AssertionError(f"{limit} Tabs never reached {css}; stops: {self.stops[-limit:]}")

    def tab_through(self) -> None:
        """Tab from the top of the page past its end: every stop is reached (no trap holds the
        focus) and shows its focus."""
        from selenium.webdriver.common.keys import Keys

        wanted = list(self.window.driver.execute_script(TABBABLE))
        reached: set[str] = set()
        for _ in range(len(wanted) + 3):
            self.press(Keys.TAB)
            found = self.focused()
            if found is not None:
                reached.add(found["kb"])
        missed = [kb for kb in wanted if kb not in reached]
        assert not missed, f"Tab never reached {missed} (reached {len(reached)}): {self.stops}"


def job_count(live: LiveServer, username: str) -> int:
    code = (
        "from mlcontest.contest.models import Job\n"
        f"print(Job.objects.filter(user__username={username!r}).count())"
    )
    return int(live.run_python(code).strip().splitlines()[-1])


def test_a_student_plays_by_keyboard(server: tuple[LiveServer, dict[str, Any]]) -> None:
    from selenium.webdriver.common.keys import Keys

    live, ids = server
    before = job_count(live, "alice")
    with browser(live.url) as window:
        keys = Keyboard(window)
        # The sign-in form has the focus in its first field; Enter signs in.
        window.get("/accounts/login/")
        window.wait_for("main")
        start = keys.focused("#id_username")
        assert start and start["matches"], start
        keys.press("alice", Keys.TAB)
        password = keys.focused("#id_password")
        assert password and password["matches"], password
        keys.press("pw", Keys.ENTER)
        window.wait_text("header .who", "alice")

        # The first Tab shows the skip link; Enter moves the focus to the page's content.
        window.get("/rounds/")
        window.wait_for("main")
        keys.press(Keys.TAB)
        skip = keys.focused("a.skip")
        assert skip and skip["matches"], skip
        assert window.find("a.skip").location["x"] >= 0
        keys.press(Keys.ENTER)
        assert window.driver.execute_script("return document.activeElement.id;") == "main"
        keys.tab_to(f"a[href='/rounds/{ids['wine']}/']")
        keys.press(Keys.ENTER)
        window.wait_for("#submit-form")
        keys.tab_through()

        # Choose SVM with the arrow keys, set C, submit with Space.
        window.get(f"/rounds/{ids['wine']}/")
        window.wait_for("#submit-form")
        keys.tab_to("#id_algorithm")
        for _ in range(10):
            if window.find("#id_algorithm").get_attribute("value") == "svm":
                break
            keys.press(Keys.ARROW_DOWN)
        assert window.find("#id_algorithm").get_attribute("value") == "svm"
        assert window.find("fieldset[data-algorithm=svm]").is_displayed()
        keys.tab_to("#id_svm-C")
        keys.press(Keys.CONTROL, "a", Keys.CONTROL, "3.5")
        keys.tab_to("#submit-form button[type=submit]")
        keys.press(Keys.SPACE)
        window.wait_text(".messages", "is queued")
        assert job_count(live, "alice") == before + 1
        newest = window.find("[data-part=jobs] tr[data-job]").get_attribute("data-job")
        assert window.find(f"tr[data-job='{newest}']").text.startswith(f"#{newest}")

        # Reach the job from the job list; its row changes under the focus when the job is
        # done, and the focus stays on its link.
        link = f"[data-part=jobs] a[href='/jobs/{newest}/']"
        keys.tab_to(link)
        live.run_python(FINISH_JOB + f"finish(Job.objects.get(pk={newest}), 0)")
        window.wait(
            lambda d: window.find(f"tr[data-job='{newest}']").get_attribute("data-state") == "done",
            "the job's row to say done",
        )
        assert window.driver.execute_script(
            "return document.activeElement.matches(arguments[0]);", link
        ), window.driver.execute_script("return document.activeElement.outerHTML;")
        keys.press(Keys.ENTER)
        window.wait_text("main h1", f"Job #{newest}")
        assert "C" in window.find("main").text and "3.5" in window.find("main").text
        keys.tab_through()
        window.read_console()
        assert not window.console_errors, window.console_errors


REVEALED = "return document.querySelectorAll('.table.final tr[data-rank]').length;"
ON_A_REVEAL_BUTTON = (
    "return document.activeElement.matches('[data-reveal-next], [data-reveal-all]');"
)


def test_the_projector_reveals_by_keyboard(server: tuple[LiveServer, dict[str, Any]]) -> None:
    """The show from the keyboard: the presenter's keys on the page, then the buttons, whose
    focus stays on the show's buttons from one step to the next."""
    from selenium.webdriver.common.keys import Keys

    live, ids = server
    with browser(live.url, 1920, 1080) as window:
        keys = Keyboard(window)
        window.sign_in("olga", "pw")
        projector = f"/rounds/{ids['iris_keys']}/projector/"
        window.get(projector)
        window.wait_for("[data-reveal-next]")
        assert window.driver.execute_script(REVEALED) == 0

        def revealed(count: int) -> None:
            window.wait(
                lambda d: window.driver.execute_script(REVEALED) == count,
                f"{count} places revealed",
            )

        # Nothing focused: the right arrow reveals the last place.
        keys.press(Keys.ARROW_RIGHT)
        revealed(1)
        # The button, by Tab and Enter; the focus stays on the show's buttons for the next step.
        keys.tab_to("[data-reveal-next]")
        keys.press(Keys.ENTER)
        revealed(2)
        assert window.driver.execute_script(ON_A_REVEAL_BUTTON), window.driver.execute_script(
            "return document.activeElement.outerHTML;"
        )
        # "A" on the page (nothing focused after a reload) ends the show: the winner is out.
        window.get(projector)
        window.wait_for("[data-reveal-all]")
        keys.press("a")
        window.wait(lambda d: not window.find_all("[data-reveal-all]"), "the end of the show")
        ranks = [
            int(row.get_attribute("data-rank"))
            for row in window.find_all(".table.final tr")
            if row.get_attribute("data-rank")
        ]
        assert sorted(ranks) == [1, 2, 3]
        keys.tab_through()
        window.read_console()
        assert not window.console_errors, window.console_errors
