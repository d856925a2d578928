"""Announcements (issue 11): an organizer posts a short message that every page shows.

The domain (who posts, the text, the scope, the end), the JSON API (answer and rows), the web
(the box on every page, escaped; the organizers' form; the live part's cheap unchanged answer)
and the ``mlcontest announcement`` commands. tests/test_browser_announce.py shows a student's
page and the projector picking one up in Chromium without a reload.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mlcontest.cli.main import main
from mlcontest.contest import announcements, rounds
from mlcontest.contest.errors import InvalidInput, NotFound, PermissionDenied
from mlcontest.contest.models import Announcement, Round
from tests.conftest import Contest, submit
from tests.protocol_helpers import assert_error, logged_in, ok_json

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


@pytest.fixture(autouse=True)
def fresh_announcements() -> Iterator[None]:
    """An empty per-process cache: on SQLite the next test's rows get the same ids."""
    announcements.forget_cache()
    yield
    announcements.forget_cache()


def draft_round(contest: Contest) -> Round:
    return rounds.create_round(
        contest.olga, name="Later", dataset=contest.dataset, metric="accuracy"
    )


def texts(viewer: Any, round_id: int | None = None) -> list[str]:
    return [row.text for row in announcements.shown_on(viewer, round_id)]


# --- the domain ------------------------------------------------------------------------------


def test_an_organizer_announces_to_every_page(contest: Contest) -> None:
    posted = announcements.post(contest.olga, "5 minutes left")
    row = Announcement.objects.get()
    assert (row.pk, row.text, row.author, row.round, row.ends_at) == (
        posted.pk,
        "5 minutes left",
        contest.olga,
        None,
        None,
    )
    for viewer in (contest.alice, contest.carol, contest.olga):
        assert texts(viewer) == ["5 minutes left"]
        assert texts(viewer, contest.round.pk) == ["5 minutes left"]


@pytest.mark.parametrize("who", ["alice", "walter"])
def test_only_organizers_announce(contest: Contest, who: str) -> None:
    with pytest.raises(PermissionDenied):
        announcements.post(getattr(contest, who), "Free pizza")
    assert not Announcement.objects.exists()


def test_the_text_is_one_line_of_at_most_280_characters(contest: Contest) -> None:
    posted = announcements.post(contest.olga, "  Try\n scaling \t the features  ")
    assert posted.text == Announcement.objects.get().text == "Try scaling the features"
    assert len(announcements.post(contest.olga, "x" * 280).text) == 280
    for text in ("", " \n\t ", "x" * 281):
        with pytest.raises(InvalidInput) as refused:
            announcements.post(contest.olga, text)
        assert "text" in refused.value.fields
    assert Announcement.objects.count() == 2


def test_minutes_set_the_end(contest: Contest) -> None:
    posted = announcements.post(contest.olga, "Quick quiz", minutes=5)
    assert posted.ends_at is not None
    assert posted.ends_at - posted.created_at == timedelta(minutes=5)
    for minutes in (0, -1, 24 * 60 + 1):
        with pytest.raises(InvalidInput) as refused:
            announcements.post(contest.olga, "Quick quiz", minutes=minutes)
        assert "minutes" in refused.value.fields
    assert Announcement.objects.count() == 1


