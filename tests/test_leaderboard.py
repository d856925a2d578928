"""The ranking rules of ``contest.leaderboard``: best test score per group, ties to the earlier
job, failed and unscored jobs never ranked, baselines as lines, the reveal by validation score
with moves, the final choice, late results, and the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mlcontest.contest import final_choice, leaderboard, queue, rounds
from mlcontest.contest.errors import Conflict, InvalidInput, PermissionDenied
from mlcontest.contest.models import Group, Job, JobState, Membership, Round, RoundEntry, User
from mlcontest.contest.ranking import BEST_TEST, FINAL_CHOICE, PublicLeaderboard
from tests.conftest import Contest, make_user, submit
from tests.leaderboard_helpers import finish, score


def fresh(round_: Round) -> Round:
    return rounds.get_round(round_.pk)


def board(contest: Contest) -> PublicLeaderboard:
    return leaderboard.public_leaderboard(fresh(contest.round))


def ranking(contest: Contest) -> list[tuple[int, str, float]]:
    return [(line.rank, line.group, line.score_test) for line in board(contest).standings]


@pytest.fixture
def gamma(contest: Contest) -> Group:
    """A third group with one member, ``gina``."""
    group = Group.objects.create(name="Gamma", public=True)
    make_user("gina", group=group)
    return group


def gina(gamma: Group) -> User:
    user = Membership.objects.get(group=gamma).user
    assert isinstance(user, User)
    return user


def test_each_group_ranks_by_its_best_test_score(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=2)
    finish(contest, submit(contest, contest.bob), test_wrong=1)
    best_alpha = finish(contest, submit(contest, contest.alice), test_wrong=0)
    finish(contest, submit(contest, contest.alice), test_wrong=3)
    lines = board(contest).standings
    assert ranking(contest) == [(1, "Alpha", 1.0), (2, "Beta", score(1))]
    assert lines[0].job_id == best_alpha.pk
    # The stored scores are the server's, computed from the labels.
    assert Job.objects.get(pk=best_alpha.pk).score_test == 1.0


def test_a_tie_goes_to_the_group_whose_job_was_submitted_first(contest: Contest) -> None:
    early = submit(contest, contest.bob)
    late = submit(contest, contest.alice)
    # The later job finishes first: submission order decides, not finishing order.
    finish(contest, late, test_wrong=1)
    finish(contest, early, test_wrong=1)
    assert Job.objects.get(pk=early.pk).created_at <= Job.objects.get(pk=late.pk).created_at
    assert ranking(contest) == [(1, "Beta", score(1)), (2, "Alpha", score(1))]


def test_within_a_group_the_earlier_of_equal_jobs_is_shown(contest: Contest) -> None:
    first = finish(contest, submit(contest, contest.alice), test_wrong=1)
    finish(contest, submit(contest, contest.alice), test_wrong=1)
    assert board(contest).standings[0].job_id == first.pk


def test_a_tie_at_the_same_instant_goes_to_the_lower_job_id(contest: Contest) -> None:
    beta_job = finish(contest, submit(contest, contest.bob), test_wrong=0)
    alpha_job = finish(contest, submit(contest, contest.alice), test_wrong=0)
    instant = timezone.now() - timedelta(minutes=1)
    Job.objects.filter(pk__in=[beta_job.pk, alpha_job.pk]).update(created_at=instant)
    leaderboard.clear_cache()  # the rows changed behind the version's back
    assert [line.job_id for line in board(contest).standings] == [beta_job.pk, alpha_job.pk]


def test_a_tie_follows_submission_time_even_against_id_order(contest: Contest) -> None:
    # Concurrent inserts on PostgreSQL can give the later-stamped job the lower id.
    beta_job = finish(contest, submit(contest, contest.bob), test_wrong=1)
    alpha_job = finish(contest, submit(contest, contest.alice), test_wrong=1)
    earlier = Job.objects.get(pk=beta_job.pk).created_at - timedelta(seconds=1)
    Job.objects.filter(pk=alpha_job.pk).update(created_at=earlier)
    leaderboard.clear_cache()
    assert [line.group for line in board(contest).standings] == ["Alpha", "Beta"]


def test_failed_jobs_never_rank(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), success=False)
    finish(contest, submit(contest, contest.bob), test_wrong=3)
    current = board(contest)
    assert ranking(contest) == [(1, "Beta", score(3))]
    assert current.unranked == ("Alpha",)
    assert Job.objects.get(group=contest.alpha).state == JobState.FAILED


def test_a_failed_job_with_a_score_left_in_its_row_never_ranks(contest: Contest) -> None:
    job = finish(contest, submit(contest, contest.alice), success=False)
    # Even if an old score lingers in the row (admin edit), a failure must not rank.
    Job.objects.filter(pk=job.pk).update(score_test=1.0, score_validation=1.0)
    leaderboard.clear_cache()
    assert ranking(contest) == []


def test_jobs_without_a_test_score_or_unfinished_never_rank(contest: Contest) -> None:
    done = finish(contest, submit(contest, contest.alice))
    Job.objects.filter(pk=done.pk).update(score_test=None)  # e.g. an empty test split
    submit(contest, contest.bob)  # queued
    running = submit(contest, contest.bob)
    Job.objects.filter(pk=running.pk).update(state=JobState.RUNNING)
    leaderboard.clear_cache()
    assert ranking(contest) == []
    assert board(contest).unranked == ("Alpha", "Beta")


def test_a_baseline_is_a_line_to_beat_not_a_rank(contest: Contest) -> None:
    baseline = queue.submit_job(contest.olga, contest.round, "knn", {}, baseline=True)
    finish(contest, baseline, test_wrong=1)
    finish(contest, submit(contest, contest.alice), test_wrong=0)
    finish(contest, submit(contest, contest.bob), test_wrong=1)  # equals the line: not above
    current = board(contest)
    assert ranking(contest) == [(1, "Alpha", 1.0), (2, "Beta", score(1))]
    assert [(line.job_id, line.score_test, line.groups_above) for line in current.baselines] == [
        (baseline.pk, score(1), 1)
    ]
    assert Job.objects.get(pk=baseline.pk).group is None


def test_students_see_test_scores_only_while_open(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=1)
    for_alice = leaderboard.leaderboard_for(fresh(contest.round), contest.alice)
    line = for_alice["standings"][0]
    assert line["score_test"] == 1.0
    assert "score_validation" not in line and "algorithm" not in line
    assert for_alice["validation_visible"] is False
    for_olga = leaderboard.leaderboard_for(fresh(contest.round), contest.olga)
    assert for_olga["standings"][0]["score_validation"] == score(1)
    assert for_olga["standings"][0]["algorithm"] == "knn"


def test_the_leaderboard_moves_as_soon_as_a_result_is_stored(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=2)
    assert ranking(contest) == [(1, "Alpha", score(2))]  # now cached for this version
    finish(contest, submit(contest, contest.bob), test_wrong=0)
    assert ranking(contest) == [(1, "Beta", 1.0), (2, "Alpha", score(2))]


# --- the final ranking -----------------------------------------------------------------------


def test_the_final_ranking_is_hidden_from_students_until_the_close(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice))
    with pytest.raises(PermissionDenied) as refused:
        leaderboard.final_for(fresh(contest.round), contest.alice)
    assert refused.value.code == "not_revealed"
    preview = leaderboard.final_for(fresh(contest.round), contest.olga)
    assert preview["final"] is False and len(preview["standings"]) == 1
    rounds.close_round(contest.olga, contest.round)
    revealed = leaderboard.final_for(fresh(contest.round), contest.alice)
    assert revealed["final"] is True and revealed["standings"][0]["group"] == "Alpha"
    line = leaderboard.leaderboard_for(fresh(contest.round), contest.alice)["standings"][0]
    assert line["score_validation"] == 1.0 and line["algorithm"] == "knn"


def test_reopening_keeps_the_reveal(contest: Contest) -> None:
    # A reveal is final: reopening is practice time, students keep seeing the final ranking.
    finish(contest, submit(contest, contest.alice))
    rounds.close_round(contest.olga, contest.round)
    revealed = leaderboard.final_for(fresh(contest.round), contest.alice)
    rounds.open_round(contest.olga, contest.round)
    again = leaderboard.final_for(fresh(contest.round), contest.alice)
    assert again["final"] is True and again["standings"] == revealed["standings"]


def test_the_reveal_ranks_by_validation_with_each_groups_move(
    contest: Contest, gamma: Group
) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=3)
    finish(contest, submit(contest, contest.bob), test_wrong=1, validation_wrong=0)
    finish(contest, queue.submit_job(gina(gamma), contest.round, "knn", {}), test_wrong=2,
           validation_wrong=1)  # fmt: skip
    rounds.close_round(contest.olga, contest.round)
    final = leaderboard.final_ranking(fresh(contest.round))
    assert [(line.rank, line.group, line.public_rank, line.move) for line in final.standings] == [
        (1, "Beta", 2, 1),
        (2, "Gamma", 3, 1),
        (3, "Alpha", 1, -2),
    ]
    assert [line.score_validation for line in final.standings] == [1.0, score(1), score(3)]
    assert {line.chosen_by for line in final.standings} == {BEST_TEST}


def test_the_reveal_uses_the_best_test_job_not_the_best_validation_job(contest: Contest) -> None:
    best_test = finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=0)
    rounds.close_round(contest.olga, contest.round)
    line = leaderboard.final_ranking(fresh(contest.round)).standings[0]
    assert (line.job_id, line.score_validation) == (best_test.pk, score(2))


def test_a_validation_tie_goes_to_the_earlier_job(contest: Contest) -> None:
    finish(contest, submit(contest, contest.bob), test_wrong=1, validation_wrong=1)
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=1)
    rounds.close_round(contest.olga, contest.round)
    final = leaderboard.final_ranking(fresh(contest.round))
    assert [(line.group, line.move) for line in final.standings] == [("Beta", 1), ("Alpha", -1)]


def test_a_job_finishing_after_the_close_still_counts(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=1)
    late = submit(contest, contest.bob)
    rounds.close_round(contest.olga, contest.round)
    assert ranking(contest) == [(1, "Alpha", score(1))]
    finish(contest, late, test_wrong=0, validation_wrong=0)
    late.refresh_from_db()
    closed_at = Round.objects.get(pk=contest.round.pk).closed_at
    assert late.finished_at is not None and closed_at is not None
    assert late.finished_at > closed_at
    assert ranking(contest) == [(1, "Beta", 1.0), (2, "Alpha", score(1))]
    final = leaderboard.final_ranking(fresh(contest.round))
    assert [line.group for line in final.standings] == ["Beta", "Alpha"]


# --- the final choice ------------------------------------------------------------------------


@pytest.fixture
def choosing(contest: Contest) -> Contest:
    rounds.update_round(contest.olga, contest.round, final_choice_allowed=True)
    return contest


def test_a_marked_final_choice_counts_instead_of_the_best_test_job(choosing: Contest) -> None:
    contest = choosing
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=3)
    chosen = finish(contest, submit(contest, contest.alice), test_wrong=2, validation_wrong=0)
    finish(contest, submit(contest, contest.bob), test_wrong=1, validation_wrong=1)
    entry = final_choice.mark_final_choice(contest.alice, fresh(contest.round), chosen)
    assert RoundEntry.objects.get(pk=entry.pk).final_job_id == chosen.pk
    rounds.close_round(contest.olga, contest.round)
    final = leaderboard.final_ranking(fresh(contest.round))
    alpha = next(line for line in final.standings if line.group == "Alpha")
    assert (alpha.job_id, alpha.chosen_by, alpha.rank, alpha.public_rank) == (
        chosen.pk,
        FINAL_CHOICE,
        1,
        1,
    )
    # The public leaderboard still shows the best test job.
    assert board(contest).standings[0].job_id != chosen.pk


def test_without_the_round_allowing_it_a_choice_is_refused(contest: Contest) -> None:
    job = finish(contest, submit(contest, contest.alice))
    with pytest.raises(Conflict) as refused:
        final_choice.mark_final_choice(contest.alice, fresh(contest.round), job)
    assert refused.value.code == "final_choice_not_allowed"
    assert RoundEntry.objects.get(group=contest.alpha).final_job is None


def test_a_choice_marked_while_not_allowed_in_the_row_does_not_count(contest: Contest) -> None:
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    other = finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=0)
    RoundEntry.objects.filter(group=contest.alpha).update(final_job=other)
    rounds.close_round(contest.olga, contest.round)
    line = leaderboard.final_ranking(fresh(contest.round)).standings[0]
    assert (line.chosen_by, line.score_validation) == (BEST_TEST, score(2))


def test_the_choice_is_made_before_the_close(choosing: Contest) -> None:
    contest = choosing
    job = finish(contest, submit(contest, contest.alice))
    rounds.close_round(contest.olga, contest.round)
    for who in (contest.alice, contest.olga):  # the reveal is final for organizers too
        with pytest.raises(Conflict) as refused:
            final_choice.mark_final_choice(who, fresh(contest.round), job)
        assert refused.value.code == "revealed"
    assert RoundEntry.objects.get(group=contest.alpha).final_job is None


def test_only_a_ranked_job_of_ones_own_group_can_be_chosen(choosing: Contest) -> None:
    contest = choosing
    failed = finish(contest, submit(contest, contest.alice), success=False)
    queued = submit(contest, contest.alice)
    betas = finish(contest, submit(contest, contest.bob))
    for job in (failed, queued):
        with pytest.raises(Conflict) as refused:
            final_choice.mark_final_choice(contest.alice, fresh(contest.round), job)
        assert refused.value.code == "job_not_ranked"
    with pytest.raises(InvalidInput):
        final_choice.mark_final_choice(contest.alice, fresh(contest.round), betas)
    assert not RoundEntry.objects.filter(final_job__isnull=False).exists()


def test_unmarking_brings_back_the_best_test_job(choosing: Contest) -> None:
    contest = choosing
    finish(contest, submit(contest, contest.alice), test_wrong=0, validation_wrong=2)
    chosen = finish(contest, submit(contest, contest.alice), test_wrong=1, validation_wrong=0)
    final_choice.mark_final_choice(contest.alice, fresh(contest.round), chosen)
    final_choice.mark_final_choice(contest.alice, fresh(contest.round), None)
    rounds.close_round(contest.olga, contest.round)
    line = leaderboard.final_ranking(fresh(contest.round)).standings[0]
    assert (line.chosen_by, line.score_validation) == (BEST_TEST, score(2))
    actions = list(contest.round.events.values_list("action", "details"))
    assert ("final_choice", {"group": "Alpha", "job": chosen.pk}) in actions
    assert ("final_choice", {"group": "Alpha", "job": None}) in actions


# --- the history -----------------------------------------------------------------------------


def test_the_history_has_a_point_each_time_a_group_improved(contest: Contest) -> None:
    first = finish(contest, submit(contest, contest.alice), test_wrong=2)
    finish(contest, submit(contest, contest.alice), test_wrong=3)  # worse: no point
    finish(contest, submit(contest, contest.alice), test_wrong=2)  # equal: no point
    better = finish(contest, submit(contest, contest.alice), test_wrong=0)
    beta = finish(contest, submit(contest, contest.bob), test_wrong=1)
    baseline = finish(
        contest, queue.submit_job(contest.olga, contest.round, "knn", {}, baseline=True)
    )
    history = leaderboard.score_history(fresh(contest.round))
    points = {
        line.group: [(p.job_id, p.score_test) for p in line.points] for line in history.groups
    }
    assert points == {
        "Alpha": [(first.pk, score(2)), (better.pk, 1.0)],
        "Beta": [(beta.pk, score(1))],
        None: [(baseline.pk, 1.0)],
    }
    alpha = next(line for line in history.groups if line.group == "Alpha")
    assert alpha.points[0].at <= alpha.points[1].at
