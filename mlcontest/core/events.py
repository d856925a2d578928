"""Structured log lines for the contest's own events: one JSON object per line on the
``mlcontest.events`` logger (standard error, so journald or a log shipper keeps them).

``{"time": "...", "event": "lease_lost", "jobs": [12, 13]}``: an operator greps for the event,
a log pipeline parses the line. The events are those an operator acts on: a lease lost (a
worker died or hangs), a job failed, a score that a worker claimed and the server did not
confirm, a round opened or closed. ``MLCONTEST_EVENT_LOG_LEVEL`` (default INFO) quiets them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("mlcontest.events")

LEASE_LOST = "lease_lost"
JOB_FAILED = "job_failed"
SCORE_MISMATCH = "score_mismatch"
ROUND_OPENED = "round_opened"
ROUND_CLOSED = "round_closed"


def emit(event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one JSON line (values that JSON lacks become text)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
    line.update(fields)
    logger.info(json.dumps(line, default=str, ensure_ascii=False))
