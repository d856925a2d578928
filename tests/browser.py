"""Headless Chromium for the browser tests, driven by Selenium with Debian's chromedriver.

Nothing is downloaded: the driver's path is given, so Selenium Manager has nothing to find.
Every wait is bounded; the console is read after each step so that a test can say which page
logged an error.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer

CHROMIUM = Path(os.environ.get("MLCONTEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("MLCONTEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
REPO = Path(__file__).resolve().parent.parent
# Runs write to tests/artifacts/; MLCONTEST_SCREENSHOTS=docs/screenshots refreshes the README's.
SCREENSHOTS = Path(
    os.environ.get("MLCONTEST_SCREENSHOTS", REPO / "tests" / "artifacts" / "screenshots")
)
WAIT_SECONDS = 30.0

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
)


def skip_without_browser() -> None:
    """Skip, saying why, where Chromium, its driver or Selenium is missing."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[dev])")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists() and shutil.which(path.name) is None:
            pytest.skip(
                f"{path} not found: apt-get install -y chromium chromium-driver (package {package})"
            )


class Browser:
    """One Chromium window with a helper per common step."""

    def __init__(
        self, base_url: str, width: int = 1280, height: int = 900, flags: tuple[str, ...] = ()
    ) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        # Selenium Manager must never try the network: it is not needed with explicit paths.
        os.environ.setdefault("SE_OFFLINE", "true")
        os.environ.setdefault("SE_AVOID_STATS", "true")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, *flags):
            options.add_argument(flag)
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        self.driver.set_page_load_timeout(WAIT_SECONDS)
        self.base_url = base_url
        self.console_errors: list[str] = []

    # Navigation and forms -----------------------------------------------------------------

    def get(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.read_console()

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def select(self, css: str, value: str | None = None, text: str | None = None) -> None:
        from selenium.webdriver.support.ui import Select

        choice = Select(self.find(css))
        if text is not None:
            choice.select_by_visible_text(text)
        else:
            choice.select_by_value(value or "")

    def click(self, css: str) -> None:
        self.find(css).click()

    def submit_and_wait(self, css: str) -> None:
        """Click a submit button and wait until the next page has replaced this one."""
        from selenium.common.exceptions import WebDriverException

        old = self.find("html")
        self.click(css)

        def replaced(driver: Any) -> bool:
            try:
                old.is_enabled()
            except WebDriverException:
                # Stale, or, while Chromium swaps the document, "Node with given id does not
                # belong to the document": either way the old page is gone.
                return True
            return False

        self.wait(replaced, "the next page")
        self.wait_for("body")
        self.read_console()

    def sign_in(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        self.fill("#id_username", username)
        self.fill("#id_password", password)
        # The sign-in form's own button: the header's language switch is a submit button too.
        self.submit_and_wait("main button[type=submit]")

    def sign_out(self) -> None:
        self.submit_and_wait("header form[action$='/logout/'] button")

    # Waiting ------------------------------------------------------------------------------

    def wait(
        self, condition: Callable[[Any], Any], what: str, timeout: float = WAIT_SECONDS
    ) -> Any:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        # The live pages replace their parts as news arrives: an element found a moment ago
        # may be gone when the condition reads it, which only means "ask again".
        return WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.1,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(condition, f"timed out after {timeout} s waiting for {what}")

    def wait_for(self, css: str, timeout: float = WAIT_SECONDS) -> Any:
        return self.wait(lambda d: self.find_all(css) and self.find(css), css, timeout)

    def wait_text(self, css: str, text: str, timeout: float = WAIT_SECONDS) -> None:
        self.wait(
            lambda d: any(text in el.text for el in self.find_all(css)),
            f"{text!r} in {css}",
            timeout,
        )

    # Proof that a part changed without a reload --------------------------------------------

    def mark_page(self) -> None:
        self.driver.execute_script("window.__sameDocument = 'yes';")

    def same_page(self) -> bool:
        return self.driver.execute_script("return window.__sameDocument || null;") == "yes"

    # Console and screenshots ---------------------------------------------------------------

    def read_console(self) -> list[str]:
        """Collect console errors since the last read (the browser hands each entry once)."""
        entries = self.driver.get_log("browser")
        errors = [
            f"{entry.get('level')}: {entry.get('message')}"
            for entry in entries
            if entry.get("level") == "SEVERE"
        ]
        self.console_errors.extend(errors)
        return errors

    def expect_refusal(self, status: int = 400) -> None:
        """A form the page was meant to refuse comes back with a 4xx, and Chromium logs that as
        a console error: take exactly that entry off the list, so that any other stays."""
        self.read_console()
        marker = f"status of {status} "
        refused = [error for error in self.console_errors if marker in error]
        assert refused, f"no {status} answer was logged: {self.console_errors}"
        self.console_errors.remove(refused[0])

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def quit(self) -> None:
        self.driver.quit()


@contextmanager
def browser(
    base_url: str, width: int = 1280, height: int = 900, flags: tuple[str, ...] = ()
) -> Iterator[Browser]:
    """A window; ``flags`` are added to Chromium's (``--ignore-certificate-errors`` for a test's
    self-signed certificate)."""
    window = Browser(base_url, width, height, flags)
    try:
        yield window
    finally:
        window.quit()


# The start of a seed for seeded_server: ``user(name, role, group)``, the organizer olga and
# the worker walter (password "pw", as in tests/conftest.py).
USERS_SETUP = """
from mlcontest.contest.models import Group, Membership, Role, User

def user(name, role, group=None):
    found = User.objects.create_user(name, password="pw", role=role)
    if group is not None:
        Membership.objects.create(user=found, group=group)
    return found

olga = user("olga", Role.ORGANIZER)
user("walter", Role.WORKER)
"""


@contextmanager
def seeded_server(tmp_path: Path, setup: str) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    """A live server for a browser test, seeded by ``setup`` (Python run in the server's
    environment, whose last printed line is a JSON object of the ids the test needs)."""
    skip_without_browser()
    (tmp_path / "server").mkdir()
    with LiveServer(tmp_path / "server") as live:
        yield live, json.loads(live.run_python(setup).strip().splitlines()[-1])
