"""Files to download from the round page: the training data as CSV (``contest.training_data``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from mlcontest.contest import training_data
from mlcontest.http.endpoints import streamed_attachment
from mlcontest.web.views import contest_404, viewer


@login_required
@require_safe
@contest_404
def round_data(request: HttpRequest, round_id: int, part: str) -> HttpResponseBase:
    """``training.csv`` (with labels) or ``test-validation.csv`` (features only)."""
    download = training_data.round_data(viewer(request), round_id, part)
    return streamed_attachment(download.content, download.filename, download.content_type)
