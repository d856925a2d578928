"""Databases for live servers started by tests (tests/live.py).

A live server runs in another process, so it cannot use pytest-django's test database. When
the suite runs on PostgreSQL (``DATABASE_URL=postgres://...``), each live server gets its own
scratch database named after the suite's; otherwise it uses a SQLite file in its data folder.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _connect(url: str):
    import psycopg

    return psycopg.connect(url, connect_timeout=3, autocommit=True)


def postgres_reachable(url: str = ADMIN_URL) -> bool:
    try:
        _connect(url).close()
    except Exception:  # psycopg raises OperationalError, or an OS error for a bad host
        return False
    return True


def suite_postgres_url() -> str | None:
    """The suite's PostgreSQL URL, or None when it runs on SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _admin_url_for(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def scratch_postgres(name: str, base_url: str | None = None) -> str:
    """Drop and create database ``name`` next to ``base_url``'s; its URL."""
    base = base_url or ADMIN_URL
    with _connect(_admin_url_for(base)) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def drop_postgres(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _connect(_admin_url_for(url)) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_postgres_for(suffix: str) -> str | None:
    """A fresh PostgreSQL database for this test run, or None when PostgreSQL is unreachable.

    Its name holds the process id: other engineers run the suite at the same time, and a
    shared name would let one run drop the other's database."""
    suite = suite_postgres_url()
    base_url = suite or ADMIN_URL
    if not postgres_reachable(_admin_url_for(base_url)):
        return None
    base_name = urlsplit(suite).path.lstrip("/") if suite else "mlcontest"
    return scratch_postgres(f"{base_name or 'mlcontest'}_{suffix}_{os.getpid()}", base_url)


def live_database_url(suffix: str) -> str | None:
    """A fresh database for a live server: a PostgreSQL scratch database when the suite runs
    on PostgreSQL, else None (the server's own SQLite file)."""
    if suite_postgres_url() is None:
        return None
    url = scratch_postgres_for(suffix)
    if url is None:
        raise RuntimeError("The suite's PostgreSQL (DATABASE_URL) is not reachable.")
    return url
