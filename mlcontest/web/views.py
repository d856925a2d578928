"""Students' pages: sign-up, groups, rounds, the round page with its job form, the job page.

Views stay thin: a form reads the request, a domain function decides, and a domain refusal
(ContestError) becomes a message or an error next to the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mlcontest.algorithms import REGISTRY
from mlcontest.contest import (
    courses,
    groups,
    job_cost,
    queue,
    results,
    reveal_show,
    rounds,
    visibility,
)
from mlcontest.contest.errors import ContestError, InvalidInput, NotFound
from mlcontest.contest.final_choice import final_choice_of
from mlcontest.contest.models import Group, Job, JobState, Round, RoundState, User
from mlcontest.contest.permissions import sees_hidden_labels
from mlcontest.contest.quotas import quota_left
from mlcontest.contest.uploads import UPLOADED
from mlcontest.web import board, forms, services
from mlcontest.web.step_forms import StepsForm

View = Callable[..., HttpResponse]
AnyView = TypeVar("AnyView", bound=Callable[..., HttpResponseBase])


def viewer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required let only signed-in users through
    return user


def contest_404(view: AnyView) -> AnyView:
    """A domain NotFound (e.g. a draft round seen by a student) is the page's 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from None

    return cast(AnyView, wrapper)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if viewer(request).is_organizer:
        return redirect("web:overview")
    return redirect("web:rounds")


def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/help.html")


def signup(request: HttpRequest) -> HttpResponse:
    if not services.signup_open():
        return render(request, "web/signup_closed.html", status=404)
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(form.cleaned_data["username"], form.cleaned_data["password"])
        except ContestError as error:
            form.add_error("username" if "username" in error.fields else None, error.message)
        else:
            login(request, user)
            messages.success(
                request, _("Welcome, %(name)s! Join a group to play.") % {"name": user.username}
            )
            return redirect("web:groups")
    return render(request, "web/signup.html", {"form": form})


# Groups ------------------------------------------------------------------------------------


@login_required
def group_list(request: HttpRequest) -> HttpResponse:
    user = viewer(request)
    create_form = forms.GroupCreateForm(prefix="create")
    if request.method == "POST":
        create_form = forms.GroupCreateForm(request.POST, prefix="create")
        if create_form.is_valid():
            try:
                group = services.create_group_for(
                    user, create_form.cleaned_data["group_name"], create_form.cleaned_data["public"]
                )
            except ContestError as error:
                create_form.add_error(
                    "group_name" if "group_name" in error.fields else None, error.message
                )
            else:
                messages.success(request, _("Group %(name)s created.") % {"name": group.name})
                return redirect("web:group", group_id=group.pk)
    mine = groups.group_of(user)
    listed = [groups.describe_group(group, user) for group in groups.visible_groups(user)]
    return render(
        request,
        "web/groups.html",
        {
            "mine": mine,
            "groups": listed,
            "create_form": create_form if services.may_create_group(user) else None,
            "code_form": forms.InviteCodeForm(prefix="code"),
        },
        status=400 if request.method == "POST" else 200,  # a POST gets here only if refused
    )


@login_required
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    user = viewer(request)
    group = groups.visible_groups(user).filter(pk=group_id).first()
    if group is None:
        raise Http404("No such group.")
    return render(
        request,
        "web/group.html",
        {
            "group": group,
            "described": groups.describe_group(group, user),
            "mine": groups.group_of(user),
        },
    )


@login_required
@require_POST
def group_join(request: HttpRequest) -> HttpResponse:
    """Join a public group by its button, or any group by its name and invite code."""
    form = forms.InviteCodeForm(request.POST, prefix="code")
    if not form.is_valid():
        messages.error(request, _("Give the group's name (and its invite code if it is private)."))
        return redirect("web:groups")
    try:
        typed = form.cleaned_data["group_name"]
        group = groups.find_group(typed)
        invite_code = form.cleaned_data["invite_code"] or None
        groups.join_group(viewer(request), group, invite_code, typed=typed)
    except ContestError as error:
        messages.error(request, error.message)
        return redirect("web:groups")
    messages.success(request, _("You are now in %(name)s.") % {"name": group.name})
    return redirect("web:group", group_id=group.pk)


