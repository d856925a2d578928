"""The leaderboards: the public ranking, its version, its history and the final reveal."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlcontest.api.schemas.common import MaybeMoment, Moment, Output, Params

Score = float


class Standing(Output):
    rank: int
    group: str
    group_id: int
    job: int
    score_test: Score
    submitted_at: Moment
    finished_at: Moment
    tied: bool | None = Field(
        None, description="the same test score as the line above, whose job was submitted first"
    )
    algorithm: str | None = Field(None, description="after the reveal, or for organizers")
    params: Params | None = None
    score_validation: float | None = Field(None, description="same visibility")
    score_cv: float | None = Field(
        None,
        description="the job's cross-validation score on the training split, in the round's "
        "metric, where the round computes diagnostics; shown beside the test score, never ranked",
    )


class Baseline(Output):
    job: int
    score_test: Score
    algorithm: str | None = None
    params: Params | None = None
    groups_above: int = Field(description="groups whose best beats this line")
    score_validation: float | None = None
    score_cv: float | None = Field(None, description="as in a standing")


class Leaderboard(Output):
    round: int
    version: int
    state: str
    metric_split: Literal["test"]
    revealed: bool
    reveal_stage: Literal["hidden", "show", "shown"] | None = None
    validation_visible: bool
    recipes_visible: bool
    standings: list[Standing]
    baselines: list[Baseline]
    unranked: list[str]


class Version(Output):
    round: int
    version: int
    state: str
    etag: str


class FinalStanding(Output):
    rank: int
    group: str
    group_id: int
    job: int
    chosen_by: Literal["best_test", "final_choice"]
    score_validation: Score
    score_test: Score
    algorithm: str | None = None
    params: Params | None = None
    public_rank: int | None = None
    move: int | None = Field(
        None, description="public_rank - rank: positive means the group climbed"
    )
    tied: bool | None = Field(
        None, description="the same validation score as the line above, whose job came first"
    )


class FinalRanking(Output):
    round: int
    version: int
    state: str
    final: bool = Field(description="false: an organizer's preview before the reveal")
    revealed_at: MaybeMoment
    metric_split: Literal["validation"]
    complete: bool | None = Field(
        None, description="false during a show: only the places revealed so far are listed"
    )
    places: int | None = None
    places_revealed: int | None = Field(None, description="counted from the last place")
    standings: list[FinalStanding]
    baselines: list[Baseline]
    unranked: list[str]


class Point(Output):
    at: Moment
    score_test: Score
    job: int


class HistoryLine(Output):
    group: str | None
    group_id: int | None
    baseline: bool
    points: list[Point]


class History(Output):
    round: int
    version: int
    metric_split: Literal["test"]
    groups: list[HistoryLine]


def conditional() -> dict[str, Any]:
    """A polled answer's ETag, and the 304 of an unchanged one, for the document."""
    return {
        "parameters": [
            {
                "name": "If-None-Match",
                "in": "header",
                "schema": {"type": "string"},
                "description": "the ETag of your last answer: 304 while nothing changed",
            }
        ],
        "responses": {
            200: {"headers": {"ETag": {"schema": {"type": "string"}}}},
            304: {"description": "unchanged since the ETag you sent (no body)"},
        },
    }
