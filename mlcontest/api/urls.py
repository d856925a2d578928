from django.urls import path

from mlcontest.api import views

urlpatterns = [
    path("algorithms/", views.algorithms, name="api_algorithms"),
    path("rounds/", views.round_list, name="api_rounds"),
    path("rounds/<int:round_id>/jobs/", views.round_jobs, name="api_round_jobs"),
    path("jobs/<int:job_id>/", views.job_detail, name="api_job"),
]