# Rounds ------------------------------------------------------------------------------------


@login_required
def round_list(request: HttpRequest) -> HttpResponse:
    user = viewer(request)
    visible = list(rounds.visible_rounds(user))
    lists = services.split_rounds(visible, user)
    # The courses of the rounds the viewer sees (organizers: every course, also an empty one).
    listed = courses.all_courses() if user.is_organizer else {r.course for r in visible if r.course}
    return render(
        request,
        "web/rounds.html",
        {
            "lists": lists,
            "mine": groups.group_of(user),
            "courses": sorted(listed, key=lambda course: course.name.casefold()),
        },
    )


def _start_values(request: HttpRequest, user: User, round_: Round) -> tuple[str | None, dict]:
    """The algorithm and parameters to start the form with: a job's, for "submit again"."""
    job_id = request.GET.get("from_job")
    if not job_id:
        return None, {}
    try:
        job = queue.get_job(job_id)
    except NotFound:
        return None, {}
    if job.round_id != round_.pk or not visibility.sees_job(user, job) or job.algorithm == UPLOADED:
        return None, {}
    return job.algorithm, forms.job_values(job)


def round_signature(round_: Round, jobs: list[Job], no_worker: bool) -> str:
    """What the round page's live parts depend on: the state, the leaderboard's version (it
    grows with every result and every final choice), the states of the group's jobs and
    whether they wait with no worker in sight."""
    signature = f"{round_.state}|{round_.leaderboard_version}|{services.jobs_signature(jobs)}"
    return signature + ("|no-worker" if no_worker else "")


def waits_without_worker(jobs: list[Job]) -> bool:
    """Whether a job of these waits while no worker has been seen lately (the page's hint).
    Asked only while one waits: an idle page costs no extra query."""
    return any(job.state == JobState.QUEUED for job in jobs) and not (services.worker_active())


def round_context(
    round_: Round,
    user: User,
    group: Group | None = None,
    jobs: list[Job] | None = None,
    no_worker: bool | None = None,
) -> dict[str, Any]:
    """Everything the round page's live parts show (also sent by the live endpoint)."""
    if jobs is None:
        group = groups.group_of(user)
        jobs = services.group_jobs(round_, group, user)
    quota = quota_left(round_, group)
    audience = visibility.audience(user)
    if no_worker is None:
        no_worker = waits_without_worker(jobs)
    return {
        "round": round_,
        "group": group,
        "jobs": jobs,
        "final_job_id": final_choice_of(round_, group),
        "quota": {
            "used": quota["jobs_used"],
            "left": quota["jobs_left"],
            "queued": quota["queued"],
        },
        **board_context(round_, audience),
        "show_validation": visibility.sees_validation(user, round_),
        "no_worker": no_worker,
        "signature": round_signature(round_, jobs, no_worker),
    }


def board_context(
    round_: Round, audience: visibility.Role, every_group: bool = False
) -> dict[str, Any]:
    """The leaderboard and the final ranking as ``audience`` sees them (``visibility``);
    ``every_group`` lists the groups without a score too (``board.rows``)."""
    at = visibility.stage(round_)
    final_shown = visibility.board_sees(audience, visibility.View.FINAL, at)
    return {
        "board": board.rows(round_, audience, every_group),
        "recipes": board.recipes_shown(round_, audience),
        "reveal": board.reveal(round_, audience),
        "final_shown": final_shown,
        "final_preview": final_shown and not visibility.revealed(round_),
        "show": reveal_show.status(round_),
    }


