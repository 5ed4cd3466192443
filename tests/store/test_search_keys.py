"""Migration 0004 folds the names, titles and topics already stored; the models keep them folded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from parley.store import migrate
from support import PG_SERVER_URL, require_postgres

pytestmark = pytest.mark.integration


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def at_0003(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own migrated up to 0003 (what 0004 finds on an instance)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        await migrate.upgrade(url, "0003")
        yield url
        return
    require_postgres()
    name = f"parley_0004_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = PG_SERVER_URL.rsplit("/", 1)[0] + "/" + name
        await migrate.upgrade(url, "0003")
        yield url
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_0004_folds_the_rows_already_there(at_0003: str) -> None:
    database_url = at_0003
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            # Rows as 0003 knew them: written by hand, since the app's models are newer.
            await conn.execute(
                text(
                    "INSERT INTO users (id, handle, handle_key, display_name, bio,"
                    " password_hash, created_at, avatar_version)"
                    " VALUES (1, 'Elo', 'elo', 'Élodie  Dupré', '', 'x', CURRENT_TIMESTAMP, 0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO spaces (id, host_id, title, topics, speaker_policy, state,"
                    " created_at, event_seq, record, accounts_required)"
                    " VALUES (1, 1, 'Straße Talk', :topics, 'everyone', 'scheduled',"
                    " CURRENT_TIMESTAMP, 0, true, false)"
                ),
                {"topics": '["Café", "ﬁsh"]'},
            )
        await migrate.upgrade(database_url, "0004")
        async with engine.connect() as conn:
            name_key = (await conn.execute(text("SELECT name_key FROM users"))).scalar_one()
            search_key = (await conn.execute(text("SELECT search_key FROM spaces"))).scalar_one()
    finally:
        await engine.dispose()
    assert name_key == "elodie dupre"
    assert search_key == "strasse talk\ncafe\nfish"
    assert await migrate.current_revision(database_url) == "0004"
