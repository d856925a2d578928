"""The boards as JSON, shaped for an audience: what each part may show is ``visibility``'s to
decide; this module only leaves out what it is told to."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from mlcontest.contest import visibility
from mlcontest.contest.ranking import (
    Baseline,
    FinalRanking,
    PublicLeaderboard,
    ScoreHistory,
    Standing,
)
from mlcontest.contest.visibility import Role, View


def _standing_json(line: Standing, recipes: bool, validation: bool) -> dict[str, Any]:
    described: dict[str, Any] = {
        "rank": line.rank,
        "group": line.group,
        "group_id": line.group_id,
        "job": line.job_id,
        "score_test": line.score_test,
        "submitted_at": line.submitted_at,
        "finished_at": line.finished_at,
        "tied": line.tied,
        "score_cv": line.score_cv,
    }
    if recipes:
        described["algorithm"] = line.algorithm
        described["params"] = line.params
    if validation:
        described["score_validation"] = line.score_validation
    return described


def _baseline_json(line: Baseline, validation: bool) -> dict[str, Any]:
    # A baseline is the organizers' line to beat: its recipe is public from the start.
    described: dict[str, Any] = {
        "job": line.job_id,
        "score_test": line.score_test,
        "algorithm": line.algorithm,
        "params": line.params,
        "groups_above": line.groups_above,
        "score_cv": line.score_cv,
    }
    if validation:
        described["score_validation"] = line.score_validation
    return described


def leaderboard_json(board: PublicLeaderboard, viewer_audience: Role) -> dict[str, Any]:
    recipes = visibility.board_sees(viewer_audience, View.RECIPES, board.stage)
    validation = visibility.board_sees(viewer_audience, View.VALIDATION, board.stage)
    return {
        "round": board.round_id,
        "version": board.version,
        "state": board.state,
        "revealed": board.revealed,
        "reveal_stage": board.stage.value,
        "metric_split": "test",
        "validation_visible": validation,
        "recipes_visible": recipes,
        "standings": [_standing_json(line, recipes, validation) for line in board.standings],
        "baselines": [_baseline_json(line, validation) for line in board.baselines],
        "unranked": list(board.unranked),
    }


def final_json(ranking: FinalRanking, places_shown: int | None = None) -> dict[str, Any]:
    """The final ranking as JSON; ``places_shown``: during the show, only that many places
    counted from the last (``visibility.final_places_shown``), and nothing else that depends
    on the validation split (the baselines' scores, who has none)."""
    total = len(ranking.standings)
    lines = ranking.standings
    if places_shown is not None:
        lines = tuple(line for line in lines if line.rank > total - places_shown)
    standings = []
    for line in lines:
        # A revealed line is shown whole, its algorithm too.
        standings.append(
            {
                "rank": line.rank,
                "group": line.group,
                "group_id": line.group_id,
                "job": line.job_id,
                "chosen_by": line.chosen_by,
                "score_validation": line.score_validation,
                "score_test": line.score_test,
                "public_rank": line.public_rank,
                "move": line.move,
                "tied": line.tied,
                "algorithm": line.algorithm,
                "params": line.params,
            }
        )
    whole = places_shown is None
    return {
        "round": ranking.round_id,
        "version": ranking.version,
        "state": ranking.state,
        "final": ranking.final,
        "revealed_at": ranking.revealed_at,
        "metric_split": "validation",
        "complete": whole,
        "places": total,
        "places_revealed": total if whole else min(places_shown or 0, total),
        "standings": standings,
        "baselines": [_baseline_json(line, whole) for line in ranking.baselines],
        "unranked": list(ranking.unranked) if whole else [],
    }


def history_json(history: ScoreHistory) -> dict[str, Any]:
    return {
        "round": history.round_id,
        "version": history.version,
        "metric_split": "test",
        "groups": [
            {
                "group": line.group,
                "group_id": line.group_id,
                "baseline": line.group_id is None,
                "points": [
                    {"at": point.at, "score_test": point.score_test, "job": point.job_id}
                    for point in line.points
                ],
            }
            for line in history.groups
        ],
    }


def to_json(data: Any) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder).encode()
