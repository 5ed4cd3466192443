"""Backup and restore of an instance (docs/operations.md): its database, its data folder (the
media folder, report evidence, the secrets) and its SQLite job queue, in one folder or one .tar.

A backup holds:

    manifest.json      what is in it: versions, the schema's revision, every file's size and sha256
    database.sqlite3   the SQLite database, copied with SQLite's online backup API, or
    database.pgdump    `pg_dump --format=custom` of the PostgreSQL database
    jobs.sqlite3       the SQLite job queue (scheduled reminders), copied the same way, if any
    data/...           the rest of the data folder as it is: media/ (replay links stay links),
                       reports/, media-url-secret, vapid-private.pem

The manifest is written last: a backup without one is incomplete. A restore checks every file
against it before it writes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import posixpath
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Literal, Protocol
from urllib.parse import quote, urlencode

from sqlalchemy.engine import make_url

from parley import __version__
from parley.config import Settings

log = logging.getLogger(__name__)

Backend = Literal["sqlite", "postgresql"]
FORMAT = 1
MANIFEST = "manifest.json"
DATA = "data"
JOBS = "jobs.sqlite3"
DATABASE_FILES: dict[Backend, str] = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# libpq's connection parameters that may stand in a DATABASE_URL's query (asyncpg's own, such as
# `prepared_statement_cache_size`, mean nothing to pg_dump and are left out).
LIBPQ_PARAMETERS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "application_name",
        "connect_timeout",
        "options",
        "target_session_attrs",
        "host",
        "port",
        "passfile",
    }
)
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup that cannot be made, checked or restored; the message says why."""


# --- pure rules -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileEntry:
    path: str  # POSIX, relative to the backup's root
    size: int
    sha256: str
    mode: int


@dataclass(frozen=True)
class LinkEntry:
    path: str
    target: str  # relative to the link's folder, never leaving data/


