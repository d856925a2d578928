"""How a round ranks its groups: the public ranking, the baselines, the final ranking, the history.

The rules (PRODUCT.md, issue 4):

- Only a job that is ``done``, succeeded and has a test score ranks; failed jobs never do.
- The public ranking orders groups by their best **test** score; a tie goes to the group whose
  best job was submitted first (``created_at``, then ``id``). Ranks are 1, 2, 3 ... with no
  shared places; a line whose score equals the line above is marked ``tied`` so that the
  pages can say why it is below (small splits make ties: ``contest.split_sizes``).
- The organizer's baseline jobs (``group`` is null) do not rank: each is a line to beat, with the
  number of groups above it.
- The final ranking orders groups by the **validation** score of the job that counts for them:
  their best test job, or, when the round allows it, the job they marked as their final choice;
  a tie goes to the earlier job again, and is marked ``tied`` the same way.
  Each group's move is its public rank minus its final rank (positive: it climbed).
- The first close is the reveal (``Round.revealed_at``): from then on the final ranking counts
  only the jobs submitted before it (one that finishes later still counts) and the final
  choices as they stood then (``rounds.mark_final_choice`` refuses new ones). Public ranks and
  moves in it come from the public board among those same jobs. Reopening a revealed round
  is practice: new jobs rank on the public board, the final ranking stays as revealed.
- Who sees what (other groups' algorithms, validation scores, the final ranking, the places
  revealed so far during a show) is decided by ``contest.visibility``; boards are cached per
  audience (``visibility.audience``).

Everything here is computed by the database in a few queries; ``contest.leaderboard`` caches
the results per process and ``contest.board_json`` shapes them for a viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Max, Min, OuterRef, QuerySet, Subquery, Window

from mlcontest.algorithms.direction import beats, higher_is_better, rank_value
from mlcontest.contest import visibility
from mlcontest.contest.diagnostics import cv_score
from mlcontest.contest.models import Job, JobState, Round, RoundEntry
from mlcontest.contest.score_order import best_first
from mlcontest.contest.visibility import Stage

# How the chosen job of a group was picked, in the final ranking.
BEST_TEST = "best_test"
FINAL_CHOICE = "final_choice"


@dataclass(frozen=True)
class Standing:
    """A group's line on the public leaderboard: its best job by test score."""

    rank: int
    group_id: int
    group: str
    job_id: int
    score_test: float
    score_validation: float | None
    algorithm: str
    params: dict[str, Any]
    submitted_at: datetime
    finished_at: datetime | None
    tied: bool = False  # the same test score as the line above, whose job came first
    # The job's cross-validation score on the training split, in rounds with diagnostics:
    # shown beside the test score ("CV 0.91 / test 0.94"), never ranked.
    score_cv: float | None = None


@dataclass(frozen=True)
class Baseline:
    """An organizer's baseline job: a line to beat. ``groups_above`` groups beat it strictly."""

    job_id: int
    score_test: float
    score_validation: float | None
    algorithm: str
    params: dict[str, Any]
    groups_above: int
    score_cv: float | None = None


@dataclass(frozen=True)
class PublicLeaderboard:
    round_id: int
    version: int
    state: str
    standings: tuple[Standing, ...]
    baselines: tuple[Baseline, ...]
    unranked: tuple[str, ...]  # groups in the round without a ranked job yet, by name
    revealed: bool = False
    stage: Stage = Stage.HIDDEN


@dataclass(frozen=True)
class FinalStanding:
    """A group's line in the final ranking: the validation score of the job that counts."""

    rank: int
    group_id: int
    group: str
    job_id: int
    chosen_by: str  # BEST_TEST or FINAL_CHOICE
    score_validation: float
    score_test: float | None
    algorithm: str
    params: dict[str, Any]
    public_rank: int | None
    move: int | None  # public_rank - rank: positive means the group climbed at the reveal
    tied: bool = False  # the same validation score as the line above, whose job came first


@dataclass(frozen=True)
class FinalRanking:
    round_id: int
    version: int
    state: str
    final: bool  # False until the reveal (the first close): then this is an organizer's preview
    standings: tuple[FinalStanding, ...]
    baselines: tuple[Baseline, ...]
    unranked: tuple[str, ...]
    revealed_at: datetime | None = None


@dataclass(frozen=True)
class HistoryPoint:
    """The moment a group's best test score improved, and the job that did it."""

    at: datetime
    score_test: float
    job_id: int


@dataclass(frozen=True)
class GroupHistory:
    group_id: int | None  # None: the baselines
    group: str | None
    points: tuple[HistoryPoint, ...]


@dataclass(frozen=True)
class ScoreHistory:
    round_id: int
    version: int
    groups: tuple[GroupHistory, ...]


