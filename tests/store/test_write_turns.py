"""SQLite has one writer: the writers of one process take turns in the order they came
(store/db.py), so one that writes again and again (a fan-out's batches) does not keep another
waiting until it is done."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from parley.store.db import Store

pytestmark = pytest.mark.integration

HOLD_S = 0.05


async def test_a_writer_waits_for_one_transaction_not_for_a_busy_writer_to_stop(
    tmp_path: Path,
) -> None:
    """Bug: a writer waiting on SQLite's busy timeout polls, sleeping in between, and lost every
    race to a writer that began its next transaction right after its commit (a go-live request
    waited for a whole fan-out of 100 000: seconds)."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    try:
        async with store.write() as session:
            await session.execute(text("CREATE TABLE t (who TEXT)"))
        busy_until = time.monotonic() + 2.0

        async def busy() -> None:
            while time.monotonic() < busy_until:
                async with store.write() as session:
                    await session.execute(text("INSERT INTO t VALUES ('busy')"))
                    await asyncio.sleep(HOLD_S)

        async def one_write() -> float:
            await asyncio.sleep(0.3)
            started = time.monotonic()
            async with store.write() as session:
                await session.execute(text("INSERT INTO t VALUES ('one')"))
            return time.monotonic() - started

        _, waited_s = await asyncio.gather(busy(), one_write())
        assert waited_s < 0.5, f"waited {waited_s:.2f} s for a writer holding {HOLD_S} s at a time"
    finally:
        await store.close()
