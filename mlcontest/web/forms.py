"""The web forms. The job form is generated from the algorithm registry, and its values are
checked by the registry's ``validate_params``: the rules live in one place, the form only shows
them (types, defaults, ranges, help) and puts each refusal next to its field."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from mlcontest.algorithms import METRICS, REGISTRY, Algorithm, Param, ParameterError
from mlcontest.algorithms import validate_params as registry_validate
from mlcontest.contest import dataset_choices
from mlcontest.contest.errors import ContestError
from mlcontest.contest.models import Course, Dataset, Job, Round, User
from mlcontest.contest.rounds import ROUND_NUMBER_LIMITS


def show_refusal(form: forms.Form, error: ContestError) -> None:
    """Put the domain's refusal on the form: beside the field it names, or above the form.

    A refusal naming one field shows its whole sentence there ("A course named 'X' exists
    already."), not the short text the API's ``fields`` carry ("taken")."""
    for name, text in error.fields.items():
        shown = error.message if len(error.fields) == 1 else text
        form.add_error(name if name in form.fields else None, shown)
    if not error.fields:
        form.add_error(None, error.message)


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def param_help(param: Param, training_points: int | None = None) -> str:
    """The registry's help plus the range or choices, so that the page explains itself. With
    the round's ``training_points``, the range is the one this round's data allows."""
    parts = [gettext(param.help)] if param.help else []
    maximum = param.upper_bound(training_points)
    if param.minimum is not None and maximum is not None:
        parts.append(
            gettext("From %(low)s to %(high)s.")
            % {"low": _bound(param.minimum), "high": _bound(maximum)}
        )
    elif param.minimum is not None:
        parts.append(gettext("At least %(low)s.") % {"low": _bound(param.minimum)})
    elif maximum is not None:
        parts.append(gettext("At most %(high)s.") % {"high": _bound(maximum)})
    if maximum is not None and maximum != param.maximum:
        parts.append(
            gettext("This round's dataset has %(n)s training points.") % {"n": training_points}
        )
    empty = gettext(param.empty)  # 'none', 'scale': a value's name, translated where it is a word
    if param.nullable:
        parts.append(gettext("Leave empty for %(empty)s.") % {"empty": empty})
    if param.default is None:
        default = gettext("empty (%(empty)s)") % {"empty": empty}
    elif param.kind == "bool":
        default = gettext("on") if param.default else gettext("off")
    elif param.kind == "choice" and param.default == "none":
        default = gettext("none")  # as the choice's label says it
    else:
        default = str(param.default)
    parts.append(gettext("Default: %(default)s.") % {"default": default})
    return " ".join(parts)


def param_field(param: Param, training_points: int | None = None) -> forms.Field:
    """One form field per registry parameter. Numbers are text fields with number widgets:
    the registry, not Django, decides what is valid, so the messages are the registry's."""
    help_text = param_help(param, training_points)
    maximum = param.upper_bound(training_points)
    if param.kind == "bool":
        return forms.BooleanField(required=False, initial=bool(param.default), help_text=help_text)
    if param.kind == "choice":
        return forms.ChoiceField(
            # The values are scikit-learn's (what a script sends); only "none" is a word.
            choices=([("", gettext(param.empty))] if param.nullable else [])
            + [
                (choice, gettext("none") if choice == "none" else choice)
                for choice in param.choices
            ],
            initial=param.default,
            help_text=help_text,
        )
    attrs: dict[str, Any] = {"step": "1" if param.kind == "int" else "any", "inputmode": "decimal"}
    if param.minimum is not None:
        attrs["min"] = _bound(param.minimum)
    if maximum is not None:
        attrs["max"] = _bound(maximum)
    return forms.CharField(
        required=False,
        initial="" if param.default is None else param.default,
        help_text=help_text,
        widget=forms.NumberInput(attrs=attrs),
    )


class ParamsForm(forms.Form):
    """The parameters of one algorithm; the fields carry the algorithm's name as prefix so that
    every algorithm's fieldset can live on one page."""

    def __init__(
        self,
        algorithm: Algorithm,
        *args: Any,
        values: dict[str, Any] | None = None,
        training_points: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", algorithm.name)
        super().__init__(*args, **kwargs)
        self.algorithm = algorithm
        self.training_points = training_points
        for param in algorithm.params:
            field = param_field(param, training_points)
            field.label = param.shown_name
            if values and param.name in values:
                value = values[param.name]
                field.initial = "" if value is None else value
            self.fields[param.name] = field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        raw: dict[str, Any] = {}
        for param in self.algorithm.params:
            value = cleaned.get(param.name)
            # An empty number box means "none" to a nullable parameter and "missing" to others.
            raw[param.name] = None if value == "" else value
        try:
            self.params = registry_validate(self.algorithm, raw, self.training_points)
        except ParameterError as error:
            for name, message in error.errors.items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def add_domain_errors(self, fields: dict[str, str], message: str) -> None:
        """Errors the domain found after the form: each next to its field when it has one."""
        placed = False
        for name, text in fields.items():
            if name in self.fields:
                self.add_error(name, text)
                placed = True
        if not placed:
            self.add_error(None, message)


class AlgorithmChoiceForm(forms.Form):
    algorithm = forms.ChoiceField(
        label=_("Algorithm"), help_text=_("Pick an algorithm; its parameters appear below.")
    )

    def __init__(self, names: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["algorithm"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, gettext(REGISTRY[name].label)) for name in names]


class SignupForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]{2,150}$",
        max_length=150,
        label=_("Username"),
        help_text=_("2 to 150 letters, digits and @ . + - _"),
        error_messages={"invalid": _("Use 2 to 150 letters, digits and @ . + - _")},
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput,
        help_text=lazy(
            lambda: " ".join(password_validation.password_validators_help_texts()), str
        )(),
    )
    class_code = forms.CharField(
        label=_("Class code"), help_text=_("The code your organizer gave the class.")
    )

    def clean_class_code(self) -> str:
        code: str = self.cleaned_data["class_code"].strip()
        if not secrets.compare_digest(code.encode(), settings.SIGNUP_CODE.encode()):
            raise forms.ValidationError(_("This is not the class code."))
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            # Django's validators (settings.AUTH_PASSWORD_VALIDATORS), with the name the
            # student chose, so that a password like the user name is refused too.
            candidate = User(username=cleaned.get("username") or "")
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class GroupCreateForm(forms.Form):
    group_name = forms.CharField(label=_("Group name"), max_length=64)
    public = forms.BooleanField(
        label=_("Public"),
        required=False,
        initial=True,
        help_text=_("Anyone may join a public group; a private one needs its invite code."),
    )


