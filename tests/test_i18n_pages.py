"""Every page in German, with no English left but names and codes.

A rich contest (an open round with done, failed, queued and baseline jobs, a closed and revealed
round, a draft, a worker seen, a private group) is rendered as an anonymous visitor, a student
with and without a group, and an organizer, with ``Accept-Language: de`` (and once by the
switch's cookie): each page's visible text (text nodes and the words a screen reader or a
tooltip shows: ``alt``, ``title``, ``aria-label``, ``placeholder``), less the contest's own names
and codes, must hold none of the common English words below. The live parts (the JSON of
``/live/``) and flashed messages and form errors are checked the same way.

Kept out of the check, as names and codes: ``<code>`` and ``<pre>`` (the worker's own message,
parameter values), the job list's parameter summary (``n_neighbors=5``), a select's options
whose text is their value (scikit-learn's values such as ``uniform``), and the names of users,
groups, datasets, rounds, features, classes, algorithms and parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from mlcontest.algorithms import METRICS, REGISTRY
from mlcontest.contest import rounds
from mlcontest.contest.models import Group, Job, JobState, Round, WorkerSeen
from mlcontest.http import guards
from tests.conftest import Contest, submit
from tests.test_web_student import finish

# Common English words that German text does not contain (words German shares, such as "in",
# "so", "Test", "Status", "Name", "Worker" or "Parameter", are left out). Any English sentence
# holds several of them.
ENGLISH = set(
    """
    the and your you our we they their them this that these those there here with without from
    for into onto not yet no yes of to is are were be been being has have had will would
    can could may might should must do does did done it its at by as or if then than when where
    which what who whom why how all any each every some more most less least only just
    again until while after before since about over under between
    job jobs round rounds group groups submit submitted score scores leaderboard final ranking
    sign signed welcome help join joined create created members member public dataset
    datasets feature features class classes point points validation value values
    waiting queued running failed left quota hidden reveal revealed place places move best
    time over page pages organizer organizers invite password username account none show save
    preview upload file back next new open opened closed close closes opens draft upcoming
    nothing please correct fields field marked below above error errors refused allowed
    settings history limits metric algorithm algorithms parameters scheduled schedule
    because one two three first last already another other others same every nobody none
    yours mine empty default least most between number numbers whole
    spreadsheet labels label features only by manage overview
    projector view leave newest timings pictures picture message choice chosen make
    waited queue result results attempt differed reproducible
    """.split()  # noqa: SIM905
)
# Words of the names and codes that the pages show as they are.
ALWAYS_NAMES = ["scikit-learn", "mlcontest", "mlcontest worker --server URL", "CSV", "UTF-8"]


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes outside script, style, template, code and
    pre, and the alt, title, aria-label and placeholder attributes."""

    SKIPPED = {"script", "style", "template", "code", "pre"}
    SPOKEN = ("alt", "title", "aria-label", "placeholder")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.option_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.SKIPPED or (tag == "span" and "params" in (values.get("class") or "")):
            self.skipping.append(tag)
        self.option_value = values.get("value") if tag == "option" else None
        for name in self.SPOKEN:
            if values.get(name):
                self.parts.append(str(values[name]))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        self.option_value = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.option_value is not None and data.strip() == self.option_value:
            return  # a code shown as itself (scikit-learn's value of a choice)
        self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_words(text: str, names: Iterable[str] = ()) -> set[str]:
    """The English words of ``text`` once the given names (and codes) are taken out."""
    for name in sorted({*names, *ALWAYS_NAMES}, key=len, reverse=True):
        if name:  # as a whole word: the parameter "p" is no part of "Backpropagation"
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", text)
    # Codes: what a German sentence quotes („label“), the live script's placeholders ({score}),
    # identifiers (class_0, n_neighbors) and a job's parameters (scaling=none).
    text = re.sub(r"„[^“]*“|\{\w+\}|\S+=\S+|\w*_\w*", " ", text)
    words = re.findall(r"[A-Za-zÄÖÜäöüß]+", text)
    return {word for word in words if word.lower() in ENGLISH}


def test_the_check_finds_an_untranslated_sentence() -> None:
    # The check can fail: one English sentence, or one word of it, among German.
    assert english_words("Ihre Aufträge. Your group's jobs") >= {"Your", "group", "jobs"}
    assert english_words("Auftrag 3 is queued.") == {"is", "queued"}
    assert english_words("Runde Round 1 offen", names=["Round 1"]) == set()
    html = (
        '<p title="Best test score">Bestenliste</p><script>var the = 1;</script>'
        "<code>the</code><select><option value=uniform>uniform</option></select>"
    )
    assert english_words(visible_text(html)) == {"Best", "score"}


