"""Rounds: what a round looks like, its settings, its audit trail and the final choice."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mlcontest.api.schemas.common import (
    Flag,
    Input,
    MaybeMoment,
    Moment,
    Names,
    Output,
    Text,
    Text64,
    Text100,
    When,
    WholeNumber,
)
from mlcontest.api.schemas.jobs import Quota


class MyGroup(Quota):
    name: str
    final_job: int | None


class Reveal(Output):
    stage: Literal["hidden", "show", "shown"] = Field(
        description="hidden: before the first close; show: the organizer is revealing the "
        "places, last first (students see those and no validation score); shown"
    )
    places: int = Field(description="places in the final ranking (0 while hidden)")
    places_revealed: int = Field(description="counted from the last place")
    ended_at: MaybeMoment = Field(description="the show's end")


class Round(Output):
    id: int
    name: str
    description: str
    state: Literal["draft", "open", "closed"]
    dataset: int
    dataset_name: str
    task: Literal["classification", "clustering", "regression"]
    metric: str
    higher_is_better: bool = Field(
        True, description="false when the metric is an error (MAE, RMSE): lowest ranks first"
    )
    algorithms: list[dict[str, Any]]
    starts_at: MaybeMoment
    ends_at: MaybeMoment
    opened_at: MaybeMoment
    closed_at: MaybeMoment
    revealed_at: MaybeMoment = Field(
        description="the first close: from then on the final ranking is final"
    )
    job_quota: int
    queued_quota: int
    time_limit_seconds: int
    memory_limit_mb: int
    groups: list[str]
    final_choice_allowed: bool
    course: int | None = Field(description="the course the round counts in")
    leaderboard_version: int
    accepting_jobs: bool
    final_revealed: bool = Field(description="revealed_at is set (also when reopened)")
    final_visible: bool = Field(description="the viewer may read the final ranking")
    validation_visible: bool = Field(description="the viewer sees validation scores")
    recipes_visible: bool = Field(description="the viewer sees other groups' algorithms")
    reveal_show: bool = Field(
        description="the final ranking is revealed place by place (a show) at the close"
    )
    prediction_uploads: bool = Field(
        description="groups may also upload predictions made anywhere "
        "(POST /api/rounds/{id}/predictions/)"
    )
    diagnostics: bool = Field(
        description="workers also compute diagnostics on the training split (a cross-validation "
        "score, curves)"
    )
    reveal: Reveal
    split_warnings: list[str] | None = Field(
        None,
        description="organizers: test or validation splits so small that scores move in big "
        "steps (expect ties)",
    )
    my_group: MyGroup | None = Field(None, description="present when the viewer is in a group")


class RoundList(Output):
    rounds: list[Round]


class RoundChanges(Input):
    """The settings to change; fields left out stay as they are."""

    invalid_message: ClassVar[str] = "The round is not valid."
    name: Text100 = ""
    description: Text = ""
    metric: Text = Field("", description="see GET /api/algorithms/; changeable in a draft")
    allowed_algorithms: Names = Field(None, description="empty: all")
    starts_at: When = None
    ends_at: When = None
    job_quota: WholeNumber = Field(None, json_schema_extra={"minimum": 1})
    queued_quota: WholeNumber = Field(None, json_schema_extra={"minimum": 1})
    time_limit_seconds: WholeNumber = Field(None, json_schema_extra={"minimum": 1})
    memory_limit_mb: WholeNumber = Field(None, json_schema_extra={"minimum": 1})
    final_choice_allowed: Flag = False
    reveal_show: Flag = Field(
        False,
        description="reveal the final ranking place by place (default false); fixed once revealed",
    )
    prediction_uploads: Flag = Field(
        False,
        description="groups may upload a CSV of predictions (id, label) for the test and "
        "validation points, scored like any job (default false)",
    )
    diagnostics: Flag = Field(
        False,
        description="workers also compute a cross-validation score and diagnostic pictures on "
        "the training split, within each job's time limit (default false)",
    )
    course: WholeNumber = Field(None, description="a course id; null: in no course")


class RoundCreate(RoundChanges):
    """Required: `name`, `dataset`, `metric`."""

    dataset: WholeNumber


class RevealStep(Input):
    places: WholeNumber = Field(None, json_schema_extra={"minimum": 1})
    all: Flag = False


class RoundOpen(Input):
    ends_at: When = None


class RoundEvent(Output):
    # A plain string: a new kind of event must not turn the audit trail into a 500.
    action: str = Field(
        description="created, opened, closed, reopened, edited, final_choice, place_revealed, "
        "reveal_ended, ..."
    )
    by: str | None = Field(description="null: the schedule")
    at: Moment
    details: dict[str, Any]


class RoundEvents(Output):
    round: int
    events: list[RoundEvent]


class FinalChoice(Output):
    round: int
    group: str | None
    job: int | None


class FinalChoiceMark(Input):
    job: WholeNumber = Field(description="a job id, or null to unmark")
    group: Text64 = Field("", description="organizers: the group to unmark for")
