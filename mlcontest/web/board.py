"""The leaderboard as the pages need it: rows, history, reveal and the final choice.

The ranking rules belong to ``mlcontest.contest.leaderboard`` (cached per round version) and
who sees what to ``mlcontest.contest.visibility``; this adapter only reshapes their answers for
the templates and adds what is display-only (how many jobs each group has run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils.translation import gettext

from mlcontest.algorithms import METRICS
from mlcontest.algorithms.direction import higher_is_better
from mlcontest.contest import final_choice, leaderboard, visibility
from mlcontest.contest.models import Group, Job, Round, User
from mlcontest.contest.visibility import Role, View


@dataclass
class Row:
    rank: int
    group: str
    score: float | None
    jobs: int
    algorithm: str = ""
    job_id: int | None = None
    baseline: bool = False
    idle: bool = False  # a group with members and no test score yet
    tied: bool = False  # the same score as the group above, whose job came first
    cv: float | None = None  # the job's cross-validation score, in rounds with diagnostics


@dataclass
class RevealRow:
    rank: int
    group: str
    score: float | None
    move: int | None
    algorithm: str = ""
    chosen_by: str = ""
    tied: bool = False


def recipes_shown(round_: Round, audience: Role) -> bool:
    """Whether the board shows other groups' algorithms to this audience."""
    return visibility.board_sees(audience, View.RECIPES, visibility.stage(round_))


def rows(round_: Round, audience: Role, every_group: bool = False) -> list[Row]:
    """The public leaderboard as ``audience`` sees it, best first, with each baseline as a line
    under the groups that beat it (the groups' algorithms only where ``visibility`` allows).

    ``every_group``: the groups with members and no score yet follow, by name (the projector
    shows the whole room, also who has not played)."""
    board = leaderboard.public_leaderboard(round_)
    recipes = recipes_shown(round_, audience)
    counts = dict(
        Job.objects.filter(round=round_, group__isnull=False)
        .values_list("group_id")
        .annotate(n=Count("id"))
        .values_list("group_id", "n")
    )
    lines = [
        Row(
            line.rank,
            line.group,
            line.score_test,
            counts.get(line.group_id, 0),
            line.algorithm if recipes else "",
            line.job_id,
            tied=line.tied,
            cv=line.score_cv,
        )
        for line in board.standings
    ]
    # Insert each baseline after the groups that beat it, last baseline first so the
    # positions computed on the groups alone stay right.
    for base in sorted(board.baselines, key=lambda b: -b.groups_above):
        lines.insert(
            base.groups_above,
            Row(
                0,
                gettext("baseline: %(algorithm)s") % {"algorithm": base.algorithm},
                base.score_test,
                1,
                base.algorithm,
                base.job_id,
                baseline=True,
                cv=base.score_cv,
            ),
        )
    if every_group:
        ranked = {line.group_id for line in board.standings}
        idle = (
            Group.objects.filter(membership__isnull=False)
            .exclude(pk__in=ranked)
            .distinct()
            .order_by("name")
        )
        lines += [Row(0, group.name, None, counts.get(group.pk, 0), idle=True) for group in idle]
    return lines


def history(round_: Round) -> dict[str, list[tuple[datetime, float]]]:
    """Each group's best test score over time: a step per improvement (baselines left out)."""
    answer = leaderboard.score_history(round_)
    return {
        str(line.group): [(point.at, point.score_test) for point in line.points]
        for line in answer.groups
        if line.group_id is not None
    }


def reveal(round_: Round, audience: Role) -> list[RevealRow]:
    """The final ranking by validation with each group's move, for those ``visibility`` shows
    it to (everyone once revealed, during a show only the places revealed so far; organizers
    before, as a preview)."""
    if not visibility.board_sees(audience, View.FINAL, visibility.stage(round_)):
        return []
    ranking = leaderboard.final_ranking(round_)
    shown = visibility.final_places_shown(audience, round_)
    total = len(ranking.standings)
    return [
        RevealRow(
            line.rank,
            line.group,
            line.score_validation,
            line.move,
            line.algorithm,
            line.chosen_by,
            line.tied,
        )
        for line in ranking.standings
        if shown is None or line.rank > total - shown
    ]


def mark_final(user: User, job: Job) -> None:
    """Make ``job`` its group's final choice; the domain decides who may and when."""
    final_choice.mark_final_choice(user, job.round, job)


def chart_range(round_: Round, series: dict[str, list[tuple[datetime, float]]]) -> dict[str, float]:
    """The history chart's value axis where it is not 0..1: a regression metric's scores are
    unbounded (an error from 0 up, R² below 0), so the axis spans the scores shown ({} for the
    metrics in [0, 1], which keep their fixed axis)."""
    if METRICS[round_.metric].task != "regression":
        return {}
    values = [value for points in series.values() for _, value in points]
    if not values:
        return {"low": 0.0, "high": 1.0}
    low, high = min(values), max(values)
    if not higher_is_better(round_.metric):
        low = 0.0  # an error's axis starts at a perfect 0
    pad = (high - low) * 0.05 or 1.0
    return {"low": low - (pad if low else 0.0), "high": high + pad}