# The contest ---------------------------------------------------------------------------------

NAMES_OF_ALGORITHMS = [name for name in REGISTRY] + [
    param.name for algorithm in REGISTRY.values() for param in algorithm.params
]


@pytest.fixture
def rich(contest: Contest) -> dict[str, Any]:
    """The contest of conftest, filled so that every part of every page shows."""
    Round.objects.filter(pk=contest.round.pk).update(
        name="Runde Eins", description="Zwei Linien aus Punkten.", final_choice_allowed=True
    )
    contest.round.refresh_from_db()
    contest.dataset.description = "Zwei Linien."
    contest.dataset.save()
    done = submit(contest, contest.alice, "knn")
    finish(done, 0.75, 0.5)
    failed = submit(contest, contest.alice, "svm")
    Job.objects.filter(pk=failed.pk).update(
        state=JobState.FAILED,
        success=False,
        message="ValueError: broke",
        finished_at=timezone.now(),
    )
    finish(submit(contest, contest.bob, "decision_tree"), 0.5, 0.75)
    queued = submit(contest, contest.alice, "mlp")
    Job.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    baseline = rounds.allowed_algorithms(contest.round)[0]
    from mlcontest.contest import queue

    base = queue.submit_job(contest.olga, contest.round, baseline, {}, baseline=True)
    finish(base, 0.5, 0.5)
    WorkerSeen.objects.create(worker_key="w-key", user=contest.walter, name="w1")
    from mlcontest.contest import announcements

    announcements.post(contest.olga, "Noch fünf Minuten!", minutes=30)
    announcements.post(contest.olga, "Tipp: skalieren", round_=contest.round)
    announcements.take_down(
        contest.olga, announcements.post(contest.olga, "Vorbei", round_=contest.round)
    )
    Group.objects.create(name="Gamma", public=True, created_by=contest.olga)

    closed = rounds.create_round(
        contest.olga,
        name="Runde Zwei",
        dataset=contest.dataset,
        metric="accuracy",
        job_quota=5,
        queued_quota=3,
    )
    rounds.open_round(contest.olga, closed)
    closed_job = queue.submit_job(contest.alice, closed, "knn", {})
    finish(closed_job, 0.75, 0.75)
    bob_job = queue.submit_job(contest.bob, closed, "knn", {})
    finish(bob_job, 0.5, 1.0)
    rounds.close_round(contest.olga, closed)
    # A round revealed as a show, one place out so far.
    from mlcontest.contest import reveal_show

    shown = rounds.create_round(
        contest.olga, name="Runde Vier", dataset=contest.dataset, metric="accuracy"
    )
    rounds.update_round(contest.olga, shown, reveal_show=True)
    rounds.open_round(contest.olga, shown)
    finish(queue.submit_job(contest.alice, shown, "knn", {}), 0.75, 0.75)
    finish(queue.submit_job(contest.bob, shown, "knn", {}), 0.75, 0.5)
    rounds.close_round(contest.olga, shown)
    reveal_show.reveal_places(contest.olga, shown, 1)
    from mlcontest.contest import courses

    course = courses.create_course(contest.olga, "Kurs ML", "Ein Semester.", [10, 6, 3])
    courses.set_rounds(contest.olga, course, [contest.round, closed])
    draft = rounds.create_round(
        contest.olga,
        name="Runde Drei",
        dataset=contest.dataset,
        metric="accuracy",
        starts_at=timezone.now() + timedelta(days=2),
    )
    names = [
        "alice",
        "bob",
        "carol",
        "olga",
        "walter",
        "Alpha",
        "Beta",
        "Gamma",
        "tiny",
        "Runde Eins",
        "Runde Zwei",
        "Runde Drei",
        "Runde Vier",
        "w1",
        "w-key",
        "Noch fünf Minuten!",
        "Tipp: skalieren",
        "Vorbei",
        "Kurs ML",
        "Ein Semester.",
        *contest.dataset.feature_names,
        *METRICS,
        *NAMES_OF_ALGORITHMS,
    ]
    return {
        "open": contest.round,
        "closed": closed,
        "draft": draft,
        "done": done,
        "failed": failed,
        "queued": queued,
        "baseline": base,
        "names": names,
        "course": course,
        "shown": shown,
    }


