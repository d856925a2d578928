"""The bare endpoint the benchmarks compare with: Django answering one query, nothing more."""

from django.http import HttpRequest, JsonResponse

from mlcontest.contest.models import Job


def one_query(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"queued": Job.objects.filter(state="queued").exists()})
