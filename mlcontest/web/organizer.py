"""Organizers' pages: class overview, datasets (with a preview before saving), rounds (create,
open, close, baseline), the projector view and the CSV export."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mlcontest.algorithms import REGISTRY
from mlcontest.contest import (
    courses,
    dataset_sources,
    datasets,
    exports,
    queue,
    reveal_show,
    rounds,
    split_steps,
)
from mlcontest.contest.errors import ContestError, NotFound
from mlcontest.contest.models import Dataset, Round
from mlcontest.http.endpoints import attachment
from mlcontest.web import forms, services
from mlcontest.web.live import projector_context
from mlcontest.web.views import _history_json, viewer

View = Callable[..., HttpResponse]


def organizer_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not viewer(request).is_organizer:
            return render(request, "web/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _round(round_id: int, request: HttpRequest) -> Round:
    try:
        return rounds.find_round(round_id, viewer(request))
    except NotFound:
        raise Http404("No such round.") from None


@organizer_required
def overview(request: HttpRequest) -> HttpResponse:
    all_rounds = list(rounds.visible_rounds(viewer(request)))
    selected = None
    if request.GET.get("round"):
        selected = next((r for r in all_rounds if str(r.pk) == request.GET["round"]), None)
    return render(
        request,
        "web/manage/overview.html",
        {"rounds": all_rounds, "selected": selected, **services.class_overview(selected)},
    )


@organizer_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    listed = [datasets.describe_dataset(dataset) for dataset in Dataset.objects.all()]
    return render(request, "web/manage/datasets.html", {"datasets": listed})


def _table(data: dict[str, Any]) -> dataset_sources.SourcedTable:
    seed = data.get("seed") or 0
    if data["source"] == "csv":
        chosen = [name.strip() for name in (data.get("feature_columns") or "").split(",")]
        return dataset_sources.from_csv(
            data["csv_text"],
            label_column=(data.get("label_column") or "label").strip(),
            split_column=(data.get("split_column") or "split").strip(),
            feature_columns=[name for name in chosen if name] or None,
            seed=seed,
        )
    if data["source"] == "bundled":
        return dataset_sources.from_sklearn(data["bundled"], seed=seed)
    return dataset_sources.generate(data["kind"], data["n_points"], data["noise"], seed)


@organizer_required
def dataset_new(request: HttpRequest) -> HttpResponse:
    """Two steps on one page: "Preview" draws the points, "Save" stores them."""
    form = forms.DatasetForm(request.POST or None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source_field = {"csv": "csv_file", "bundled": "bundled"}.get(data["source"], "kind")
        try:
            table = _table(data)
            datasets.validate_table(table)
        except ContestError as error:
            form.add_error(source_field, error.message)
        else:
            if request.POST.get("action") == "save":
                # The organizer's own words win over the source's generated description.
                table.description = data["description"] or table.description
                try:
                    dataset = dataset_sources.store(data["name"], table)
                except ContestError as error:
                    form.add_error("name" if "name" in error.fields else None, error.message)
                else:
                    messages.success(
                        request,
                        _("Dataset %(name)s saved (%(n)s points).")
                        % {"name": dataset.name, "n": len(table)},
                    )
                    return redirect("web:datasets")
            preview = services.table_preview(table, data.get("name", ""))
        # Keep the parsed CSV in the page so that "Save" does not need the file again.
        if data.get("csv_text"):
            kept = request.POST.copy()
            kept["csv_text"] = data["csv_text"]
            form.data = kept
    return render(request, "web/manage/dataset_new.html", {"form": form, "preview": preview})


@organizer_required
def round_new(request: HttpRequest) -> HttpResponse:
    form = forms.RoundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            round_ = rounds.create_round(
                viewer(request),
                name=data["name"],
                description=data["description"],
                dataset=data["dataset"],
                metric=data["metric"],
                allowed_algorithms=data["allowed_algorithms"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                job_quota=data["job_quota"],
                queued_quota=data["queued_quota"],
                time_limit_seconds=data["time_limit_seconds"],
                memory_limit_mb=data["memory_limit_mb"],
                reveal_show=data["reveal_show"],
                final_choice_allowed=data["final_choice_allowed"],
                prediction_uploads=data["prediction_uploads"],
                diagnostics=data["diagnostics"],
            )
        except ContestError as error:
            forms.show_refusal(form, error)
        else:
            if data["course"] is not None:
                courses.assign_round(viewer(request), round_, data["course"])
            messages.success(
                request, _("Round %(name)s created as a draft.") % {"name": round_.name}
            )
            return redirect("web:manage_round", round_id=round_.pk)
    # Reached after a POST only when it was refused: say so in the status too.
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/manage/round_new.html",
        {"form": form, "split_warnings": split_steps.all_dataset_warnings()},
        status=status,
    )


@organizer_required
def manage_round(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = _round(round_id, request)
    names = rounds.allowed_algorithms(round_)
    return render(
        request,
        "web/manage/round.html",
        {
            "round": round_,
            "baseline_form": forms.BaselineForm(names),
            "events": round_.events.select_related("by").order_by("-at")[:20],
            "algorithms": [gettext(REGISTRY[name].label) for name in names],
            "now": timezone.now(),
            "show": reveal_show.status(round_),
            "split_warnings": split_steps.dataset_warnings(round_.dataset),
            **services.class_overview(round_),
        },
    )


@organizer_required
@require_POST
def round_action(request: HttpRequest, round_id: int, action: str) -> HttpResponse:
    round_ = _round(round_id, request)
    try:
        if action == "open":
            rounds.open_round(viewer(request), round_)
            if round_.revealed_at:
                opened = _(
                    "%(name)s is open for practice: the final ranking stays as it was revealed: "
                    "students can submit jobs."
                )
            else:
                opened = _("%(name)s is open: students can submit jobs.")
            messages.success(request, opened % {"name": round_.name})
        elif action == "close":
            rounds.close_round(viewer(request), round_)
            messages.success(
                request,
                _("%(name)s is closed: the final ranking is revealed.") % {"name": round_.name},
            )
        else:
            raise Http404("No such action.")
    except ContestError as error:
        messages.error(request, error.message)
    return redirect("web:manage_round", round_id=round_.pk)


@organizer_required
@require_POST
def round_reveal(request: HttpRequest, round_id: int) -> HttpResponse:
    """A step of the show, from the projector or the round's manage page: ``places`` reveals
    the last that many places, ``all`` ends the show. The projector's script posts it and
    asks for JSON; without the script the form comes back to the page it was sent from."""
    round_ = _round(round_id, request)
    places = request.POST.get("places", "")
    try:
        if "all" in request.POST:
            reveal_show.reveal_places(viewer(request), round_, None)
        elif places.isdigit() and len(places) < 7:
            reveal_show.reveal_places(viewer(request), round_, int(places))
        else:
            raise ContestError(gettext("Say how many places to reveal."))
    except ContestError as error:
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"status": "error", "reason": error.message}, status=409)
        messages.error(request, error.message)
    shown = reveal_show.status(round_)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"stage": shown.stage.value, "places": shown.places, "revealed": shown.places_revealed}
        )
    back = "web:projector" if request.POST.get("back") == "projector" else "web:manage_round"
    return redirect(back, round_id=round_.pk)


@organizer_required
@require_POST
def round_baseline(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = _round(round_id, request)
    form = forms.BaselineForm(rounds.allowed_algorithms(round_), request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick an algorithm for the baseline."))
        return redirect("web:manage_round", round_id=round_.pk)
    algorithm = form.cleaned_data["algorithm"]
    try:
        job = queue.submit_job(viewer(request), round_, algorithm, {}, baseline=True)
    except ContestError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Baseline job %(id)s (%(algorithm)s) is queued.")
            % {"id": job.pk, "algorithm": algorithm},
        )
    return redirect("web:manage_round", round_id=round_.pk)


@organizer_required
def round_export(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = _round(round_id, request)
    download = exports.round_jobs_download(viewer(request), round_)
    return attachment(download.content, download.filename, download.content_type)


@organizer_required
def projector(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = _round(round_id, request)
    context = projector_context(round_)
    return render(
        request,
        "web/projector.html",
        {
            **context,
            "history": _history_json(round_),
            "now": timezone.now(),
            "big": True,
            "controls": "projector",
        },
    )