@login_required
@contest_404
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    names = rounds.allowed_algorithms(round_)
    chosen, values = _start_values(request, user, round_)
    fit_on = round_.dataset.training_points  # bounds n_neighbors, n_clusters, ...
    steps_form = StepsForm(values=values.get("steps"))
    choice_form = forms.AlgorithmChoiceForm(names, initial={"algorithm": chosen or names[0]})
    bound: forms.ParamsForm | None = None
    if request.method == "POST":
        choice_form = forms.AlgorithmChoiceForm(names, request.POST)
        if choice_form.is_valid():
            chosen = choice_form.cleaned_data["algorithm"]
            bound = forms.ParamsForm(REGISTRY[chosen], request.POST, training_points=fit_on)
            steps_form = StepsForm(request.POST)
            if bound.is_valid() and steps_form.is_valid():
                params = {**bound.params, "steps": steps_form.steps()}
                try:
                    job = queue.submit_job(user, round_, chosen, params)
                except InvalidInput as error:
                    if "steps" in error.fields:
                        steps_form.add_error(None, error.fields.pop("steps"))
                    if error.fields:
                        bound.add_domain_errors(error.fields, error.message)
                except ContestError as error:
                    choice_form.add_error(None, error.message)
                else:
                    # The notice names its job so the page can follow it (static/web/live.js);
                    # the form starts again from the job just submitted, not from defaults.
                    messages.success(
                        request,
                        _("Job %(id)s is queued.") % {"id": job.pk},
                        extra_tags=f"job-notice job-{job.pk}",
                    )
                    return redirect(
                        reverse("web:round", args=[round_.pk]) + f"?from_job={job.pk}#submit"
                    )
    param_forms = [
        bound
        if bound is not None and name == chosen
        else forms.ParamsForm(
            REGISTRY[name], values=values if name == chosen else None, training_points=fit_on
        )
        for name in names
    ]
    context = round_context(round_, user)
    context.update(
        choice_form=choice_form,
        param_forms=param_forms,
        steps_form=steps_form,
        chosen=chosen or names[0],
        card=services.dataset_card(round_.dataset, all_labels=sees_hidden_labels(user)),
        too_big=[
            (REGISTRY[name], why)
            for name, why in job_cost.too_big(
                round_.dataset, names, round_.time_limit_seconds, round_.memory_limit_mb
            ).items()
        ],
        history=_history_json(round_),
        now=timezone.now(),
        can_submit=round_.state == RoundState.OPEN and context["group"] is not None,
    )
    # A POST gets here only when the job was refused.
    status = 400 if request.method == "POST" else 200
    return render(request, "web/round.html", context, status=status)


def _history_json(round_: Round) -> dict[str, Any]:
    series = board.history(round_)
    answer: dict[str, Any] = {
        "start": (round_.opened_at or round_.created_at).isoformat(),
        "end": (round_.closed_at or timezone.now()).isoformat(),
        "series": {
            name: [[moment.isoformat(), value] for moment, value in points]
            for name, points in series.items()
        },
    }
    answer.update(board.chart_range(round_, series))
    return answer


# Jobs --------------------------------------------------------------------------------------


def visible_job(user: User, job_id: int) -> Job:
    try:
        job = queue.get_job(job_id)
    except NotFound:
        raise Http404("No such job.") from None
    if not visibility.sees_job(user, job):
        raise Http404("No such job.")
    return job


def job_context(job: Job, user: User) -> dict[str, Any]:
    group = groups.group_of(user)
    final_id = final_choice_of(job.round, job.group_id)
    return {
        "job": job,
        "described": results.describe_job(job, user, group=group),
        "algorithm": REGISTRY.get(job.algorithm),
        "uploaded": job.algorithm == UPLOADED,
        "is_final": final_id == job.pk,
        "can_mark_final": (
            job.round.final_choice_allowed
            and job.round.state == RoundState.OPEN
            and not visibility.revealed(job.round)
            and job.success is True
            and group is not None
            and job.group_id == group.pk
            and final_id != job.pk
        ),
        "finished": job.state in ("done", "failed"),
        "waited": (job.claimed_at - job.created_at).total_seconds() if job.claimed_at else None,
        "turnaround": (
            (job.finished_at - job.created_at).total_seconds() if job.finished_at else None
        ),
        # The stage: the validation score appears when the show ends.
        "signature": f"{job.state}|{job.pictures.count()}|{visibility.stage(job.round).value}",
    }


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    user = viewer(request)
    job = visible_job(user, job_id)
    context = {**job_context(job, user), "form": forms.FinalChoiceForm()}
    return render(request, "web/job.html", context)


@login_required
@require_POST
def job_mark_final(request: HttpRequest, job_id: int) -> HttpResponse:
    user = viewer(request)
    job = visible_job(user, job_id)
    try:
        board.mark_final(user, job)
    except ContestError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Job %(id)s is now your group's final choice.") % {"id": job.pk}
        )
    return redirect("web:job", job_id=job.pk)
