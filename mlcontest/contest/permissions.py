"""Who may do what. Each check raises the domain error that the views turn into 401/403."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from mlcontest.contest.errors import NotAuthenticated, PermissionDenied


def require_user(user: Any) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated("Sign in first.")


def require_worker(user: Any) -> None:
    require_user(user)
    if not user.is_worker:
        raise PermissionDenied("Only workers may do this.")


def require_organizer(user: Any) -> None:
    require_user(user)
    if not user.is_organizer:
        raise PermissionDenied(gettext("Only organizers may do this."))


def sees_everything(user: Any) -> bool:
    """Workers and organizers see every dataset and every job; students see what is theirs.
    Not the hidden labels: those are ``sees_hidden_labels``."""
    return bool(getattr(user, "is_authenticated", False) and user.is_worker)


def sees_hidden_labels(user: Any) -> bool:
    """Only organizers receive the labels of test and validation points. A worker fits on
    training labels and posts predictions; the server scores them, so a worker (a lab PC
    within students' reach, or a token copied from it) never needs the answers."""
    return bool(getattr(user, "is_authenticated", False) and user.is_organizer)
