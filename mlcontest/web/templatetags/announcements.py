"""The announcements box that base.html puts on every page, and the organizers' form."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("web/parts/announcement_box.html", takes_context=True)
def announcement_box(context: Any) -> dict[str, Any]:
    """Signed-in pages only; a round's pages (its jobs' too) also show the round's."""
    from mlcontest.web.announce import box_context, page_round_id

    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not getattr(user, "is_authenticated", False):
        return {"show": False}
    return {
        "show": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        **box_context(request, page_round_id(context)),
    }


@register.inclusion_tag("web/manage/announce_form.html", takes_context=True)
def announce_form(context: Any) -> dict[str, Any]:
    """The form to post an announcement, coming back to this page."""
    from mlcontest.web.announce import AnnouncementForm

    request = context["request"]
    initial = {"next": request.get_full_path()}
    form = AnnouncementForm(initial=initial)
    return {"announce_form": form, "csrf_token": context.get("csrf_token")}
