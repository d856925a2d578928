"""The language of the pages: English by default, German by the browser's Accept-Language or by
the switch on every page (a cookie); the JSON API and the seed protocol stay English. And the
German catalogue itself: every marked string translated, no entry twice, the committed .mo
compiled from the .po (mlcontest/core/translations.py, `python3.11 tasks.py messages`)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client, override_settings

from mlcontest.core import translations
from tests.conftest import Contest


def test_the_catalogue_is_complete_and_compiled() -> None:
    # Lists every string marked in the sources but missing from django.po or without German,
    # every entry in twice (a union merge), and a .mo not compiled from the .po.
    assert translations.problems() == []


def test_an_entry_in_twice_is_found() -> None:
    text = 'msgid ""\nmsgstr ""\n\nmsgid "Round"\nmsgstr "Runde"\n\nmsgid "Round"\nmsgstr "R"\n'
    assert translations.duplicates(text) == ['"Round"']
    with_context = 'msgctxt "a"\nmsgid "Round"\nmsgstr "R"\n\nmsgid "Round"\nmsgstr "Runde"\n'
    assert translations.duplicates(with_context) == []
    # Both branches changed one translation: the union keeps both lines.
    changed = 'msgid "Round"\nmsgstr "Runde"\nmsgstr "Spielrunde"\n\nmsgid "Job"\nmsgstr "A"\n'
    assert translations.duplicates(changed) == ['"Round" (msgstr twice)']
    plural = 'msgid "a"\nmsgid_plural "as"\nmsgstr[0] "x"\nmsgstr[1] "y"\n'
    assert translations.duplicates(plural) == []
    # The committed file itself reads clean.
    assert translations.duplicates(translations.PO_FILE.read_text(encoding="utf-8")) == []


def test_a_merge_left_twice_is_mended_or_named() -> None:
    same = 'msgid "Round"\nmsgstr "Runde"'
    text = f'msgid ""\nmsgstr ""\n\n{same}\n\nmsgid "Job"\nmsgstr "Auftrag"\n\n{same}\n'
    mended, unsettled = translations.mend(text)
    assert unsettled == []
    assert mended.count('msgid "Round"') == 1 and 'msgid "Job"' in mended
    different = text.replace('msgstr "Runde"\n', 'msgstr "Spielrunde"\n', 1)
    assert len(translations.mend(different)[1]) == 1
    doubled = 'msgid "Round"\nmsgstr "Runde"\nmsgstr "Spielrunde"\n'
    assert translations.mend(doubled)[1][0].startswith("two translations in one entry")


def test_a_string_without_german_is_found() -> None:
    catalog = translations.read_catalog()
    catalog.add("A sentence nobody translated", "")
    catalog.add("Translated", "Übersetzt")
    assert translations.untranslated(catalog) == ["A sentence nobody translated"]


def test_english_is_the_default(client: Client) -> None:
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Sign in</h1>" in html
    assert "Anmelden" not in html
    # The switch offers German, named in German.
    assert 'name="language" value="de" lang="de">Deutsch</button>' in html


def test_the_browser_language_chooses_german(client: Client) -> None:
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "<h1>Anmelden</h1>" in html
    assert 'value="en" lang="en">English</button>' in html
    assert "Accept-Language" in response["Vary"]
    # A language the site does not have falls back to English.
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<h1>Sign in</h1>" in html


def test_the_switch_keeps_german_in_a_cookie(contest: Contest) -> None:
    client = contest.client(contest.alice)
    answer = client.post("/i18n/setlang/", {"language": "de", "next": "/rounds/"})
    assert answer.status_code == 302
    assert answer["Location"] == "/rounds/"
    assert answer.cookies["django_language"].value == "de"
    # The cookie wins over the browser's own language.
    html = client.get("/rounds/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in html
    assert ">Runden</a>" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/rounds/"})
    html = client.get("/rounds/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en">' in html


def test_the_switch_refuses_a_foreign_next(client: Client) -> None:
    answer = client.post("/i18n/setlang/", {"language": "de", "next": "https://evil.example/"})
    assert answer.status_code == 302
    assert answer["Location"] == "/"


def test_the_live_script_gets_its_words_in_german(client: Client) -> None:
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    found = re.search(r'<script id="live-strings" type="application/json">(.*?)</script>', html)
    assert found
    words: dict[str, Any] = json.loads(found.group(1))
    assert words["job"] == "Auftrag {id}"
    assert words["now"] == "jetzt"


def test_the_api_and_the_seed_protocol_stay_english(contest: Contest) -> None:
    client = contest.client(contest.alice)
    answer = client.get("/api/rounds/999999/", HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == "not_found"
    assert "Accept-Language" not in answer.get("Vary", "")
    english = client.get("/api/rounds/999999/").json()
    assert body == english
    anonymous = Client().post("/actions/join_group", {}, HTTP_ACCEPT_LANGUAGE="de")
    assert "Accept-Language" not in anonymous.get("Vary", "")
    assert anonymous.json() == Client().post("/actions/join_group", {}).json()


@override_settings(LOGIN_FAILURES_PER_NAME=1)
def test_a_locked_sign_in_is_german_on_the_page_and_english_for_a_script(
    contest: Contest,
) -> None:
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    page = client.post(
        "/accounts/login/", {"username": "alice", "password": "pw"}, HTTP_ACCEPT_LANGUAGE="de"
    )
    assert page.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen für diesen Benutzernamen" in page.content.decode()
    script = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "pw", "api": "1"},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert script.status_code == 429
    assert script.json()["code"] == "login_throttled"
    assert script.json()["message"].startswith("Too many failed sign-ins for this user name.")
