"""The markup of form fields for assistive technology, without a browser: a field with an
error says so (aria-invalid) and points to its message and help (aria-describedby), a group
of radio buttons or checkboxes as well (on its fieldset). The browser side is in
tests/test_browser_accessibility.py."""

from __future__ import annotations

import re

from django.template.loader import render_to_string

from mlcontest.web.forms import DatasetForm, RoundForm


def described_by(html: str, tag: str) -> list[str]:
    found = re.search(rf'<{tag}\b[^>]*aria-describedby="([^"]*)"', html)
    assert found, html
    return found.group(1).split()


def test_a_radio_group_with_an_error_points_to_its_message() -> None:
    form = DatasetForm(data={"name": "Moons", "source": "nowhere"})
    assert not form.is_valid()
    html = render_to_string("web/field.html", {"field": form["source"]})
    assert described_by(html, "fieldset") == ["id_source_error"]
    assert re.search(r'<p class="error" id="id_source_error">[^<]+</p>', html), html


def test_a_checkbox_group_points_to_its_help_and_error() -> None:
    form = RoundForm(data={"allowed_algorithms": ["no-such-algorithm"]})
    assert not form.is_valid()
    html = render_to_string("web/field.html", {"field": form["allowed_algorithms"]})
    assert described_by(html, "fieldset") == [
        "id_allowed_algorithms_error",
        "id_allowed_algorithms_helptext",
    ]
    assert 'id="id_allowed_algorithms_helptext"' in html


def test_a_field_with_an_error_is_invalid_and_described() -> None:
    form = DatasetForm(data={"name": "", "source": "generate"})
    assert not form.is_valid()
    html = render_to_string("web/field.html", {"field": form["name"]})
    assert 'aria-invalid="true"' in html
    assert described_by(html, "input") == ["id_name_error"]
    # A field without an error: no stale references.
    valid = render_to_string("web/field.html", {"field": DatasetForm()["seed"]})
    assert "aria-invalid" not in valid
    assert described_by(valid, "input") == ["id_seed_helptext"]
