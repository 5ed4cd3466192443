"""What the server writes to its data folder is readable by its own user only (issue 12): the
SQLite file (and its WAL files), the URL-signing secret, and the folder itself when we make it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from parley.config import Settings
from parley.store import migrate
from parley.store.db import Store

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask, under which files are made readable by everyone unless asked not to."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_fresh_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "parley.db"
    await migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    store = Store(f"sqlite+aiosqlite:///{path}")
    try:
        async with store.write() as session:
            await session.execute(text("CREATE TABLE scratch (x INTEGER)"))
        files = sorted(path.parent.glob("parley.db*"))
        assert len(files) == 3, files  # the file, its WAL and its shared-memory index
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await store.close()


async def test_the_store_makes_its_file_private_too(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    store = Store(f"sqlite+aiosqlite:///{path}")
    try:
        async with store.read() as session:
            await session.execute(text("SELECT 1"))
    finally:
        await store.close()
    assert _mode(path) == 0o600


def test_the_data_folder_and_secret_are_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "a" / "data")
    settings.ensure_data_dir()
    # Others may pass through (nginx reads media/ inside it) but not list it.
    assert _mode(settings.data_dir) == 0o711
    settings.ensure_media_url_secret()
    assert _mode(settings.data_dir / "media-url-secret") == 0o600
    assert len(settings.media_url_secret) >= 32
    # A folder that was there is left as its owner made it.
    existing = tmp_path / "mine"
    existing.mkdir(mode=0o750)
    Settings(data_dir=existing).ensure_data_dir()
    assert _mode(existing) == 0o750


async def test_the_job_queue_and_the_push_key_are_private(tmp_path: Path) -> None:
    """Issue 13's files in the data folder: huey's SQLite queue and the VAPID private key."""
    from parley.delivery.push import load_or_make_key
    from parley.jobs import Jobs

    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_data_dir()
    jobs = Jobs(settings)

    async def nothing() -> None:
        return None

    jobs.register("nothing", nothing)
    jobs.start(1)
    try:
        await jobs.enqueue("nothing")
    finally:
        await jobs.stop()
    queue_files = sorted(settings.data_dir.glob("jobs.sqlite3*"))
    assert queue_files
    assert {f.name: _mode(f) for f in queue_files} == {f.name: 0o600 for f in queue_files}
    key_file = settings.data_dir / "vapid-private.pem"
    first = load_or_make_key("", key_file)
    assert _mode(key_file) == 0o600
    # Made once: the same key next time (browsers bind their subscriptions to it).
    again = load_or_make_key("", key_file)
    assert again.public_key.public_numbers() == first.public_key.public_numbers()