def test_an_ended_announcement_leaves_every_page(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    announcements.post(contest.olga, "Quick quiz", minutes=1)
    assert texts(contest.alice) == ["Quick quiz"]
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr(announcements.timezone, "now", lambda: later)
    # Gone at once, from the cached read too: no page shows it a moment longer.
    assert texts(contest.alice) == []


def test_a_rounds_announcement_is_on_that_rounds_pages_only(contest: Contest) -> None:
    other = rounds.create_round(
        contest.olga, name="Other", dataset=contest.dataset, metric="accuracy"
    )
    rounds.open_round(contest.olga, other)
    announcements.post(contest.olga, "Round 1: try an SVM", round_=contest.round)
    assert texts(contest.alice, contest.round.pk) == ["Round 1: try an SVM"]
    assert texts(contest.alice) == []
    assert texts(contest.alice, other.pk) == []
    assert Announcement.objects.get().round == contest.round


def test_a_drafts_announcement_is_for_organizers_only(contest: Contest) -> None:
    draft = draft_round(contest)
    announcements.post(contest.olga, "Starts at 10:45", round_=draft)
    assert texts(contest.olga, draft.pk) == ["Starts at 10:45"]
    assert texts(contest.alice, draft.pk) == []
    assert announcements.listed(contest.alice) == []
    rounds.open_round(contest.olga, draft)
    announcements.forget_cache()  # the state moved in this process; others see it in 0.5 s
    assert texts(contest.alice, draft.pk) == ["Starts at 10:45"]


def test_taking_down_ends_it_now_and_only_organizers_may(contest: Contest) -> None:
    posted = announcements.post(contest.olga, "5 minutes left")
    with pytest.raises(PermissionDenied):
        announcements.take_down(contest.alice, posted)
    assert Announcement.objects.get().ends_at is None
    announcements.take_down(contest.olga, posted)
    ended = Announcement.objects.get().ends_at
    assert ended is not None and ended <= timezone.now()
    assert texts(contest.alice) == []
    announcements.take_down(contest.olga, posted)  # again: it stays as it ended
    assert Announcement.objects.get().ends_at == ended


def test_pages_show_the_three_newest(contest: Contest) -> None:
    for number in range(5):
        announcements.post(contest.olga, f"Hint {number}")
    assert texts(contest.alice) == ["Hint 4", "Hint 3", "Hint 2"]


def test_an_unchanged_read_costs_no_query_and_a_change_elsewhere_is_seen_soon(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted = announcements.post(contest.olga, "5 minutes left")
    assert texts(contest.alice) == ["5 minutes left"]
    with CaptureQueriesContext(connection) as queries:
        assert texts(contest.alice) == ["5 minutes left"]
    assert len(queries) == 0
    # Another server process takes it down: this one reads again once its cache runs out.
    Announcement.objects.filter(pk=posted.pk).update(ends_at=timezone.now())
    clock = announcements.time.monotonic() + announcements.CACHE_SECONDS + 0.01
    monkeypatch.setattr(announcements.time, "monotonic", lambda: clock)
    assert texts(contest.alice) == []


def test_the_signature_follows_what_is_shown(contest: Contest) -> None:
    empty = announcements.signature(announcements.shown_on(contest.alice))
    posted = announcements.post(contest.olga, "5 minutes left")
    shown = announcements.signature(announcements.shown_on(contest.alice))
    assert shown != empty
    Announcement.objects.filter(pk=posted.pk).update(text="4 minutes left")  # the admin
    announcements.forget_cache()
    assert announcements.signature(announcements.shown_on(contest.alice)) not in (shown, empty)


# --- the JSON API ----------------------------------------------------------------------------


def api_post(user: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    return logged_in(user).post(path, json.dumps(body or {}), content_type="application/json")


def test_api_an_organizer_announces(contest: Contest) -> None:
    answer = ok_json(
        api_post(contest.olga, "/api/announcements/", {"text": " 5 minutes\nleft", "minutes": 5}),
        201,
    )
    row = Announcement.objects.get()
    assert answer == {
        "id": row.pk,
        "text": "5 minutes left",
        "round": None,
        "author": "olga",
        "created_at": row.created_at.isoformat(),
        "ends_at": row.ends_at.isoformat() if row.ends_at else "missing",
        "current": True,
    }
    assert row.author == contest.olga and row.ends_at is not None
    assert row.ends_at - row.created_at == timedelta(minutes=5)


def test_api_a_rounds_announcement(contest: Contest) -> None:
    answer = ok_json(
        api_post(contest.olga, "/api/announcements/", {"text": "Hint", "round": contest.round.pk}),
        201,
    )
    assert answer["round"] == contest.round.pk and answer["ends_at"] is None
    assert Announcement.objects.get().round == contest.round
    body = assert_error(
        api_post(contest.olga, "/api/announcements/", {"text": "Hint", "round": 999999}),
        400,
        "invalid",
        ("round",),
    )
    assert "999999" in body["message"]
    assert Announcement.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("text",)),
        ({"text": ""}, ("text",)),
        ({"text": "x" * 281}, ("text",)),
        ({"text": 5}, ("text",)),
        ({"text": "Hint", "minutes": "soon"}, ("minutes",)),
        ({"text": "Hint", "minutes": 0}, ("minutes",)),
        ({"text": "Hint", "colour": "red"}, ("colour",)),
    ],
)
def test_api_refuses_what_is_not_an_announcement(
    contest: Contest, body: dict[str, Any], fields: tuple[str, ...]
) -> None:
    assert_error(api_post(contest.olga, "/api/announcements/", body), 400, "invalid", fields)
    assert not Announcement.objects.exists()


