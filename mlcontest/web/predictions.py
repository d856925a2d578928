"""Bring your own predictions on the web: a student's upload on the round page
(``contest.uploads``), and the organizer's switches on the manage page for uploads and for
diagnostics."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mlcontest.contest import rounds, uploads
from mlcontest.contest.errors import ContestError
from mlcontest.web.organizer import organizer_required
from mlcontest.web.views import contest_404, viewer


@login_required
@require_POST
@contest_404
def round_upload(request: HttpRequest, round_id: int) -> HttpResponse:
    """Score the uploaded file; the notice (or the refusal, naming the rows) appears in the
    round page's submit card, where the form is."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    back = reverse("web:round", args=[round_.pk]) + "#submit"
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a CSV file of predictions to upload."))
        return redirect(back)
    try:
        job = uploads.upload_predictions(user, round_, upload.read(), str(upload.name or ""))
    except ContestError as error:
        messages.error(request, error.message, extra_tags="upload-refused")
        return redirect(back)
    messages.success(
        request,
        _("Job %(id)s: your uploaded predictions are scored.") % {"id": job.pk},
        extra_tags=f"job-notice job-{job.pk}",
    )
    return redirect(back)


def _switched(setting: str, on: bool) -> str:
    if setting == "diagnostics":
        return (
            _("Jobs in %(name)s now also compute diagnostics on the training split.")
            if on
            else _("Jobs in %(name)s compute no more diagnostics.")
        )
    return (
        _("Groups may now upload predictions in %(name)s.")
        if on
        else _("%(name)s takes no more uploaded predictions.")
    )


@organizer_required
@require_POST
@contest_404
def round_switch(request: HttpRequest, round_id: int, setting: str) -> HttpResponse:
    """Switch a round's ``prediction_uploads`` or ``diagnostics`` (what was done before stays:
    uploaded jobs, diagnostics already computed)."""
    round_ = rounds.find_round(round_id, viewer(request))
    on = not getattr(round_, setting)
    try:
        rounds.update_round(viewer(request), round_, **{setting: on})
    except ContestError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _switched(setting, on) % {"name": round_.name})
    return redirect("web:manage_round", round_id=round_.pk)
