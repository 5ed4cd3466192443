"""What a backup holds and the rules it is checked by (no I/O): the manifest, the paths and
links a restore may write, the database URL as libpq reads it, the schema revision."""

from __future__ import annotations

import json
import logging
import posixpath
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote, urlencode

from sqlalchemy.engine import make_url

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
