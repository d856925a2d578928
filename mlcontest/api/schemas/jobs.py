"""Jobs: what a job looks like, the submission, and the queries of the job lists."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from ninja import Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from mlcontest.algorithms.steps import STEPS
from mlcontest.api.schemas.common import (
    Input,
    MaybeMoment,
    Moment,
    Output,
    Params,
    Text16,
    WholeNumber,
)
from mlcontest.core.booleans import parse_bool


class Quota(Output):
    jobs_used: int
    jobs_left: int
    queued: int
    queue_places_left: int


class Picture(Output):
    filename: str
    url: str


class Job(Output):
    id: int
    round: int
    group: str | None = Field(None, description="when the viewer may see who submitted it")
    baseline: bool
    user: str | None = None
    algorithm: str
    params: Params
    state: Literal["queued", "running", "done", "failed"]
    created_at: Moment
    claimed_at: MaybeMoment
    finished_at: MaybeMoment
    success: bool | None
    score_test: float | None
    score_validation: float | None = Field(
        None, description="absent for students and workers until the round is revealed"
    )
    message: str
    diagnostics: dict[str, float] | None = Field(
        None,
        description="the worker's diagnostics on the training split (cv_score, cv_std, "
        "cv_folds; clustering: silhouette), in rounds with diagnostics",
    )
    pictures: list[Picture]
    quota: Quota | None = Field(None, description="in the answer to a submission")


class JobPage(Output):
    jobs: list[Job]
    more: bool


def _algorithm(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        raise PydanticCustomError("required", "required")
    return value


def _params(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PydanticCustomError("object", "must be an object")
    return value


class PipelineStep(BaseModel):
    """One preprocessing step: its name and its parameters (``GET /api/algorithms/`` lists each
    step's parameters; omitted ones take their defaults)."""

    # A pydantic model, not ninja's Schema: the step's own parameters are extra fields, and
    # Schema's validator drops them.
    model_config = ConfigDict(extra="allow")

    step: str = Field(description="one of " + ", ".join(STEPS))


class JobSubmission(Schema):
    """``{"algorithm": "knn", "params": {"n_neighbors": 5}}``; other fields are ignored, as the
    seed's submission ignores them. A pipeline adds its preprocessing steps, in order, before
    the model: ``"steps": [{"step": "pca", "n_components": 2}]`` (here or inside ``params``)."""

    model_config = ConfigDict(extra="ignore")
    invalid_message: ClassVar[str] = "Name the algorithm."

    algorithm: Annotated[str, BeforeValidator(_algorithm)]
    params: Annotated[Params, BeforeValidator(_params)] = {}
    # Anything but true (or "true", "True", "1") is false: a loose flag, as it always was.
    baseline: Annotated[
        bool, BeforeValidator(lambda value: value in (True, "true", "True", "1"))
    ] = Field(False, description="organizers: a line to beat, no group, no quota")
    steps: list[PipelineStep] | None = Field(
        None,
        description="preprocessing before the model, in order (stored in the job's params as "
        "steps); a value the round's data cannot allow (n_components above the features, k "
        "above the features the step gets) is refused with the step's place and name",
    )

    def all_params(self) -> dict[str, Any]:
        """The params with the steps given beside them (those win over ``params["steps"]``)."""
        if self.steps is None:
            return self.params
        return {**self.params, "steps": [step.model_dump() for step in self.steps]}

    @classmethod
    def summary(cls, fields: dict[str, str]) -> str:
        return cls.invalid_message if "algorithm" in fields else "params must be an object."


class JobList(Input):
    """``?state=done&limit=20``."""

    state: Text16 = Field("", description="only jobs in this state")
    limit: WholeNumber = Field(None, description="at most this many (default and most: 1000)")


class JobQuery(Schema):
    """``?labels=1``: the predicted labels too; read by the one boolean parser (``labels=0`` or
    none: without; a value it does not know is a 400)."""

    labels: Annotated[bool, BeforeValidator(lambda value: parse_bool(value, default=False))] = False