def german(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    return client


def checked(response: Any, names: list[str], status: int = 200) -> str:
    """The page's visible text, asserted German (its status too)."""
    assert response.status_code == status, response
    html = response.content.decode()
    assert '<html lang="de">' in html
    text = visible_text(html)
    assert english_words(text, names) == set(), text
    return text


def checked_parts(response: Any, names: list[str]) -> None:
    """The HTML parts of a live answer, each asserted German."""
    answer = response.json()
    assert answer["parts"]
    for name, html in answer["parts"].items():
        text = visible_text(html)
        assert english_words(text, names) == set(), (name, text)


# The pages -----------------------------------------------------------------------------------

STUDENT_PAGES = [
    ("web:rounds", ()),
    ("web:groups", ()),
    ("web:help", ()),
]


@override_settings(SIGNUP_CODE="KURS-1")
def test_anonymous_pages_are_german(rich: dict[str, Any]) -> None:
    names = rich["names"]
    client = german(Client())
    text = checked(client.get("/accounts/login/"), names)
    assert "Anmelden" in text and "Benutzername" in text and "Passwort" in text
    checked(client.get(reverse("web:help")), names)
    text = checked(client.get(reverse("web:signup")), names)
    assert "Kurscode" in text
    # Form errors: a wrong sign-in, a sign-up with a wrong code and a weak password.
    text = checked(client.post("/accounts/login/", {"username": "x", "password": "y"}), names)
    assert "Benutzername oder Passwort ist falsch" in text
    refused = client.post(
        reverse("web:signup"), {"username": "neu", "password": "123", "class_code": "nein"}
    )
    text = checked(refused, names)
    assert "Das ist nicht der Kurscode." in text
    checked(client.get("/nirgendwo/"), names, status=404)
    with override_settings(SIGNUP_CODE=""):
        checked(client.get(reverse("web:signup")), names, status=404)


def test_a_students_pages_are_german(contest: Contest, rich: dict[str, Any]) -> None:
    names = rich["names"]
    client = german(contest.client(contest.alice))
    for name, args in STUDENT_PAGES:
        checked(client.get(reverse(name, args=args)), names)
    text = checked(client.get(reverse("web:round", args=[rich["open"].pk])), names)
    assert "Einen Auftrag einreichen" in text and "Bestenliste" in text
    assert "Noch fünf Minuten!" in text and "Tipp: skalieren" in text  # the announcements
    assert "0,750" in text  # the page's decimal comma
    text = checked(client.get(reverse("web:round", args=[rich["closed"].pk])), names)
    assert "Endwertung" in text
    text = checked(client.get(reverse("web:round", args=[rich["shown"].pk])), names)
    assert "Platz für Platz" in text  # the show: one place out so far
    checked_parts(client.get(reverse("web:round_live", args=[rich["shown"].pk])), names)
    for job in ("done", "failed", "queued"):
        checked(client.get(reverse("web:job", args=[rich[job].pk])), names)
    text = checked(client.get(reverse("web:course", args=[rich["course"].pk])), names)
    assert "Kurs ML" in text
    checked(client.get(reverse("web:group", args=[contest.alpha.pk])), names)
    checked(client.get(reverse("web:group", args=[Group.objects.get(name="Gamma").pk])), names)
    # Another group's job: the 404 page; an organizer's page: organizers only.
    other = Job.objects.filter(group=contest.beta).first()
    assert other is not None
    checked(client.get(reverse("web:job", args=[other.pk])), names, status=404)
    checked(client.get(reverse("web:overview")), names, status=403)
    # The live parts.
    checked_parts(client.get(reverse("web:round_live", args=[rich["open"].pk])), names)
    checked_parts(client.get(reverse("web:round_live", args=[rich["closed"].pk])), names)
    checked_parts(client.get(reverse("web:job_live", args=[rich["done"].pk])), names)
    checked_parts(client.get(reverse("web:announcements_live")), names)
    checked_parts(
        client.get(reverse("web:announcements_round_live", args=[rich["open"].pk])), names
    )


def test_a_students_messages_and_form_errors_are_german(
    contest: Contest, rich: dict[str, Any]
) -> None:
    names = rich["names"]
    client = german(contest.client(contest.alice))
    round_url = reverse("web:round", args=[rich["open"].pk])
    # A refused job: the registry's refusal next to its field, in German.
    refused = client.post(round_url, {"algorithm": "knn", "knn-n_neighbors": "500"})
    text = checked(refused, names, status=400)
    assert "höchstens" in text
    # A job the quota refuses (the domain's message): Alpha has used 3 jobs.
    knn = {"algorithm": "knn", **{f"knn-{k}": v for k, v in _knn_defaults().items()}}
    Round.objects.filter(pk=rich["open"].pk).update(job_quota=3)
    text = checked(client.post(round_url, knn), names, status=400)
    assert "Ihre Gruppe hat alle 3 Aufträge" in text
    # A submitted job: the flashed notice on the page it comes back to.
    Round.objects.filter(pk=rich["open"].pk).update(job_quota=20, queued_quota=10)
    submitted = client.post(round_url, knn)
    assert submitted.status_code == 302
    text = checked(client.get(submitted["Location"]), names)
    assert re.search(r"Auftrag \d+ wartet\.", text)
    # The final choice, and joining: flashed messages.
    answer = client.post(reverse("web:job_final", args=[rich["done"].pk]))
    text = checked(client.get(answer["Location"]), names)
    assert "endgültige Wahl" in text
    answer = client.post(reverse("web:group_join"), {"code-group_name": "Gamma"})
    text = checked(client.get(answer["Location"]), names)
    assert "Sie sind jetzt in Gamma." in text
    answer = client.post(reverse("web:group_join"), {"code-group_name": "Nirgends"})
    text = checked(client.get(answer["Location"]), names)
    assert "Keine Gruppe namens" in text


def _knn_defaults() -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in REGISTRY["knn"].defaults().items()}


