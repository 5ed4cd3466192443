"""Making, checking and restoring a backup (the package's docstring says what one holds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from sqlalchemy.engine import make_url

from parley import __version__
from parley.backup.archive import (
    _FolderWriter,
    _hash_copy,
    _is_tar,
    _Reader,
    _reader,
    _TarWriter,
    _Writer,
)
from parley.backup.manifest import (
    DATA,
    DATABASE_FILES,
    JOBS,
    MANIFEST,
    BackupError,
    FileEntry,
    LinkEntry,
    Manifest,
    backend_of,
    check_link_target,
    check_revision,
    excluded,
    libpq_url,
    sqlite_path,
)
from parley.config import Settings

log = logging.getLogger(__name__)


# --- backup ---------------------------------------------------------------------------------------
def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while the server writes (a plain copy of a WAL
    database may miss what is still in its -wal file, or catch a page half written)."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    with (
        contextlib.closing(sqlite3.connect(source)) as reading,
        contextlib.closing(sqlite3.connect(target)) as writing,
    ):
        reading.backup(writing)
        # One self-contained file: no -wal beside it (the server turns WAL on again).
        writing.execute("PRAGMA journal_mode=DELETE")
        (verdict,) = writing.execute("PRAGMA quick_check").fetchone()
    if verdict != "ok":
        raise BackupError(f"the copy of {source} does not pass SQLite's quick_check: {verdict}")


def _sqlite_revision(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def _run_pg(command: list[str], password: str | None) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(
            f"{command[0]} is not installed (Debian: apt install postgresql-client; its major "
            "version must be at least the server's)"
        )
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    done = subprocess.run(
        [tool, *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")


def _walk_data(data_dir: Path, skipped: set[PurePosixPath]) -> Iterator[tuple[str, Path]]:
    """(path in the data folder, path) of every file and link to back up, sorted."""
    for folder, folder_names, file_names in os.walk(data_dir):
        here = Path(folder)
        folder_names.sort()
        # A link to a folder (a published replay) is listed among the folders, not followed.
        for name in [*sorted(file_names), *(n for n in folder_names if (here / n).is_symlink())]:
            path = here / name
            relative = PurePosixPath(path.relative_to(data_dir).as_posix())
            if not excluded(relative, skipped):
                yield relative.as_posix(), path
        folder_names[:] = [
            n
            for n in folder_names
            if not (here / n).is_symlink()
            and not excluded(PurePosixPath((here / n).relative_to(data_dir).as_posix()), skipped)
        ]


def _skipped_in_data(settings: Settings, data_dir: Path, destination: Path) -> set[PurePosixPath]:
    skipped: set[PurePosixPath] = set()
    databases = [data_dir / JOBS]
    if backend_of(settings.resolved_database_url) == "sqlite":
        databases.append(sqlite_path(settings.resolved_database_url))
    for database in databases:
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = database.with_name(database.name + suffix)
            if path.is_relative_to(data_dir):
                skipped.add(PurePosixPath(path.relative_to(data_dir).as_posix()))
    if destination.is_relative_to(data_dir):
        skipped.add(PurePosixPath(destination.relative_to(data_dir).as_posix()))
    return skipped


def create_backup(settings: Settings, destination: Path, *, media: bool = True) -> Manifest:
    """Backs up the instance the settings name into `destination`: a folder (made, or empty) or,
    when it ends in .tar, a tar file; without the media folder unless `media`. Safe while the
    server runs."""
    from parley.store import migrate

    database_url = settings.resolved_database_url
    backend = backend_of(database_url)
    data_dir = settings.data_dir.resolve()
    destination = destination.resolve()
    if data_dir == destination or data_dir.is_relative_to(destination):
        raise BackupError(f"{destination} holds the data folder {data_dir}")
    writer: _Writer = (
        _TarWriter(destination) if _is_tar(destination) else _FolderWriter(destination)
    )
    manifest = Manifest(
        parley_version=__version__,
        alembic_revision=None,
        backend=backend,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        media_included=media,
    )
    skipped = _skipped_in_data(settings, data_dir, destination)
    if not media:
        skipped.add(PurePosixPath(settings.media_dir.resolve().relative_to(data_dir).as_posix()))
    try:
        # Beside the backup, not in /tmp (often a small tmpfs): the database may be large.
        scratch_in = destination.parent
        with tempfile.TemporaryDirectory(prefix=".parley-backup-", dir=scratch_in) as scratch:
            # The database first: what the media folder gains meanwhile is at worst unused.
            copy = Path(scratch) / DATABASE_FILES[backend]
            if backend == "sqlite":
                _sqlite_copy(sqlite_path(database_url), copy)
                manifest.alembic_revision = _sqlite_revision(copy)
            else:
                manifest.alembic_revision = asyncio.run(migrate.current_revision(database_url))
                url, password = libpq_url(database_url)
                _run_pg(["pg_dump", "--format=custom", f"--file={copy}", url], password)
            _add(writer, manifest, copy.name, copy)
            if (data_dir / JOBS).is_file():
                _sqlite_copy(data_dir / JOBS, Path(scratch) / JOBS)
                _add(writer, manifest, JOBS, Path(scratch) / JOBS)
        for relative, path in _walk_data(data_dir, skipped):
            name = f"{DATA}/{relative}"
            if path.is_symlink():
                target = os.readlink(path)
                try:
                    check_link_target(name, target)
                except BackupError:
                    log.warning("backup: %s left out: it links outside the data folder", path)
                    continue
                writer.add_link(name, target)
                manifest.links.append(LinkEntry(name, target))
            elif path.is_file():
                _add(writer, manifest, name, path)
            else:
                log.warning("backup: %s left out: not a file", path)
        # Set in the environment, the secret in use is not the data folder's file (an older one
        # may still lie there): the operator must keep it with the backup.
        if os.environ.get("PARLEY_MEDIA_URL_SECRET") or (
            settings.media_url_secret and not (data_dir / "media-url-secret").is_file()
        ):
            manifest.secrets_from_environment.append("PARLEY_MEDIA_URL_SECRET")
        if settings.vapid_private_key:
            manifest.secrets_from_environment.append("PARLEY_VAPID_PRIVATE_KEY")
        writer.add_bytes(MANIFEST, manifest.to_json().encode())
    except BaseException:
        writer.close()
        # A folder without its manifest reads as incomplete; a .tar is gone rather than half.
        if _is_tar(destination):
            destination.unlink(missing_ok=True)
        raise
    writer.close()
    log.info(
        "backup: %d files and %d links in %s", len(manifest.files), len(manifest.links), destination
    )
    return manifest


def _add(writer: _Writer, manifest: Manifest, name: str, path: Path) -> None:
    entry = writer.add_file(name, path)
    if entry is None:
        log.info("backup: %s went away while it was backed up", path)
    else:
        manifest.files.append(entry)


# --- verify and restore ---------------------------------------------------------------------------
def _check_file(reader: _Reader, entry: FileEntry, target: IO[bytes] | None) -> None:
    with reader.open(entry.path) as reading:
        size, sha = _hash_copy(reading, target)
    if size != entry.size or sha != entry.sha256:
        raise BackupError(
            f"{entry.path} does not match the manifest (sha256 {sha}, {size} bytes; "
            f"expected {entry.sha256}, {entry.size} bytes): the backup is damaged"
        )


def verify_backup(source: Path) -> Manifest:
    """Reads the whole backup and checks every file's size and sha256 against its manifest."""
    with _reader(source) as reader:
        manifest = Manifest.from_json(reader.manifest_text())
        manifest.database_file()
        for entry in manifest.files:
            _check_file(reader, entry, None)
    return manifest