class InviteCodeForm(forms.Form):
    group_name = forms.CharField(label=_("Group name"), max_length=64)
    invite_code = forms.CharField(
        label=_("Invite code"),
        max_length=32,
        required=False,
        help_text=_("Needed for a private group: ask one of its members."),
    )


class FinalChoiceForm(forms.Form):
    """No fields: a POST with its CSRF token is the whole request."""


class RoundForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    dataset = forms.ModelChoiceField(label=_("Dataset"), queryset=Dataset.objects.all())
    metric = forms.ChoiceField(
        label=_("Metric"),
        help_text=_(
            "What the leaderboard ranks by; it also fixes the task (classification, clustering or "
            "regression). MAE and RMSE are errors: the lowest ranks first."
        ),
    )
    allowed_algorithms = forms.MultipleChoiceField(
        label=_("Allowed algorithms"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked allows every algorithm of the metric's task."),
    )
    # The bounds are the domain's (contest/rounds.py), shown in the form as well.
    job_quota = forms.IntegerField(
        min_value=1,
        max_value=ROUND_NUMBER_LIMITS["job_quota"],
        initial=20,
        label=_("Job quota"),
        help_text=_("Jobs per group."),
    )
    queued_quota = forms.IntegerField(
        min_value=1,
        max_value=ROUND_NUMBER_LIMITS["queued_quota"],
        initial=3,
        label=_("Queued quota"),
        help_text=_("Jobs a group may have waiting at once."),
    )
    time_limit_seconds = forms.IntegerField(
        min_value=1,
        max_value=ROUND_NUMBER_LIMITS["time_limit_seconds"],
        initial=60,
        label=_("Time limit (s)"),
    )
    memory_limit_mb = forms.IntegerField(
        min_value=1,
        max_value=ROUND_NUMBER_LIMITS["memory_limit_mb"],
        initial=2048,
        label=_("Memory limit (MB)"),
    )
    starts_at = forms.DateTimeField(
        required=False,
        label=_("Starts at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Empty: open it by hand."),
    )
    ends_at = forms.DateTimeField(
        required=False,
        label=_("Ends at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Empty: close it by hand."),
    )
    final_choice_allowed = forms.BooleanField(
        required=False,
        label=_("Groups choose their final job"),
        help_text=_(
            "Groups may mark one job as their final choice for the validation ranking; "
            "otherwise their job with the best test score counts."
        ),
    )
    # On by default on the web, where a class watches the projector; off for scripts (API, CLI).
    reveal_show = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Reveal the final ranking place by place on the projector"),
        help_text=gettext_lazy(
            "At the close you reveal the places from the last to the first on the projector; "
            "students' pages follow it and show the validation scores when you end the "
            "reveal. Unticked: everything is revealed at once."
        ),
    )
    prediction_uploads = forms.BooleanField(
        required=False,
        label=gettext_lazy("Groups may upload predictions made anywhere"),
        help_text=gettext_lazy(
            "Besides the algorithms here, a group may train any model on the training data "
            "and upload a CSV of its predictions for the test and validation points; it counts "
            "as a job and is scored like one."
        ),
    )
    diagnostics = forms.BooleanField(
        required=False,
        label=gettext_lazy("Jobs also compute diagnostics"),
        help_text=gettext_lazy(
            "A cross-validation score beside the test score, learning and validation curves, "
            "feature importances, ROC curves and more, all on the training split. Each job "
            "refits its model several times, within its time limit."
        ),
    )
    course = forms.ModelChoiceField(
        queryset=Course.objects.all(),
        required=False,
        label=gettext_lazy("Course"),
        empty_label=gettext_lazy("none: a round on its own"),
        help_text=gettext_lazy(
            "The course whose standings the round counts in (points per final rank)."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        metric = self.fields["metric"]
        assert isinstance(metric, forms.ChoiceField)
        metric.choices = [
            (name, f"{gettext(m.label)} ({gettext(m.task)})") for name, m in METRICS.items()
        ]
        algorithms = self.fields["allowed_algorithms"]
        assert isinstance(algorithms, forms.MultipleChoiceField)
        algorithms.choices = [
            (name, f"{gettext(a.label)} ({gettext(a.task)})") for name, a in REGISTRY.items()
        ]


class DatasetForm(forms.Form):
    """Where the points come from: a CSV file, a bundled scikit-learn dataset or a generator."""

    SOURCES = [
        ("generate", _("Generate points")),
        ("bundled", _("A bundled dataset")),
        ("csv", _("Upload a CSV file")),
    ]
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=SOURCES, widget=forms.RadioSelect, initial="generate"
    )
    kind = forms.ChoiceField(
        label=_("Generator"),
        required=False,
        choices=[(k, k) for k in dataset_choices.GENERATORS],
    )
    n_points = forms.IntegerField(
        label=_("Points"),
        min_value=dataset_choices.MIN_POINTS,
        max_value=dataset_choices.MAX_POINTS,
        initial=300,
        required=False,
    )
    noise = forms.FloatField(
        label=_("Noise"), min_value=0.0, max_value=5.0, initial=0.2, required=False
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        min_value=0,
        initial=0,
        required=False,
        help_text=_(
            "The same seed gives the same points and the same split into training, test "
            "and validation."
        ),
    )
    bundled = forms.ChoiceField(
        label=_("Bundled dataset"),
        required=False,
        choices=[(k, k) for k in dataset_choices.SKLEARN_DATASETS],
    )
    csv_file = forms.FileField(
        label=_("CSV file"),
        required=False,
        help_text=_(
            "A header line, then one point per line: the features, the label column and "
            "optionally a split column. At most 5 MB here; bigger files: mlcontest dataset "
            "import-csv."
        ),
    )
    # After a preview the CSV travels back in the page, so that saving needs no second upload.
    csv_text = forms.CharField(widget=forms.HiddenInput, required=False)
    label_column = forms.CharField(
        label=_("Label column"), max_length=200, initial="label", required=False
    )
    split_column = forms.CharField(
        label=_("Split column"),
        max_length=200,
        initial="split",
        required=False,
        help_text=_(
            "A column of training, test and validation; without it the points are split from "
            "the seed."
        ),
    )
    feature_columns = forms.CharField(
        label=_("Feature columns"),
        max_length=5000,
        required=False,
        help_text=_(
            "Comma-separated; empty: every column with numbers, and text columns whose values "
            "repeat (one 0/1 feature per value). Empty cells are allowed: each job fills them "
            "with the feature's training mean."
        ),
    )

    MAX_CSV_BYTES = 5 * 1024 * 1024

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        source = cleaned.get("source")
        if source == "csv":
            upload = cleaned.get("csv_file")
            if upload is not None:
                if upload.size > self.MAX_CSV_BYTES:
                    self.add_error("csv_file", _("The file is larger than 5 MB."))
                    return cleaned
                try:
                    cleaned["csv_text"] = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    self.add_error("csv_file", _("The file is not UTF-8 text."))
            elif not cleaned.get("csv_text"):
                self.add_error("csv_file", _("Choose a CSV file."))
        elif source == "generate":
            for name in ("kind", "n_points", "noise"):
                if cleaned.get(name) in (None, ""):
                    self.add_error(name, _("Required for generated points."))
        elif source == "bundled" and not cleaned.get("bundled"):
            self.add_error("bundled", _("Pick a dataset."))
        return cleaned


class BaselineForm(forms.Form):
    algorithm = forms.ChoiceField(
        label=_("Algorithm"), help_text=_("Run with its default parameters, as a reference.")
    )

    def __init__(self, names: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["algorithm"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, gettext(REGISTRY[name].label)) for name in names]


def job_values(job: Job) -> dict[str, Any]:
    """A job's parameters as the form's starting values ("submit again with changes")."""
    return dict(job.params)


class CourseForm(forms.Form):
    """A course's name, description, points table and rounds; the domain checks the table
    (``courses.check_points``) and the form puts its refusal next to the field."""

    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label=gettext_lazy("Description"),
    )
    points = forms.CharField(
        max_length=1000,
        initial="10, 8, 6, 5, 4, 3, 2, 1",
        label=gettext_lazy("Points per final rank"),
        help_text=gettext_lazy(
            "The first number for the winner of a round, the second for the runner-up, and so "
            "on; a place beyond the list earns 0. Never more for a worse place."
        ),
    )
    rounds = forms.ModelMultipleChoiceField(
        queryset=Round.objects.order_by("created_at", "id"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Rounds"),
        help_text=gettext_lazy(
            "The rounds that count in this course. A round counts in one course at most: "
            "ticking it here takes it out of another."
        ),
    )