def test_a_student_without_a_group_sees_german(contest: Contest, rich: dict[str, Any]) -> None:
    names = rich["names"]
    client = german(contest.client(contest.carol))
    text = checked(client.get(reverse("web:rounds")), names)
    assert "noch in keiner Gruppe" in text
    checked(client.get(reverse("web:round", args=[rich["open"].pk])), names)
    checked(client.get(reverse("web:groups")), names)
    with override_settings(STUDENTS_CREATE_GROUPS=True):
        refused = client.post(
            reverse("web:groups"), {"create-group_name": "Alpha", "create-public": "on"}
        )
        text = checked(refused, names, status=400)
        assert "existiert bereits" in text


def test_an_organizers_pages_are_german(contest: Contest, rich: dict[str, Any]) -> None:
    names = rich["names"]
    client = german(contest.client(contest.olga))
    pages = [
        reverse("web:overview"),
        reverse("web:overview") + f"?round={rich['open'].pk}",
        reverse("web:datasets"),
        reverse("web:dataset_new"),
        reverse("web:round_new"),
        reverse("web:announcements"),
        reverse("web:courses"),
        reverse("web:course", args=[rich["course"].pk]),
        reverse("web:course_projector", args=[rich["course"].pk]),
        reverse("web:course_edit", args=[rich["course"].pk]),
        reverse("web:rounds"),
        reverse("web:groups"),
        reverse("web:help"),
    ]
    for key in ("open", "closed", "draft", "shown"):
        pages.append(reverse("web:manage_round", args=[rich[key].pk]))
        pages.append(reverse("web:projector", args=[rich[key].pk]))
    pages.append(reverse("web:round", args=[rich["open"].pk]))  # with the final ranking preview
    pages.append(reverse("web:job", args=[rich["baseline"].pk]))
    for url in pages:
        checked(client.get(url), names)
    for key in ("open", "closed", "shown"):
        checked_parts(client.get(reverse("web:projector_live", args=[rich[key].pk])), names)
    # A refused step of the show (its flashed refusal), then the next place.
    reveal = reverse("web:round_reveal", args=[rich["shown"].pk])
    text = checked(client.get(client.post(reveal, {"places": "x"})["Location"]), names)
    assert "Sagen" in text or "Plätze" in text
    checked(client.get(client.post(reveal, {"places": "2"})["Location"]), names)
    # Form errors and previews.
    text = checked(client.post(reverse("web:round_new"), {"name": ""}), names, status=400)
    assert "Dieses Feld ist zwingend erforderlich." in text  # Django's own German
    preview = client.post(
        reverse("web:dataset_new"),
        {
            "name": "Monde",
            "source": "generate",
            "kind": "moons",
            "n_points": "60",
            "noise": "0.1",
            "seed": "1",
            "action": "preview",
        },
    )
    text = checked(preview, [*names, "Monde", "moons"])
    assert "Punkte" in text
    refused = client.post(reverse("web:dataset_new"), {"name": "Leer", "source": "csv"})
    text = checked(refused, [*names, "Leer"])
    assert "Wählen Sie eine CSV-Datei." in text
    # A course refused (its name is taken), then created.
    refused = client.post(reverse("web:courses"), {"name": "Kurs ML", "points": "3, 2, 1"})
    text = checked(refused, names, status=400)
    assert "Es gibt bereits einen Kurs namens" in text
    created = client.post(reverse("web:courses"), {"name": "Kurs Zwei", "points": "x"})
    text = checked(created, [*names, "Kurs Zwei"], status=created.status_code)
    # An announcement refused, then posted.
    refused = client.post(reverse("web:announcements"), {"text": "x", "minutes": "0"})
    text = checked(refused, names, status=400)
    assert "ist keine gültige Auswahl" in text
    posted = client.post(reverse("web:announcements"), {"text": "Pause", "minutes": "5"})
    assert posted.status_code == 302
    checked(client.get(posted["Location"]), [*names, "Pause"])
    # Flashed messages of the round's actions.
    answer = client.post(reverse("web:round_action", args=[rich["draft"].pk, "open"]))
    text = checked(client.get(answer["Location"]), names)
    assert "ist offen" in text
    answer = client.post(
        reverse("web:round_baseline", args=[rich["open"].pk]), {"algorithm": "knn"}
    )
    text = checked(client.get(answer["Location"]), names)
    assert "Referenzauftrag" in text