def known_revisions() -> tuple[set[str], str | None]:
    from alembic.script import ScriptDirectory

    from parley.store import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config())
    return {revision.revision for revision in script.walk_revisions()}, script.get_current_head()


async def _database_tables(database_url: str) -> list[str]:
    from sqlalchemy import inspect
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()


def restore_backup(settings: Settings, source: Path, *, force: bool = False) -> Manifest:
    """Restores a backup into the data folder and database the settings name, which must be
    empty (with `force`, what is there is replaced). The server must not be running."""
    source, data_dir = source.resolve(), settings.data_dir.resolve()
    database_url = settings.resolved_database_url
    if source.is_relative_to(data_dir):
        raise BackupError(f"the backup {source} is inside the data folder {data_dir}")
    manifest = verify_backup(source)
    known, head = known_revisions()
    check_revision(manifest.alembic_revision, known, head)
    backend = backend_of(database_url)
    if manifest.backend != backend:
        raise BackupError(
            f"the backup holds a {manifest.backend} database, and the target is {backend} "
            "(DATABASE_URL): restore into the same kind of database"
        )
    target_db = sqlite_path(database_url) if backend == "sqlite" else None
    data_entries = sorted(data_dir.iterdir()) if data_dir.is_dir() else []
    if not force:
        shown = make_url(database_url).render_as_string(hide_password=True)
        if data_entries:
            used = f"the data folder {data_dir}"
        elif target_db is not None:  # a SQLite file that is there at all (it may not be one)
            used = f"the database file {target_db}" if target_db.exists() else ""
        else:
            used = f"the database ({shown})" if asyncio.run(_database_tables(database_url)) else ""
        if used:
            raise BackupError(f"{used} is not empty: restore into a fresh one, or use --force")
    for existing in data_entries:  # --force: the instance is replaced
        if existing.is_dir() and not existing.is_symlink():
            shutil.rmtree(existing)
        else:
            existing.unlink()
    settings.ensure_data_dir()
    with (
        _reader(source) as reader,
        tempfile.TemporaryDirectory(prefix="parley-restore-") as scratch,
    ):
        database = manifest.database_file()
        if target_db is not None:
            for suffix in ("-wal", "-shm", "-journal"):
                target_db.with_name(target_db.name + suffix).unlink(missing_ok=True)
            _restore_file(reader, database, target_db, 0o600)
        else:
            dump = Path(scratch) / database.path
            _restore_file(reader, database, dump, 0o600)
            url, password = libpq_url(database_url)
            command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl"]
            command += ["--single-transaction", "--exit-on-error", f"--dbname={url}", str(dump)]
            _run_pg(command, password)
        for entry in manifest.files:
            if entry.path == JOBS:
                _restore_file(reader, entry, data_dir / JOBS, 0o600)
            elif entry.path.startswith(f"{DATA}/"):
                _restore_file(reader, entry, data_dir / entry.path.removeprefix(f"{DATA}/"))
        for link in manifest.links:
            path = data_dir / link.path.removeprefix(f"{DATA}/")
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(link.target, path)
    log.info(
        "restore: %d files and %d links into %s", len(manifest.files), len(manifest.links), data_dir
    )
    return manifest


def _restore_file(reader: _Reader, entry: FileEntry, target: Path, mode: int | None = None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".restoring")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as writing:
        _check_file(reader, entry, writing)
    temporary.chmod((entry.mode if mode is None else mode) & 0o777)
    temporary.replace(target)
