"""Training data for students (issue 11): the round's training points with labels, and its test
and validation features without, as CSV files that spreadsheets open with their umlauts, for
everyone who may see the round, never with a hidden label."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mlcontest.contest import datasets, rounds, training_data
from mlcontest.contest.models import Dataset, Round
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, logged_in, ok_json
from tests.test_hidden_labels import ROLES, as_role

PARTS = training_data.PARTS


def web_path(round_: Round, part: str) -> str:
    return reverse("web:round_data", args=[round_.pk, part])


def api_path(round_: Round, part: str) -> str:
    return f"/api/rounds/{round_.pk}/data/{part}.csv"


def paths(round_: Round, part: str) -> list[str]:
    return [web_path(round_, part), api_path(round_, part)]


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 only with it
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def truth(dataset: Dataset) -> list[dict[str, Any]]:
    """Every point as the seed lists it, with every label (the organizers' view)."""
    return list(json.loads(datasets.points_json(dataset, with_hidden_labels=True)))


@pytest.mark.parametrize("role", [*ROLES, "organizer"])
def test_the_files_parse_back_to_the_same_points(contest: Contest, role: str) -> None:
    get, _ = as_role(contest, role)
    points = truth(contest.dataset)
    training = read_csv(get(api_path(contest.round, "training")))
    held_out = read_csv(get(web_path(contest.round, "test-validation")))
    assert training[0] == ["id", "split", "x", "y", "label"]
    assert held_out[0] == ["id", "split", "x", "y"]  # no label column at all
    by_id = {point["id"]: point for point in points}
    for row in training[1:] + held_out[1:]:
        point = by_id.pop(int(row[0]))
        assert row[1] == point["split"]
        assert [float(value) for value in row[2:4]] == [point["x"], point["y"]]
        assert row[4:] == ([point["label"]] if point["split"] == "training" else [])
    assert by_id == {}  # every point once
    assert [row[1] for row in training[1:]] == ["training"] * 12
    assert {row[1] for row in held_out[1:]} == {"test", "validation"}


@pytest.mark.parametrize("role", ROLES)
def test_no_hidden_label_in_any_download(contest: Contest, role: str) -> None:
    get, _ = as_role(contest, role)
    hidden_ids = {str(p["id"]) for p in truth(contest.dataset) if p["split"] != "training"}
    labels = set(contest.dataset.class_labels)
    for part in PARTS:
        for path in paths(contest.round, part):
            rows = read_csv(get(path))
            assert "label" not in rows[0] or part == "training"
            # Every hidden point is looked at below: a file of headers only must fail.
            listed = {row[0] for row in rows[1:]}
            assert (listed == hidden_ids) is (part == "test-validation"), (path, listed)
            for row in rows[1:]:
                if row[0] in hidden_ids:  # a test or validation point: no label anywhere in it
                    assert part == "test-validation" and not labels & set(row), (path, row)
                else:
                    assert part == "training"


def test_every_role_gets_the_same_bytes(contest: Contest) -> None:
    """The organizer's file holds no hidden label either: nothing depends on the role."""
    for part in PARTS:
        bodies = {
            as_role(contest, role)[0](api_path(contest.round, part)).content for role in ROLES
        }
        bodies.add(as_role(contest, "organizer")[0](web_path(contest.round, part)).content)
        assert len(bodies) == 1


UMLAUT_TABLE = datasets.DatasetTable(
    ["Größe", "Breite, cm", 'Höhe "innen"'],
    [[1.5, 2.0, 0.1], [1.25, 3.0, 1e-05], [2.0, 1.0, 123456.789], [0.5, 0.5, -3.0]] * 3,
    ["Äpfel", "Birnen, reif", "Äpfel", "Birnen, reif"] * 3,
    ["training"] * 8 + ["test", "test", "validation", "validation"],
)


def test_umlauts_commas_and_quotes_survive_as_rfc_4180(contest: Contest) -> None:
    dataset = datasets.store_dataset("Äpfel und Birnen", UMLAUT_TABLE)
    round_ = rounds.create_round(contest.olga, name="Obst", dataset=dataset, metric="accuracy")
    rounds.open_round(contest.olga, round_)
    response = logged_in(contest.alice).get(web_path(round_, "training"))
    text = response.content.decode("utf-8")
    assert text.startswith('\ufeffid,split,Größe,"Breite, cm","Höhe ""innen""",label\r\n')
    assert text.count("\r\n") == 9 and "\n" not in text.replace("\r\n", "")
    rows = read_csv(response)
    assert rows[0] == ["id", "split", "Größe", "Breite, cm", 'Höhe "innen"', "label"]
    assert rows[2] == ["1", "training", "1.25", "3.0", "1e-05", "Birnen, reif"]
    assert [float(v) for v in rows[3][2:5]] == [2.0, 1.0, 123456.789]
    held_out = read_csv(logged_in(contest.alice).get(web_path(round_, "test-validation")))
    assert [row[1] for row in held_out[1:]] == ["test", "test", "validation", "validation"]
    assert not {"Äpfel", "Birnen, reif"} & {cell for row in held_out for cell in row}


def test_a_draft_rounds_data_is_for_organizers_only(contest: Contest) -> None:
    draft = rounds.create_round(
        contest.olga, name="Draft", dataset=contest.dataset, metric="accuracy"
    )
    for role in ROLES:
        get, _ = as_role(contest, role)
        assert get(web_path(draft, "training")).status_code == 404
        assert_error(get(api_path(draft, "training")), 404, "not_found")
    olga = logged_in(contest.olga)
    assert len(read_csv(olga.get(web_path(draft, "training")))) == 13


def test_anonymous_callers_get_nothing(contest: Contest) -> None:
    anonymous = Client()
    page = anonymous.get(web_path(contest.round, "training"))
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert_error(anonymous.get(api_path(contest.round, "training")), 401)


def test_an_unknown_file_or_round_is_404(contest: Contest) -> None:
    client = logged_in(contest.alice)
    assert client.get(web_path(contest.round, "validation")).status_code == 404
    assert client.get(f"/rounds/{contest.round.pk + 99}/data/training.csv").status_code == 404
    assert_error(client.get(f"/api/rounds/{contest.round.pk + 99}/data/training.csv"), 404)


def test_the_round_page_links_both_files(contest: Contest) -> None:
    page = logged_in(contest.alice).get(reverse("web:round", args=[contest.round.pk]))
    html = page.content.decode()
    for part in PARTS:
        assert f'href="{web_path(contest.round, part)}" download' in html


def test_a_replaced_dataset_gives_a_new_file(contest: Contest) -> None:
    client = logged_in(contest.alice)
    before = read_csv(client.get(api_path(contest.round, "training")))
    datasets.store_dataset("tiny", UMLAUT_TABLE, replace=True)
    after = read_csv(client.get(api_path(contest.round, "training")))
    assert before[0] != after[0] and after[0][2] == "Größe"


def test_the_api_lists_the_download_in_its_document(contest: Contest) -> None:
    document = ok_json(logged_in(contest.alice).get("/api/openapi.json"))
    operation = document["paths"]["/api/rounds/{round_id}/data/training.csv"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