def test_the_403_page_is_german(contest: Contest, rich: dict[str, Any]) -> None:
    request = RequestFactory().get("/manage/")
    request.user = contest.alice
    with translation.override("de"):
        denied = guards.permission_denied(request, PermissionDenied())
    assert denied.status_code == 403
    text = visible_text(denied.content.decode())
    assert "Nicht erlaubt" in text
    assert english_words(text, rich["names"]) == set(), text


def test_the_switch_turns_the_round_page_german(contest: Contest, rich: dict[str, Any]) -> None:
    client = contest.client(contest.alice)
    url = reverse("web:round", args=[rich["open"].pk])
    english = visible_text(client.get(url).content.decode())
    assert "Submit a job" in english and "Leaderboard" in english
    answer = client.post(reverse("set_language"), {"language": "de", "next": url})
    assert answer["Location"] == url
    assert client.cookies["django_language"].value == "de"
    response = client.get(url)  # no Accept-Language: the cookie decides
    checked(response, rich["names"])
    words = json.loads(
        re.search(
            r'<script id="live-strings" type="application/json">(.*?)</script>',
            response.content.decode(),
        ).group(1)  # type: ignore[union-attr]
    )
    assert english_words(" ".join(words.values())) == set()
    # The database is untouched by the language: the same jobs, the same states.
    assert Job.objects.filter(round=rich["open"], state=JobState.DONE).count() == 3


def test_the_error_pages_outside_the_layout_are_german(contest: Contest) -> None:
    """The 500 and 400 pages, the database outage page and the plain-text refusals that come
    before any view (a body too large for a page's form)."""
    from mlcontest.http import db_outage

    request = RequestFactory().get("/rounds/", HTTP_ACCEPT_LANGUAGE="de")
    request.user = contest.alice
    with translation.override("de"):
        pages = [
            guards.server_error(request),
            guards.bad_request(request, ValueError("broken")),
        ]
    pages.append(db_outage.outage_response(request))  # it chooses the language itself
    for page in pages:
        html = page.content.decode()
        assert '<html lang="de">' in html
        assert english_words(visible_text(html)) == set(), html
    assert "Die Datenbank antwortet nicht" in pages[2].content.decode()

    with override_settings(MAX_BODY_BYTES=1000):
        big = german(Client()).post(
            reverse("web:signup"), {"username": "x" * 2000}, HTTP_ACCEPT_LANGUAGE="de"
        )
    assert big.status_code == 413
    text = big.content.decode()
    assert text.startswith("Der Inhalt hat ") and english_words(text) == set(), text
    # The same refusal on the API stays English.
    with override_settings(MAX_BODY_BYTES=1000):
        api = Client().post("/api/groups/", {"name": "x" * 2000}, HTTP_ACCEPT_LANGUAGE="de")
    assert api.status_code == 413
    assert api.json()["message"].startswith("The body has ")
