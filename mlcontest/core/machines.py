"""What several server machines on one PostgreSQL database need from the settings
(docs/deploy.md, "Several machines"): one secret key for all, and a bounded number of
database connections per process.

The secret key signs sessions, CSRF tokens and password-reset links: a session made by one
machine must be valid on the next. ``SECRET_KEY_FILE`` names a file that holds it (or
``SECRET_KEY`` the key itself); without either, a key is generated once into the data folder,
which suits one machine. A public deployment (``MLCONTEST_PUBLIC_URL`` set) refuses to start
without one: a generated key per machine would sign people out whenever the proxy sends them
to another machine, and it must not happen silently.

Connections: without a pool (the default, ``MLCONTEST_DB_POOL_SIZE=0``) each server thread
keeps its own connection: a machine running ``mlcontest serve --processes P --threads T`` opens
up to P x T of them (2 x 48 = 96), plus one per process for the wake-ups' LISTEN: one machine
fits PostgreSQL's default ``max_connections`` of 100 (3 of them reserved for superusers), two
do not. With ``MLCONTEST_DB_POOL_SIZE=N`` each process has Django's pool (psycopg_pool,
``OPTIONS["pool"]``) of at most N connections shared by its threads: a request holds one only
while it runs, and a waiting worker's ping gives its back while it sleeps (contest/wakeup.py).
A machine then opens at most P x (N + 1), and M machines M x P x (N + 1), which must stay under
``max_connections`` with room for ``mlcontest migrate``, a backup and psql: 3 machines x 2
processes x (10 + 1) = 66. A request that finds all N busy waits up to
``MLCONTEST_DB_POOL_TIMEOUT`` seconds (default 5), and so does one while the database is
unreachable (the pool keeps trying to connect), before its 503; without the pool that 503
comes within the connect timeout (2 s, http/db_outage.py). The pool is not the default for that
reason, and because one machine does not need it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from mlcontest.core.env import env_int, env_str

POOL_SIZE_DEFAULT = 0  # off: module doc
POOL_TIMEOUT_DEFAULT = 5


def secret_key(data_dir: Path) -> str:
    """``SECRET_KEY`` (or the file ``SECRET_KEY_FILE`` names), else one generated once and
    kept in the data folder, which a public deployment refuses (module doc)."""
    configured = env_str("SECRET_KEY", "")
    if configured:
        return configured
    key_file = data_dir / "secret_key"
    if env_str("MLCONTEST_PUBLIC_URL", "") and not key_file.exists():
        raise ImproperlyConfigured(
            "MLCONTEST_PUBLIC_URL is set but SECRET_KEY_FILE is not: give every server machine "
            "the same key file (docs/deploy.md); none is generated for a public server."
        )
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


def use_pool(config: dict[str, Any]) -> None:
    """Django's PostgreSQL connection pool for the database settings ``config`` (module doc)."""
    size = env_int("MLCONTEST_DB_POOL_SIZE", POOL_SIZE_DEFAULT)
    if size <= 0:
        return
    # Django refuses a pool together with persistent connections: the pool keeps them.
    config["CONN_MAX_AGE"] = 0
    config.setdefault("OPTIONS", {}).setdefault(
        "pool",
        {
            "min_size": min(2, size),
            "max_size": size,
            # A request that finds every connection busy waits this long, then fails (503).
            "timeout": env_int("MLCONTEST_DB_POOL_TIMEOUT", POOL_TIMEOUT_DEFAULT),
            "max_idle": 300,
        },
    )