# --- the public ranking ----------------------------------------------------------------------


def ranked_jobs(round_: Round | int, before: datetime | None = None) -> QuerySet[Job]:
    """The jobs of the round that may rank: done, successful, with a test score; only those
    submitted before ``before`` when it is given (the reveal)."""
    round_id = round_ if isinstance(round_, int) else round_.pk
    jobs = Job.objects.filter(
        round_id=round_id, state=JobState.DONE, success=True, score_test__isnull=False
    )
    return jobs if before is None else jobs.filter(created_at__lt=before)


def _best_per_group(
    round_id: int, before: datetime | None = None, metric: str = ""
) -> list[dict[str, Any]]:
    """Each group's best job by test score, the earlier job winning a tie, in one query.

    For each group in the round (its ``RoundEntry``, made at its first submission) the database
    picks the first job in score order with ``LIMIT 1``; with an index on
    ``(round, group, state, score_test)`` that is one index probe per group, so a round of
    100,000 jobs costs about as much as one of 100."""
    best_job = (
        ranked_jobs(round_id, before)
        .filter(group_id=OuterRef("group_id"))
        .order_by(best_first("score_test", metric), "created_at", "id")
        .values("id")[:1]
    )
    # Two queries, not one with a nested IN: without fresh statistics (right after many jobs
    # arrived) PostgreSQL planned the nested form as a scan of every job, 10 times slower.
    best_ids = [
        job_id
        for job_id in RoundEntry.objects.filter(round_id=round_id)
        .annotate(best_job=Subquery(best_job))
        .values_list("best_job", flat=True)
        if job_id is not None  # a group without a ranked job
    ]
    rows = (
        Job.objects.filter(pk__in=best_ids)
        .order_by()
        .values(
            "id",
            "group_id",
            "group__name",
            "score_test",
            "score_validation",
            "algorithm",
            "params",
            "created_at",
            "finished_at",
            "diagnostics",  # a few numbers: the CV score shown beside the test score
        )
    )
    return [dict(row) for row in rows]


def _sort_key(metric: str) -> Callable[[dict[str, Any]], tuple[float, datetime, int]]:
    def key(row: dict[str, Any]) -> tuple[float, datetime, int]:
        return (rank_value(row["score_test"], metric), row["created_at"], row["id"])

    return key


def _baselines(
    round_id: int,
    standings: tuple[Standing, ...],
    before: datetime | None = None,
    metric: str = "",
) -> tuple[Baseline, ...]:
    rows = (
        ranked_jobs(round_id, before)
        .filter(group__isnull=True)
        .order_by(best_first("score_test", metric), "created_at", "id")
        .values_list("id", "score_test", "score_validation", "algorithm", "params", "diagnostics")
    )
    return tuple(
        Baseline(
            job_id=job_id,
            score_test=float(score_test or 0.0),  # never None: ranked_jobs has a test score
            score_validation=score_validation,
            algorithm=algorithm,
            params=params,
            # A group must beat the line, not equal it.
            groups_above=len(
                [line for line in standings if beats(line.score_test, score_test or 0, metric)]
            ),
            score_cv=cv_score(diagnostics),
        )
        for job_id, score_test, score_validation, algorithm, params, diagnostics in rows
    )


def _unranked(
    round_id: int, ranked_group_ids: set[int], before: datetime | None = None
) -> tuple[str, ...]:
    entries = RoundEntry.objects.filter(round_id=round_id)
    if before is not None:  # a group that came after the reveal is not in the final ranking
        entries = entries.filter(joined_at__lt=before)
    names = entries.values_list("group_id", "group__name")
    return tuple(sorted(name for group_id, name in names if group_id not in ranked_group_ids))


def compute_public(round_: Round, before: datetime | None = None) -> PublicLeaderboard:
    """The public board; with ``before``, as it stands among the jobs submitted before then."""
    metric = round_.metric
    rows = sorted(_best_per_group(round_.pk, before, metric), key=_sort_key(metric))
    standings = tuple(
        Standing(
            rank=rank,
            group_id=row["group_id"],
            group=row["group__name"],
            job_id=row["id"],
            score_test=row["score_test"],
            score_validation=row["score_validation"],
            algorithm=row["algorithm"],
            params=row["params"],
            submitted_at=row["created_at"],
            finished_at=row["finished_at"],
            tied=rank > 1 and rows[rank - 2]["score_test"] == row["score_test"],
            score_cv=cv_score(row["diagnostics"]),
        )
        for rank, row in enumerate(rows, start=1)
    )
    return PublicLeaderboard(
        round_id=round_.pk,
        version=round_.leaderboard_version,
        state=round_.state,
        standings=standings,
        baselines=_baselines(round_.pk, standings, before, metric),
        unranked=_unranked(round_.pk, {line.group_id for line in standings}, before),
        revealed=visibility.revealed(round_),
        stage=visibility.stage(round_),
    )