def test_api_students_neither_announce_nor_take_down(contest: Contest) -> None:
    assert_error(api_post(contest.alice, "/api/announcements/", {"text": "Hi"}), 403, "forbidden")
    assert not Announcement.objects.exists()
    posted = announcements.post(contest.olga, "5 minutes left")
    assert_error(api_post(contest.alice, f"/api/announcements/{posted.pk}/end/"), 403, "forbidden")
    assert Announcement.objects.get().ends_at is None
    assert_error(logged_in(None).get("/api/announcements/"), 401, "not_authenticated")


def test_api_lists_what_the_viewer_may_see(contest: Contest) -> None:
    site = announcements.post(contest.olga, "Everyone")
    mine = announcements.post(contest.olga, "Round 1", round_=contest.round)
    announcements.post(contest.olga, "Draft", round_=draft_round(contest))
    ended = announcements.post(contest.olga, "Old")
    announcements.take_down(contest.olga, ended)

    def listed(user: Any, query: str = "") -> list[str]:
        answer = ok_json(logged_in(user).get(f"/api/announcements/{query}"))
        return [row["text"] for row in answer["announcements"]]

    assert listed(contest.alice) == ["Round 1", "Everyone"]
    assert listed(contest.alice, "?ended=1") == ["Round 1", "Everyone"]  # organizers only
    assert listed(contest.olga) == ["Draft", "Round 1", "Everyone"]
    assert listed(contest.olga, "?ended=1") == ["Old", "Draft", "Round 1", "Everyone"]
    assert listed(contest.alice, f"?round={contest.round.pk}") == ["Round 1", "Everyone"]
    assert (site.pk, mine.pk) == tuple(
        Announcement.objects.filter(ends_at__isnull=True, text__in=["Everyone", "Round 1"])
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    assert_error(logged_in(contest.alice).get("/api/announcements/?round=999999"), 404)


def test_api_taking_down(contest: Contest) -> None:
    posted = announcements.post(contest.olga, "5 minutes left")
    answer = ok_json(api_post(contest.olga, f"/api/announcements/{posted.pk}/end/"))
    row = Announcement.objects.get()
    assert answer["current"] is False and row.ends_at is not None
    assert answer["ends_at"] == row.ends_at.isoformat()
    assert_error(api_post(contest.olga, "/api/announcements/999999/end/"), 404, "not_found")


# --- the web ---------------------------------------------------------------------------------


def page(user: Any, path: str) -> str:
    response = logged_in(user).get(path)
    assert response.status_code == 200, (path, response.status_code)
    return str(response.content.decode())


def test_every_page_shows_it_escaped(contest: Contest) -> None:
    announcements.post(contest.olga, HOSTILE)
    job = submit(contest, contest.alice)
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    paths = [
        reverse("web:rounds"),
        reverse("web:groups"),
        reverse("web:help"),
        reverse("web:round", args=[contest.round.pk]),
        reverse("web:job", args=[job.pk]),
    ]
    for path in paths:
        html = page(contest.alice, path)
        assert escaped in html, path
        assert "<script>alert" not in html and "<b>bold" not in html, path
        assert 'role="status" aria-live="polite"' in html, path
        assert "Take down" not in html, path  # students only read
    for path in (reverse("web:projector", args=[contest.round.pk]), reverse("web:overview")):
        html = page(contest.olga, path)
        assert escaped in html and "Take down" in html, path


def test_signed_out_pages_have_no_box(contest: Contest) -> None:
    announcements.post(contest.olga, "Quiz at 10:45")
    html = logged_in(None).get(reverse("web:help")).content.decode()
    assert "Quiz at 10:45" not in html and 'data-part="announcements"' not in html


def test_a_rounds_announcement_on_its_round_and_job_pages(contest: Contest) -> None:
    announcements.post(contest.olga, "Try an SVM", round_=contest.round)
    job = submit(contest, contest.alice)
    assert "Try an SVM" in page(contest.alice, reverse("web:round", args=[contest.round.pk]))
    assert "Try an SVM" in page(contest.alice, reverse("web:job", args=[job.pk]))
    assert "Try an SVM" not in page(contest.alice, reverse("web:groups"))
    html = page(contest.olga, reverse("web:projector", args=[contest.round.pk]))
    assert "Try an SVM" in html
    assert f'data-live="/live/announcements/{contest.round.pk}/"' in html


def live(client: Any, since: str = "", round_id: int | None = None) -> dict[str, Any]:
    path = reverse("web:announcements_live")
    if round_id is not None:
        path = reverse("web:announcements_round_live", args=[round_id])
    answer = client.get(path, {"since": since} if since else {})
    assert answer.status_code == 200
    return dict(answer.json())


def test_the_live_part_answers_unchanged_cheaply_and_brings_the_new_one(
    contest: Contest,
) -> None:
    client = logged_in(contest.alice)
    first = live(client)
    assert first["parts"]["announcements"].strip() == ""
    live(client, first["signature"])  # the session and the user are cached from here on
    with CaptureQueriesContext(connection) as queries:
        assert live(client, first["signature"]) == {"unchanged": True}
    # The figure an idle class costs: not one query per poll (the session, the user and the
    # announcements are all cached per process).
    assert len(queries) == 0, [query["sql"] for query in queries.captured_queries]
    announcements.post(contest.olga, HOSTILE)
    changed = live(client, first["signature"])
    assert changed["signature"] != first["signature"]
    assert "&lt;script&gt;" in changed["parts"]["announcements"]
    assert "<script>" not in changed["parts"]["announcements"]
    assert live(client, changed["signature"]) == {"unchanged": True}


def test_the_live_part_of_a_round(contest: Contest) -> None:
    announcements.post(contest.olga, "Try an SVM", round_=contest.round)
    client = logged_in(contest.alice)
    assert "Try an SVM" in live(client, round_id=contest.round.pk)["parts"]["announcements"]
    assert "Try an SVM" not in live(client)["parts"]["announcements"]


def test_the_live_part_signed_out_is_unchanged(contest: Contest) -> None:
    announcements.post(contest.olga, "5 minutes left")
    assert live(logged_in(None)) == {"unchanged": True}


def test_an_organizer_announces_from_the_web(contest: Contest) -> None:
    client = logged_in(contest.olga)
    back = reverse("web:manage_round", args=[contest.round.pk])
    response = client.post(
        reverse("web:announcements"),
        {"text": "5 minutes left", "round": "", "minutes": "5", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    row = Announcement.objects.get()
    assert (row.text, row.round, row.author) == ("5 minutes left", None, contest.olga)
    assert row.ends_at is not None and row.ends_at - row.created_at == timedelta(minutes=5)
    assert "Announced on every page" in client.get(back).content.decode()
    client.post(
        reverse("web:announcements"),
        {"text": "Try an SVM", "round": str(contest.round.pk), "minutes": "", "next": back},
    )
    row = Announcement.objects.get(text="Try an SVM")
    assert row.round == contest.round and row.ends_at is None
    assert "Announced on the pages of Round 1" in client.get(back).content.decode()
    listing = page(contest.olga, reverse("web:announcements"))
    assert "5 minutes left" in listing and "Try an SVM" in listing


def test_an_unsafe_next_goes_to_the_announcements_page(contest: Contest) -> None:
    response = logged_in(contest.olga).post(
        reverse("web:announcements"), {"text": "Hi", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:announcements")


@pytest.mark.parametrize("text", ["", "x" * 281])
def test_the_form_refuses_with_the_field_marked(contest: Contest, text: str) -> None:
    response = logged_in(contest.olga).post(reverse("web:announcements"), {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_text_error"' in html
    assert not Announcement.objects.exists()


def test_students_cannot_announce_from_the_web(contest: Contest) -> None:
    response = logged_in(contest.alice).post(reverse("web:announcements"), {"text": "Hi all"})
    assert response.status_code == 403
    assert not Announcement.objects.exists()
    posted = announcements.post(contest.olga, "5 minutes left")
    response = logged_in(contest.alice).post(reverse("web:announcement_end", args=[posted.pk]))
    assert response.status_code == 403
    assert Announcement.objects.get().ends_at is None


def test_an_organizer_takes_it_down_from_the_web(contest: Contest) -> None:
    posted = announcements.post(contest.olga, "5 minutes left")
    projector = reverse("web:projector", args=[contest.round.pk])
    response = logged_in(contest.olga).post(
        reverse("web:announcement_end", args=[posted.pk]),
        HTTP_REFERER=f"http://testserver{projector}",
    )
    assert response.status_code == 302 and response["Location"].endswith(projector)
    assert Announcement.objects.get().ends_at is not None
    assert "5 minutes left" not in page(contest.alice, reverse("web:rounds"))
    missing = logged_in(contest.olga).post(reverse("web:announcement_end", args=[999999]))
    assert missing.status_code == 404


def test_the_forms_are_on_the_organizers_pages(contest: Contest) -> None:
    for path in (
        reverse("web:overview"),
        reverse("web:manage_round", args=[contest.round.pk]),
        reverse("web:projector", args=[contest.round.pk]),
    ):
        html = page(contest.olga, path)
        assert f'action="{reverse("web:announcements")}"' in html, path
        assert f'name="next" value="{path}"' in html, path


# --- the command line ------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_commands(contest: Contest, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "announcement", "post", "5 minutes  left", "--minutes", "5")
    row = Announcement.objects.get()
    assert (code, err) == (0, "")
    assert out.startswith(f"announced {row.pk} on every page, until ")
    assert out.rstrip().endswith(": 5 minutes left")
    assert row.author is not None and row.author.username == "mlcontest-cli"
    code, out, _ = run(
        capsys, "announcement", "post", "Try an SVM", "--round", str(contest.round.pk)
    )
    assert code == 0 and f"on round {contest.round.pk}'s pages, until taken down" in out
    assert Announcement.objects.get(text="Try an SVM").round == contest.round
    code, out, _ = run(capsys, "announcement", "list")
    assert code == 0 and "5 minutes left" in out and "Try an SVM" in out
    code, out, _ = run(capsys, "announcement", "end", str(row.pk))
    assert code == 0 and out.startswith(f"ended announcement {row.pk} at ")
    assert Announcement.objects.get(pk=row.pk).ends_at is not None
    _, out, _ = run(capsys, "announcement", "list")
    assert "5 minutes left" not in out
    _, out, _ = run(capsys, "announcement", "list", "--all")
    assert "5 minutes left" in out and "ended" in out


def test_the_commands_refuse_plainly(contest: Contest, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "announcement", "post", "x" * 281)
    assert code == 2 and err.startswith("error: An announcement has at most 280 characters")
    code, _, err = run(capsys, "announcement", "post", "Hi", "--round", "999999")
    assert code == 2 and "No round 999999" in err
    code, _, err = run(capsys, "announcement", "end", "999999")
    assert code == 2 and "No announcement 999999" in err
    assert not Announcement.objects.exists()
    with pytest.raises(NotFound):
        announcements.find(contest.olga, 999999)


# --- German ----------------------------------------------------------------------------------


def test_in_german(contest: Contest) -> None:
    announcements.post(contest.olga, "Noch 5 Minuten")
    german = {"Accept-Language": "de"}
    student = logged_in(contest.alice).get(reverse("web:rounds"), headers=german).content.decode()
    assert "Mitteilung: </span>" in student and "Noch 5 Minuten" in student
    organizer = logged_in(contest.olga)
    overview = organizer.get(reverse("web:overview"), headers=german).content.decode()
    for words in (
        "Gezeigt auf",
        "Jede Seite (die ganze Website)",
        "bis zum Entfernen",
        "Entfernen",
    ):
        assert words in overview, words
    refused = organizer.post(reverse("web:announcements"), {"text": "x" * 281}, headers=german)
    assert refused.status_code == 400 and "Mitteilungen" in refused.content.decode()
    organizer.post(
        reverse("web:announcements"), {"text": "Tipp", "next": "/manage/"}, headers=german
    )
    said = organizer.get(reverse("web:overview"), headers=german).content.decode()
    assert "Auf jeder Seite mitgeteilt" in said
    # The API stays English.
    answer = organizer.post(
        "/api/announcements/", json.dumps({"text": " "}), "application/json", headers=german
    )
    body = assert_error(answer, 400)
    assert body["message"] == "Write the announcement."
