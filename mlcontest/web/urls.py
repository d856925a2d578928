from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

import mlcontest.http.converters  # noqa: F401  (registers <id:...>)
from mlcontest.web import announce, courses, downloads, live, organizer, predictions, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages without an icon link (JSON, the admin's pages).
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg"), permanent=True)),
    path("help/", views.help_page, name="help"),
    path("signup/", views.signup, name="signup"),
    path("groups/", views.group_list, name="groups"),
    path("groups/join/", views.group_join, name="group_join"),
    path("groups/<id:group_id>/", views.group_detail, name="group"),
    path("rounds/", views.round_list, name="rounds"),
    path("rounds/<id:round_id>/", views.round_detail, name="round"),
    path("rounds/<id:round_id>/live/", live.round_live, name="round_live"),
    path("rounds/<id:round_id>/data/<slug:part>.csv", downloads.round_data, name="round_data"),
    path("rounds/<id:round_id>/predictions/", predictions.round_upload, name="round_predictions"),
    path("rounds/<id:round_id>/projector/", organizer.projector, name="projector"),
    path("rounds/<id:round_id>/projector/live/", live.projector_live, name="projector_live"),
    path("courses/<id:course_id>/", courses.course_detail, name="course"),
    path("courses/<id:course_id>/projector/", courses.course_projector, name="course_projector"),
    path("jobs/<id:job_id>/", views.job_detail, name="job"),
    path("jobs/<id:job_id>/live/", live.job_live, name="job_live"),
    path("jobs/<id:job_id>/final/", views.job_mark_final, name="job_final"),
    path("live/announcements/", announce.announcements_live, name="announcements_live"),
    path(
        "live/announcements/<id:round_id>/",
        announce.announcements_live,
        name="announcements_round_live",
    ),
    path("manage/", organizer.overview, name="overview"),
    path("manage/announcements/", announce.announcement_list, name="announcements"),
    path(
        "manage/announcements/<id:announcement_id>/end/",
        announce.announcement_end,
        name="announcement_end",
    ),
    path("manage/datasets/", organizer.dataset_list, name="datasets"),
    path("manage/datasets/new/", organizer.dataset_new, name="dataset_new"),
    path("manage/courses/", courses.course_list, name="courses"),
    path("manage/courses/<id:course_id>/", courses.course_edit, name="course_edit"),
    path("manage/courses/<id:course_id>/grades.csv", courses.course_grades, name="course_grades"),
    path("manage/rounds/new/", organizer.round_new, name="round_new"),
    path("manage/rounds/<id:round_id>/", organizer.manage_round, name="manage_round"),
    path("manage/rounds/<id:round_id>/baseline/", organizer.round_baseline, name="round_baseline"),
    path("manage/rounds/<id:round_id>/export.csv", organizer.round_export, name="round_export"),
    path("manage/rounds/<id:round_id>/reveal/", organizer.round_reveal, name="round_reveal"),
    path(
        "manage/rounds/<id:round_id>/uploads/",
        predictions.round_switch,
        {"setting": "prediction_uploads"},
        name="round_uploads",
    ),
    path(
        "manage/rounds/<id:round_id>/diagnostics/",
        predictions.round_switch,
        {"setting": "diagnostics"},
        name="round_diagnostics",
    ),
    path("manage/rounds/<id:round_id>/<str:action>/", organizer.round_action, name="round_action"),
]