def compute_final(round_: Round, public: PublicLeaderboard) -> FinalRanking:
    """The ranking by validation score; ``public`` is the public board among the same jobs
    (``leaderboard.final_ranking`` passes it)."""
    before = round_.revealed_at
    by_group = {line.group_id: line for line in public.standings}
    choices: dict[int, int] = {}
    if round_.final_choice_allowed:
        choices = dict(
            RoundEntry.objects.filter(round=round_, final_job__isnull=False).values_list(
                "group_id", "final_job_id"
            )
        )
    # A marked job counts only if it can rank; mark_final_choice only accepts such jobs, but a
    # job can be changed by an organizer afterwards (admin), so check again.
    chosen_rows = {
        row["group_id"]: row
        for row in ranked_jobs(round_, before)
        .filter(pk__in=choices.values())
        .values(
            "id", "group_id", "score_test", "score_validation", "algorithm", "params", "created_at"
        )
        if choices.get(row["group_id"]) == row["id"]
    }
    candidates: list[dict[str, Any]] = []
    for group_id, line in by_group.items():
        row = chosen_rows.get(group_id)
        if row is not None:
            candidates.append(
                {**row, "chosen_by": FINAL_CHOICE, "group": line.group, "public_rank": line.rank}
            )
        else:
            candidates.append(
                {
                    "id": line.job_id,
                    "group_id": group_id,
                    "score_test": line.score_test,
                    "score_validation": line.score_validation,
                    "algorithm": line.algorithm,
                    "params": line.params,
                    "created_at": line.submitted_at,
                    "chosen_by": BEST_TEST,
                    "group": line.group,
                    "public_rank": line.rank,
                }
            )
    scored = [row for row in candidates if row["score_validation"] is not None]
    scored.sort(
        key=lambda row: (
            rank_value(row["score_validation"], round_.metric),
            row["created_at"],
            row["id"],
        )
    )
    standings = tuple(
        FinalStanding(
            rank=rank,
            group_id=row["group_id"],
            group=row["group"],
            job_id=row["id"],
            chosen_by=row["chosen_by"],
            score_validation=row["score_validation"],
            score_test=row["score_test"],
            algorithm=row["algorithm"],
            params=row["params"],
            public_rank=row["public_rank"],
            move=row["public_rank"] - rank,
            tied=rank > 1 and scored[rank - 2]["score_validation"] == row["score_validation"],
        )
        for rank, row in enumerate(scored, start=1)
    )
    # Groups with no ranked job, or whose job has no validation score (an empty split).
    unranked = sorted(
        {*public.unranked, *(row["group"] for row in candidates if row["score_validation"] is None)}
    )
    return FinalRanking(
        round_id=round_.pk,
        version=round_.leaderboard_version,
        state=round_.state,
        final=before is not None,
        standings=standings,
        baselines=public.baselines,
        unranked=tuple(unranked),
        revealed_at=before,
    )


def compute_history(round_: Round) -> ScoreHistory:
    # The database keeps only the jobs that reached their group's running best (in the order
    # the jobs finished), so a round of 100,000 jobs sends back a few hundred rows; Python then
    # drops the ones that merely equalled an earlier best.
    finished_order = [F("finished_at").asc(), F("id").asc()]
    rows = (
        ranked_jobs(round_)
        .annotate(
            best_so_far=Window(
                (Max if higher_is_better(round_.metric) else Min)("score_test"),
                partition_by=[F("group_id")],
                order_by=finished_order,
            )
        )
        .filter(best_so_far=F("score_test"))
        .values_list("group_id", "group__name", "finished_at", "score_test", "id")
        .order_by("group_id", "finished_at", "id")
    )
    per_group: dict[int | None, tuple[str | None, list[HistoryPoint]]] = {}
    for group_id, name, finished_at, score_test, job_id in rows:
        if finished_at is None or score_test is None:
            continue  # not possible for a done job; keeps the types honest
        points = per_group.setdefault(group_id, (name, []))[1]
        if not points or beats(score_test, points[-1].score_test, round_.metric):
            points.append(HistoryPoint(at=finished_at, score_test=score_test, job_id=job_id))
    groups = sorted(
        (
            GroupHistory(group_id=group_id, group=name, points=tuple(points))
            for group_id, (name, points) in per_group.items()
        ),
        key=lambda history: (history.group is None, history.group or ""),
    )
    return ScoreHistory(
        round_id=round_.pk, version=round_.leaderboard_version, groups=tuple(groups)
    )
