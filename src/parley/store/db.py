"""Engine, sessions and the unit of work for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

# How long a write waits for its turn on SQLite (store.write), as SQLite's busy timeout.
WRITE_TURN_TIMEOUT_S = 30.0


def prepare_sqlite_file(url: str) -> None:
    """Makes a SQLite database file readable by our user only (issue 12) before SQLite opens
    it: SQLite creates a missing one by the umask (often readable by everyone), and gives its
    WAL and shared-memory files the database file's mode. A folder made for it is private too.
    Other URLs (PostgreSQL, in-memory SQLite) are left alone."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:") or parsed.query.get("uri"):
        return  # a SQLite URI: opened as it says
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is cut by the umask
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("store: %s is readable by others (mode %o): chmod 600 it", path, mode)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" below open every transaction itself: pysqlite's own implicit
        # BEGIN only comes before writes, which leaves multi-statement reads inconsistent.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers go on while one writer writes
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first
        # would fail at once (SQLITE_BUSY_SNAPSHOT) when another writer got there in between.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """Opens read and write transactions. Repository functions run inside them and never commit."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            prepare_sqlite_file(url)
            self.engine = create_async_engine(url, connect_args={"timeout": 30})
            _configure_sqlite(self.engine)
            write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            read_engine = self.engine
        else:
            self.engine = create_async_engine(
                url, pool_size=10, max_overflow=40, pool_pre_ping=True
            )
            write_engine = self.engine
            # One consistent view for all the reads of a snapshot.
            read_engine = self.engine.execution_options(isolation_level="REPEATABLE READ")
        self._write = async_sessionmaker(write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(read_engine, expire_on_commit=False)
        # SQLite has one writer, and a writer waiting on its busy timeout polls (sleeping up to
        # 100 ms between tries): one that writes again right after its commit, as a fan-out's
        # batches do, kept a request waiting for seconds. Writers of this process (per event
        # loop) take turns here instead, first come first served.
        self._write_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def backend(self) -> str:
        return "postgresql" if self.dialect.startswith("postgres") else self.dialect

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self.dialect != "sqlite":
            async with self._write() as session, session.begin():
                yield session
            return
        loop = asyncio.get_running_loop()
        turn = self._write_turns.get(loop)
        if turn is None:
            turn = self._write_turns[loop] = asyncio.Lock()
        # As long as SQLite's own busy timeout (30 s): a turn never given is an error, as a
        # lock never released was, not a request that waits forever.
        try:
            async with asyncio.timeout(WRITE_TURN_TIMEOUT_S):
                await turn.acquire()
        except TimeoutError:
            raise TimeoutError(
                f"store: no write turn within {WRITE_TURN_TIMEOUT_S:.0f} s"
            ) from None
        try:
            async with self._write() as session, session.begin():
                yield session
        finally:
            turn.release()

    async def server_version(self) -> str:
        async with self.engine.connect() as conn:
            info = (
                conn.sync_connection.dialect.server_version_info if conn.sync_connection else None
            )
        return ".".join(str(part) for part in info) if info else "unknown"

    async def close(self) -> None:
        await self.engine.dispose()
