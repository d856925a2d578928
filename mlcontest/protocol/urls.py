from django.urls import path, re_path

import mlcontest.http.converters  # noqa: F401  (registers <id:...>)
from mlcontest.protocol import dataset_files, views

urlpatterns = [
    path("env.json/", views.env, name="env"),
    path("ok.json", views.ok, name="ok"),
    path("actions/add_group/", views.add_group, name="add_group"),
    # quote_plus leaves the name's '/' encoded, but the server decodes it before routing.
    re_path(r"^actions/join_group/(?P<name>.+)/$", views.join_group, name="join_group"),
    path("actions/get_groups.json/", views.get_groups, name="get_groups"),
    re_path(r"^actions/get_round/(?P<round_id>[^/]+)\.json/$", views.get_round, name="get_round"),
    re_path(
        r"^actions/get_job_params/(?P<job_id>[^/]+)\.json/$",
        views.get_job_params,
        name="get_job_params",
    ),
    re_path(
        r"^actions/update_job_details/(?P<job_id>[^/]+)\.json/$",
        views.update_job_details,
        name="update_job_details",
    ),
    re_path(
        r"^actions/add_job_picture/(?P<job_id>[^/]+)\.json/$",
        views.add_job_picture,
        name="add_job_picture",
    ),
    path("actions/get_datasets.json/", views.get_datasets, name="get_datasets"),
    path(
        "actions/get_dataset_points/<id:dataset_id>.json/",
        views.get_dataset_points,
        name="get_dataset_points",
    ),
    path("actions/ping/", views.ping, name="ping"),
    # Job pictures (the answer of add_job_picture points here): checked, unlike other media.
    path("media/jobs/<id:job_id>/<path:filename>", views.job_picture, name="job_picture"),
    # Beyond the seed: lease renewal and hand-back for long or interrupted jobs.
    path("actions/renew_lease/<id:job_id>.json/", views.renew_lease, name="renew_lease"),
    path("actions/release_job/<id:job_id>.json/", views.release_job, name="release_job"),
    # Beyond the seed: a dataset version as Parquet plus its splits, for workers.
    path(
        "actions/get_dataset_file/<id:dataset_id>/",
        dataset_files.get_dataset_file,
        name="get_dataset_file",
    ),
    path(
        "actions/get_dataset_splits/<id:dataset_id>/",
        dataset_files.get_dataset_splits,
        name="get_dataset_splits",
    ),
]
