"""The documented JSON API (docs/api.md, /api/openapi.json, /api/docs/), over the same domain
functions as the seed protocol."""

from django.urls import path

import mlcontest.converters  # noqa: F401  (registers <id:...>)
from mlcontest.api import (
    announcements,
    courses,
    datasets,
    docs,
    groups,
    leaderboards,
    openapi,
    rounds,
    views,
)
from mlcontest.contest import training_data

urlpatterns = [
    path("", views.index, name="api_index"),
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs/", docs.docs, name="api_docs"),
    path("me/", views.me, name="api_me"),
    path("algorithms/", views.algorithms, name="api_algorithms"),
    path("announcements/", announcements.announcement_list, name="api_announcements"),
    path(
        "announcements/<id:announcement_id>/end/",
        announcements.announcement_end,
        name="api_announcement_end",
    ),
    path("groups/", groups.group_list, name="api_groups"),
    path("groups/<id:group_id>/", groups.group_detail, name="api_group"),
    path("groups/<id:group_id>/join/", groups.group_join, name="api_group_join"),
    path("groups/<id:group_id>/members/", groups.group_members, name="api_group_members"),
    path("datasets/", datasets.dataset_list, name="api_datasets"),
    path("datasets/<id:dataset_id>/", datasets.dataset_detail, name="api_dataset"),
    path("datasets/<id:dataset_id>/points/", datasets.dataset_points, name="api_dataset_points"),
    path("rounds/", rounds.round_list, name="api_rounds"),
    path("rounds/<id:round_id>/", rounds.round_detail, name="api_round"),
    path("rounds/<id:round_id>/open/", rounds.round_open, name="api_round_open"),
    path("rounds/<id:round_id>/close/", rounds.round_close, name="api_round_close"),
    path("rounds/<id:round_id>/reveal/", rounds.round_reveal, name="api_round_reveal"),
    path("rounds/<id:round_id>/events/", rounds.round_events, name="api_round_events"),
    path(
        "rounds/<id:round_id>/data/training.csv",
        rounds.round_data,
        {"part": training_data.TRAINING},
        name="api_round_training_data",
    ),
    path(
        "rounds/<id:round_id>/data/test-validation.csv",
        rounds.round_data,
        {"part": training_data.UNLABELLED},
        name="api_round_test_data",
    ),
    path("rounds/<id:round_id>/final-choice/", rounds.final_choice, name="api_final_choice"),
    path("rounds/<id:round_id>/jobs/", rounds.round_jobs, name="api_round_jobs"),
    path(
        "rounds/<id:round_id>/leaderboard/",
        leaderboards.round_leaderboard,
        name="api_round_leaderboard",
    ),
    path("rounds/<id:round_id>/version/", leaderboards.round_version, name="api_round_version"),
    path("rounds/<id:round_id>/history/", leaderboards.round_history, name="api_round_history"),
    path("rounds/<id:round_id>/final/", leaderboards.round_final, name="api_round_final"),
    path("jobs/<id:job_id>/", views.job_detail, name="api_job"),
    path("courses/", courses.course_list, name="api_courses"),
    path("courses/<id:course_id>/", courses.course_detail, name="api_course"),
    path(
        "courses/<id:course_id>/standings/",
        courses.course_standings_view,
        name="api_course_standings",
    ),
    path("courses/<id:course_id>/grades.csv", courses.course_grades, name="api_course_grades"),
]
