"""The words that static/web/live.js writes into pages (countdowns, the chart, the job notice),
given to it in the page's language by ``{% live_strings %}`` in base.html.

``{name}`` placeholders are filled in by the script.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def strings() -> dict[str, str]:
    return {
        "now": _("now"),
        "at": _("at {time}"),
        "days": _("{days} d {hours} h"),
        "axis": _("time since the round opened"),
        "no_scores": _("No scores yet."),
        # The chart's name for a screen reader: each group's latest best test score.
        "chart": _("Best test score over time: {scores}"),
        "chart_empty": _("Best test score over time: no scores yet"),
        "job": _("Job {id}"),
        "queued": _(" is queued."),
        "running": _(" is running on a worker."),
        "done": _(" is done: test score {score}."),
        "failed": _(" failed: its page shows why."),
        "other": _(" is {state}."),
    }
