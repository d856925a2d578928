"""Announcements on the web: the box every page shows (polled like the other live parts), and
the organizers' form to post and take down (``contest/announcements.py`` decides)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mlcontest.contest import announcements
from mlcontest.contest.errors import ContestError
from mlcontest.contest.models import Announcement, Job, Round
from mlcontest.web.forms import show_refusal
from mlcontest.web.organizer import organizer_required
from mlcontest.web.views import viewer

MINUTES_CHOICES = [
    ("", gettext_lazy("until taken down")),
    ("2", gettext_lazy("2 minutes")),
    ("5", gettext_lazy("5 minutes")),
    ("10", gettext_lazy("10 minutes")),
    ("15", gettext_lazy("15 minutes")),
    ("30", gettext_lazy("30 minutes")),
    ("60", gettext_lazy("1 hour")),
]


class RoundChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _("the pages of %(round)s (%(state)s)") % {
            "round": obj.name,
            "state": obj.get_state_display(),
        }


class AnnouncementForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Announcement"),
        max_length=announcements.MAX_LENGTH,
        help_text=gettext_lazy(
            "One line, at most 280 characters, e.g. “5 minutes left” or “Try scaling the features”."
        ),
    )
    round = RoundChoiceField(
        queryset=Round.objects.all(),
        required=False,
        empty_label=gettext_lazy("Every page (the whole site)"),
        label=gettext_lazy("Shown on"),
        help_text=gettext_lazy("A round's announcement is shown on that round's pages only."),
    )
    minutes = forms.TypedChoiceField(
        choices=MINUTES_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label=gettext_lazy("For"),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


# --- the box on every page ---------------------------------------------------------------------


def page_round_id(context: Any) -> int | None:
    """The round a page belongs to (its pages show that round's announcements too)."""
    round_ = context.get("round")
    if isinstance(round_, Round):
        return round_.pk
    job = context.get("job")
    if isinstance(job, Job):
        return job.round_id
    return None


def box_context(request: HttpRequest, round_id: int | None) -> dict[str, Any]:
    user = getattr(request, "user", None)
    shown = announcements.shown_on(user, round_id)
    live = (
        reverse("web:announcements_round_live", args=[round_id])
        if round_id
        else reverse("web:announcements_live")
    )
    return {
        "announcements": shown,
        "signature": announcements.signature(shown),
        "live_url": live,
        "may_take_down": bool(user and getattr(user, "is_organizer", False)),
    }


def announcements_live(request: HttpRequest, round_id: int | None = None) -> HttpResponse:
    """The box's moving part. ``?since=`` the last signature: ``{"unchanged": true}`` while the
    page shows what is current, which costs no query most of the time (see the domain module)."""
    if not request.user.is_authenticated:
        # The box is only on signed-in pages; a page left open after a sign-out stops here.
        return JsonResponse({"unchanged": True})
    context = box_context(request, round_id)
    if request.GET.get("since") == context["signature"]:
        return JsonResponse({"unchanged": True})
    html = render_to_string("web/parts/announcements.html", context, request)
    response = JsonResponse({"signature": context["signature"], "parts": {"announcements": html}})
    response["Cache-Control"] = "no-store"
    return response


# --- organizers ----------------------------------------------------------------------------------


def _back(request: HttpRequest, given: str = "") -> HttpResponse:
    """Back where the organizer posted from: the form's ``next``, else the page they came from."""
    for target in (given, request.META.get("HTTP_REFERER", "")):
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(target)
    return redirect("web:announcements")


def manage_context(request: HttpRequest, form: AnnouncementForm | None = None) -> dict[str, Any]:
    listed = announcements.listed(viewer(request), ended=True)
    for announcement in listed:
        announcement.current = announcements.is_current(announcement)  # type: ignore[attr-defined]
    return {
        "announce_form": form or AnnouncementForm(initial={"next": request.get_full_path()}),
        "listed": listed,
    }


@organizer_required
def announcement_list(request: HttpRequest) -> HttpResponse:
    """GET: the form and every announcement, current and ended. POST: post one."""
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            announcements.post(viewer(request), data["text"], data["round"], data["minutes"])
        except ContestError as error:
            show_refusal(form, error)
        else:
            if data["round"]:
                said = _("Announced on the pages of %(round)s: shown within 2 seconds.") % {
                    "round": data["round"].name
                }
            else:
                said = _("Announced on every page: shown within 2 seconds.")
            messages.success(request, said)
            return _back(request, data["next"])
    status = 400 if request.method == "POST" else 200  # a POST gets here only if refused
    return render(
        request, "web/manage/announcements.html", manage_context(request, form), status=status
    )


@organizer_required
@require_POST
def announcement_end(request: HttpRequest, announcement_id: int) -> HttpResponse:
    try:
        announcement: Announcement = announcements.find(viewer(request), announcement_id)
    except ContestError:
        raise Http404(_("No such announcement.")) from None
    announcements.take_down(viewer(request), announcement)
    messages.success(request, _("Taken down: “%(text)s”.") % {"text": announcement.text})
    return _back(request, request.POST.get("next", ""))