@dataclass
class Manifest:
    parley_version: str
    alembic_revision: str | None
    backend: Backend
    created_at: str
    files: list[FileEntry] = field(default_factory=list)
    links: list[LinkEntry] = field(default_factory=list)
    # Settings that were given in the environment, not kept in the data folder: the operator
    # must keep them with the backup (PARLEY_MEDIA_URL_SECRET, PARLEY_VAPID_PRIVATE_KEY).
    secrets_from_environment: list[str] = field(default_factory=list)
    # False: made with --no-media, the media folder being copied on its own (rsync, rclone).
    media_included: bool = True
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            raw = json.loads(text)
            if raw["format"] != FORMAT:
                raise BackupError(f"backup format {raw['format']} is not {FORMAT}")
            if raw["backend"] not in DATABASE_FILES:
                raise BackupError(f"unknown database backend {raw['backend']!r}")
            manifest = cls(
                parley_version=str(raw["parley_version"]),
                alembic_revision=raw["alembic_revision"],
                backend=raw["backend"],
                created_at=str(raw["created_at"]),
                files=[FileEntry(**entry) for entry in raw["files"]],
                links=[LinkEntry(**entry) for entry in raw["links"]],
                secrets_from_environment=list(raw["secrets_from_environment"]),
                media_included=bool(raw["media_included"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise BackupError(f"{MANIFEST} is not a backup manifest: {error!r}") from None
        for entry in manifest.files:
            fields = (entry.path, entry.size, entry.sha256, entry.mode)
            if [type(value) for value in fields] != [str, int, str, int]:
                raise BackupError(f"{MANIFEST} lists {entry!r}: not a file entry")
        for path in [entry.path for entry in manifest.files] + [
            link.path for link in manifest.links
        ]:
            check_member_path(path)
        for link in manifest.links:
            check_link_target(link.path, link.target)
        return manifest

    def database_file(self) -> FileEntry:
        name = DATABASE_FILES[self.backend]
        for entry in self.files:
            if entry.path == name:
                return entry
        raise BackupError(f"the backup has no {name}")


def check_member_path(path: str) -> str:
    """A path inside a backup: relative, normalised, under data/ or one of the top files (a
    tampered manifest must not write outside the target)."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or str(pure) != path or path in ("", "."):
        raise BackupError(f"{path!r} is not a path inside a backup")
    if pure.parts[0] != DATA and path not in (*DATABASE_FILES.values(), JOBS):
        raise BackupError(f"{path!r} is not a path inside a backup")
    return path


def check_link_target(link: str, target: str) -> str:
    """A link in a backup points, relatively, at something inside its data folder (the replay
    links point at ../recording/{space}, media/folders.py)."""
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if posixpath.isabs(target) or resolved.split("/")[0] != DATA or resolved == DATA:
        raise BackupError(f"the link {link} -> {target} leaves the data folder")
    return target


def backend_of(database_url: str) -> Backend:
    name = make_url(database_url).get_backend_name()
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgresql"
    raise BackupError(f"cannot back up a {name} database")


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError(f"{database_url} is not a SQLite file")
    return Path(database).resolve()


def libpq_url(database_url: str) -> tuple[str, str | None]:
    """The libpq URL (pg_dump, pg_restore, psql) of a SQLAlchemy PostgreSQL URL, without its
    password (handed over in PGPASSWORD: a command line is readable by every user), and the
    password."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError(f"{url.render_as_string()} is not a PostgreSQL URL")
    netloc = quote(url.username or "", safe="")
    netloc = f"{netloc}@" if netloc else ""
    if url.host:
        netloc += f"[{url.host}]" if ":" in url.host else url.host
    if url.port:
        netloc += f":{url.port}"
    query: dict[str, str] = {}
    for key, value in url.query.items():
        single = value if isinstance(value, str) else value[-1]
        if key == "ssl":  # asyncpg's spelling of sslmode
            query["sslmode"] = "require" if single.lower() == "true" else single
        elif key in LIBPQ_PARAMETERS:
            query[key] = single
        else:
            log.warning("backup: %s is not a libpq parameter; pg_dump goes without it", key)
    text = f"postgresql://{netloc}/{quote(url.database or '', safe='')}"
    return (f"{text}?{urlencode(query)}" if query else text), url.password


def check_revision(revision: str | None, known: set[str], head: str | None) -> None:
    """A backup made by a newer Parley (a revision this code does not know) is refused: its
    schema cannot be migrated down here. An older one is migrated up by `parley migrate`."""
    if revision is not None and revision not in known:
        raise BackupError(
            f"the backup's database is at revision {revision}, unknown to this Parley "
            f"(its newest is {head}): restore it with the Parley that made it, or a newer one"
        )


def excluded(relative: PurePosixPath, skipped: set[PurePosixPath]) -> bool:
    """What the data folder walk leaves out: the databases (copied through SQLite's backup
    API instead), files being written (*.tmp, media/folders.py) and the backup itself."""
    return relative in skipped or relative.name.endswith(".tmp")


# --- where a backup is written and read: a folder or a .tar --------------------------------------
class _Writer(Protocol):
    def add_file(self, name: str, source: Path) -> FileEntry | None: ...
    def add_link(self, name: str, target: str) -> None: ...
    def add_bytes(self, name: str, data: bytes) -> None: ...
    def close(self) -> None: ...


def _hash_copy(
    source: IO[bytes], target: IO[bytes] | None, limit: int | None = None
) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while limit is None or size < limit:
        chunk = source.read(_CHUNK if limit is None else min(_CHUNK, limit - size))
        if not chunk:
            break
        digest.update(chunk)
        if target is not None:
            target.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class _FolderWriter:
    def __init__(self, root: Path) -> None:
        if root.exists() and any(root.iterdir()):
            raise BackupError(f"{root} is not empty")
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root = root

    def add_file(self, name: str, source: Path) -> FileEntry | None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with source.open("rb") as reading:
                mode = stat.S_IMODE(os.fstat(reading.fileno()).st_mode)
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as writing:
                    size, sha = _hash_copy(reading, writing)
        except FileNotFoundError:
            return None  # moved or deleted meanwhile (a space archived, a recording purged)
        return FileEntry(name, size, sha, mode)

    def add_link(self, name: str, target: str) -> None:
        link = self.root / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)

    def add_bytes(self, name: str, data: bytes) -> None:
        (self.root / name).write_bytes(data)

    def close(self) -> None:
        return None


class _TarWriter:
    def __init__(self, path: Path) -> None:
        if path.exists():
            raise BackupError(f"{path} exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Readable by our user only from its first byte: it holds the secrets.
        self.file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self.tar = tarfile.open(fileobj=self.file, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def add_file(self, name: str, source: Path) -> FileEntry | None:
        try:
            reading = source.open("rb")
        except FileNotFoundError:
            return None
        with reading:
            status = os.fstat(reading.fileno())
            info = tarfile.TarInfo(name)
            # The length when opened: a file appended to meanwhile (a live index) is taken as
            # it was; the others are replaced whole (media/folders.py write_atomically).
            info.size, info.mode, info.mtime = status.st_size, 0o600, int(status.st_mtime)
            hashing = _HashingReader(reading, status.st_size)
            self.tar.addfile(info, hashing)
            return FileEntry(
                name, status.st_size, hashing.hexdigest(), stat.S_IMODE(status.st_mode)
            )

    def add_link(self, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        self.tar.addfile(info)

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o600
        info.mtime = int(datetime.now(UTC).timestamp())
        self.tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self.tar.close()
        self.file.close()


class _HashingReader(io.RawIOBase):
    """The first `size` bytes of a file, hashed as tarfile reads them."""

    def __init__(self, source: IO[bytes], size: int) -> None:
        self.source, self.left, self.digest = source, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.source.read(n)
        self.left -= len(data)
        self.digest.update(data)
        return data

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


class _Reader(Protocol):
    def manifest_text(self) -> str: ...
    def open(self, name: str) -> IO[bytes]: ...
    def close(self) -> None: ...


class _FolderReader:
    def __init__(self, root: Path) -> None:
        self.root = root

    def manifest_text(self) -> str:
        try:
            return (self.root / MANIFEST).read_text()
        except FileNotFoundError:
            raise BackupError(f"{self.root} has no {MANIFEST}: not a complete backup") from None

    def open(self, name: str) -> IO[bytes]:
        path = self.root / name
        if path.is_symlink() or not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        return path.open("rb")

    def close(self) -> None:
        return None


class _TarReader:
    def __init__(self, path: Path) -> None:
        try:
            self.tar = tarfile.open(path, "r:")  # noqa: SIM115
        except tarfile.TarError as error:
            raise BackupError(f"{path} is not a tar file: {error}") from None

    def manifest_text(self) -> str:
        return self.open(MANIFEST).read().decode()

    def open(self, name: str) -> IO[bytes]:
        try:
            member = self.tar.getmember(name)
        except KeyError:
            raise BackupError(f"{name} is missing from the backup") from None
        reading = self.tar.extractfile(member) if member.isfile() else None
        if reading is None:
            raise BackupError(f"{name} is not a file in the backup")
        return reading

    def close(self) -> None:
        self.tar.close()


def _is_tar(path: Path) -> bool:
    return path.suffix == ".tar"


@contextlib.contextmanager
def _reader(source: Path) -> Iterator[_Reader]:
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    reader: _Reader = _TarReader(source) if source.is_file() else _FolderReader(source)
    try:
        yield reader
    finally:
        reader.close()


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
        if settings.media_url_secret and not (data_dir / "media-url-secret").is_file():
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
