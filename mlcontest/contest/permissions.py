"""Who may do what. Each check raises the domain error that the views turn into 401/403."""

from __future__ import annotations

from typing import Any

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
        raise PermissionDenied("Only organizers may do this.")


def sees_everything(user: Any) -> bool:
    """Workers and organizers see true labels and every job; students see what is theirs."""
    return bool(getattr(user, "is_authenticated", False) and user.is_worker)
