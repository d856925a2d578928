"""``mlcontest backup FILE`` and ``mlcontest restore FILE``: the database and the pictures in one
archive, taken from a running server.

Copying a live SQLite file is not a backup: in WAL mode the last writes are in the ``-wal``
file, and a copy taken mid-write is torn. SQLite's online backup API copies a consistent
snapshot while the server goes on writing. PostgreSQL's is ``pg_dump`` (its custom format,
restored by ``pg_restore``). Datasets are rows of the database; job pictures are files under
``MEDIA_ROOT`` (or rows, where the server keeps them in the database), so both are in.

The archive (a ``.tar.gz``) holds ``manifest.json`` (format, database kind, time, the last
migration of each app), ``database.sqlite3`` or ``database.pgdump``, and ``media/``. The secret
key is not in it: a restored server signs everyone out, and nothing else depends on it.

A restore replaces the database's content and the pictures with the archive's. Stop the
server instances first (docs/deploy.md): a request that writes between the two steps would
mix old and new.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = 1
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"


class BackupError(Exception):
    """A backup or restore that cannot be done; its message says why."""


def _database() -> dict[str, Any]:
    from django.db import connections

    settings: dict[str, Any] = connections["default"].settings_dict
    return settings


def engine_kind() -> str:
    from django.db import connection

    if connection.vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups know SQLite and PostgreSQL, not {connection.vendor}")
    return str(connection.vendor)


def _postgres_args(database: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """libpq's options for pg_dump and pg_restore, the password in the environment."""
    argv = ["--dbname", str(database["NAME"])]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            argv += [option, str(database[key])]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    sslmode = database.get("OPTIONS", {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return argv, env


def _run(argv: list[str], env: dict[str, str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} not found: apt-get install postgresql-client")
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def _migrations() -> dict[str, str]:
    from django.db.migrations.recorder import MigrationRecorder

    last: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.values_list("app", "name"):
        last[app] = max(last.get(app, ""), name)
    return last


def _media_root() -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT)


def backup(target: Path) -> dict[str, Any]:
    """Write the archive to ``target``; its manifest."""
    kind = engine_kind()
    database = _database()
    manifest = {
        "format": FORMAT,
        "database": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "migrations": _migrations(),
    }
    with tempfile.TemporaryDirectory(prefix="mlcontest-backup-") as folder:
        work = Path(folder)
        if kind == "sqlite":
            dump = work / SQLITE_MEMBER
            source = sqlite3.connect(f"file:{database['NAME']}?mode=ro", uri=True)
            copy = sqlite3.connect(dump)
            try:
                source.backup(copy)  # a consistent snapshot, while others write
            finally:
                copy.close()
                source.close()
        else:
            dump = work / POSTGRES_MEMBER
            argv, env = _postgres_args(database)
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), *argv], env)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(work / "manifest.json", "manifest.json")
            archive.add(dump, dump.name)
            media = _media_root()
            if media.is_dir():
                archive.add(media, "media")
        partial.replace(target)  # never a half-written archive under the name asked for
    return manifest


def restore(source: Path) -> dict[str, Any]:
    """Replace the database's content and the pictures with the archive's; its manifest."""
    kind = engine_kind()
    database = _database()
    with tempfile.TemporaryDirectory(prefix="mlcontest-restore-") as folder:
        work = Path(folder)
        with tarfile.open(source, "r:*") as archive:
            archive.extractall(work, filter="data")  # no absolute paths, no links out
        manifest: dict[str, Any] = json.loads((work / "manifest.json").read_text("utf-8"))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{source} is not a backup this version knows")
        if manifest["database"] != kind:
            raise BackupError(
                f"{source} holds a {manifest['database']} database; this server uses {kind}"
            )
        if kind == "sqlite":
            from django.db import connection

            connection.close()  # Django's own connection must not hold a snapshot
            backup_copy = sqlite3.connect(work / SQLITE_MEMBER)
            live = sqlite3.connect(database["NAME"], timeout=30)
            try:
                backup_copy.backup(live)  # page by page, under SQLite's locks
            finally:
                live.close()
                backup_copy.close()
        else:
            argv, env = _postgres_args(database)
            restore_argv = ["pg_restore", "--clean", "--if-exists", "--no-owner"]
            restore_argv += ["--no-privileges", "--single-transaction", "--exit-on-error"]
            _run([*restore_argv, *argv, str(work / POSTGRES_MEMBER)], env)
        _replace_media(work / "media", _media_root())
    return manifest


def _replace_media(restored: Path, media: Path) -> None:
    """Swap the media folder for the archive's: renamed into place, not copied over, so that
    no picture of the present survives beside the restored ones."""
    media.parent.mkdir(parents=True, exist_ok=True)
    incoming = media.with_name(media.name + ".restoring")
    shutil.rmtree(incoming, ignore_errors=True)
    if restored.is_dir():
        shutil.copytree(restored, incoming)
    else:
        incoming.mkdir()
    outgoing = media.with_name(media.name + ".replaced")
    shutil.rmtree(outgoing, ignore_errors=True)
    if media.exists():
        media.rename(outgoing)
    incoming.rename(media)
    shutil.rmtree(outgoing, ignore_errors=True)


def cmd_backup(args: argparse.Namespace) -> int:
    from mlcontest.cli.base import setup_django

    setup_django()
    try:
        manifest = backup(Path(args.file))
    except BackupError as error:
        print(f"mlcontest backup: {error}", flush=True)
        return 1
    print(f"backup of the {manifest['database']} database and pictures: {args.file}", flush=True)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from mlcontest.cli.base import setup_django

    if not args.yes:
        print(
            "mlcontest restore replaces the whole database and every picture with the "
            "archive's. Stop the server first, then run it again with --yes.",
            flush=True,
        )
        return 2
    setup_django()
    try:
        manifest = restore(Path(args.file))
    except BackupError as error:
        print(f"mlcontest restore: {error}", flush=True)
        return 1
    print(f"restored the backup of {manifest['created']} from {args.file}", flush=True)
    return 0


def register_backup_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    made = commands.add_parser(
        "backup", help="the database and pictures into one archive, while the server runs"
    )
    made.add_argument("file", help="the archive to write, e.g. mlcontest-backup.tar.gz")
    made.set_defaults(handler=cmd_backup)
    back = commands.add_parser(
        "restore", help="replace the database and pictures with a backup's (server stopped)"
    )
    back.add_argument("file", help="an archive written by `mlcontest backup`")
    back.add_argument("--yes", action="store_true", help="really replace everything")
    back.set_defaults(handler=cmd_restore)
