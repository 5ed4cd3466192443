"""A host with 10 000 followers goes live (issue 13): the request answers at once (and so do others
going live during its fan-out), every follower who opted in is told exactly once by the background
fan-out; and a server killed in the middle of a fan-out (kill -9), started again on the same data
folder, finishes it without telling anyone twice or pushing anything twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from notify_support import BrowserKeys, add_followers, b64url, push_service
from parley.store.db import Store
from parley.store.models import Fanout, Notification
from support import Client, Running, TestClock, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FOLLOWERS = 10_000
OPTED_OUT = 500


async def _told_per_user(server: Running, dedupe_key: str) -> dict[int, int]:
    """How many notifications under `dedupe_key` each user has, read with SQL on the server."""
    services = server.app.state.services

    async def count() -> dict[int, int]:
        async with services.store.read() as session:
            rows = await session.execute(
                select(Notification.user_id, func.count())
                .where(Notification.dedupe_key == dedupe_key)
                .group_by(Notification.user_id)
            )
            return {user_id: int(n) for user_id, n in rows.all()}

    return await server.on_server(count())


async def _fanout_done(server: Running, space_id: int) -> tuple[bool, int]:
    services = server.app.state.services

    async def read() -> tuple[bool, int]:
        async with services.store.read() as session:
            fanout = (
                await session.execute(select(Fanout).where(Fanout.space_id == space_id))
            ).scalar_one()
            return fanout.done_at is not None, fanout.told

    return await server.on_server(read())


async def _go_live_ms(client: Client, title: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    space = await client.create_space(title)
    return (time.perf_counter() - started) * 1000, space


async def test_a_host_with_10000_followers_goes_live_at_once_and_each_is_told_once(
    server: Running,
) -> None:
    host = await server.signup("host", "Hanna Host")
    fan = await server.signup("fan")
    await fan.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    others = [await server.signup(f"other{n}") for n in range(3)]
    services = server.app.state.services

    async def bulk() -> tuple[list[int], list[int]]:
        async with services.store.write() as session:
            told = await add_followers(session, host.id, FOLLOWERS - 1 - OPTED_OUT)
            # Followers who turned "live" off (in the app and everywhere else).
            opted_out = await add_followers(
                session, host.id, OPTED_OUT, prefix="o", notify_channels={"live": []}
            )
            return told, opted_out

    bulk_told, opted_out = await server.on_server(bulk())
    followers = {*bulk_told, fan.id}
    assert len(followers) + len(opted_out) == FOLLOWERS
    # Warm up the same path (a host with one follower goes live): the first request of a
    # process pays for imports and cold caches.
    warm = await server.signup("warm")
    await fan.ok("PUT", f"/api/users/{warm.handle}/follow", status=204)
    await _go_live_ms(warm, "Warm up")

    live_at = time.perf_counter()
    elapsed_ms, space = await _go_live_ms(host, "Ten thousand")
    assert space["state"] == "live"
    assert elapsed_ms < 200, f"going live took {elapsed_ms:.0f} ms with {FOLLOWERS} followers"
    # Others go live while the fan-out writes its batches: they wait for one batch at most.
    # (Bug: on SQLite a writer waiting on its busy timeout lost every race to the fan-out's next
    # batch, and waited for the whole fan-out, seconds for 100 000.)
    others_ms = [(await _go_live_ms(other, "Meanwhile"))[0] for other in others]
    assert not (await _fanout_done(server, space["id"]))[0], "the fan-out was over: no test"

    key = f"live:{space['id']}"
    deadline = time.monotonic() + 120
    while not (await _fanout_done(server, space["id"]))[0]:
        assert time.monotonic() < deadline, "the fan-out did not finish in 2 minutes"
        await asyncio.sleep(0.05)
    fanout_ms = (time.perf_counter() - live_at) * 1000
    # Each waited for a batch, not for the fan-out: well under its whole length (which grows
    # with the machine's load as they do; a fixed bound alone failed on a loaded machine).
    assert max(others_ms) < max(200, fanout_ms / 3), (
        f"going live during a fan-out took {others_ms} ms; the fan-out {fanout_ms:.0f} ms"
    )
    told = await _told_per_user(server, key)
    assert set(told) == followers, "every follower who opted in, and only they, told"
    assert set(told.values()) == {1}, "nobody told twice"
    assert await _fanout_done(server, space["id"]) == (True, FOLLOWERS - OPTED_OUT)
    # As the follower sees it: one notification of it in the bell (and the warm-up's).
    bell = await fan.ok("GET", "/api/notifications")
    assert sorted(n["text"] for n in bell["notifications"]) == [
        "Hanna Host is live: Ten thousand",
        "Warm is live: Warm up",
    ]


# --- a restart in the middle of a fan-out ------------------------------------------------------

RESTART_FOLLOWERS = 3000
RESTART_BATCH = 200


async def _start_server(
    data_dir: Path, port: int, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`parley serve` on the embedded default (SQLite and the job queue in `data_dir`)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("PARLEY_")
    }
    env.update(
        {
            **{f"PARLEY_{name.upper()}": value for name, value in settings.items()},
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_PASSWORD_TIME_COST": "1",
            "PARLEY_PASSWORD_MEMORY_KIB": "8192",
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "parley", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        for _ in range(1200):  # up to a minute: a loaded machine imports slowly
            if process.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text())
            try:
                if (await http.get(f"{base_url}/api/health")).status_code == 200:
                    return process, base_url
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    raise TimeoutError("the server did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return list(conn.execute(sql, args).fetchall())


@pytest.fixture
async def servers() -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """The server processes a test starts; stopped at its end, whatever happens."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            await asyncio.to_thread(_stop, process)


async def test_a_restart_in_the_middle_of_a_fanout_tells_and_pushes_nobody_twice(
    tmp_path: Path, servers: list[subprocess.Popen[bytes]]
) -> None:
    data_dir = tmp_path / "data"
    db = data_dir / "parley.db"
    settings = {
        "fanout_batch": str(RESTART_BATCH),
        "push_allow_http": "true",
    }
    async with push_service() as pushes:
        process, base_url = await _start_server(data_dir, free_port(), **settings)
        servers.append(process)
        running = Running(base_url=base_url, app=None, clock=TestClock())  # type: ignore[arg-type]
        host = await running.signup("host", "Hanna Host")
        keys = BrowserKeys.make()

        # The followers, each with a push subscription at the counting push service (one key
        # pair for all: decrypting tells which notification each push carries).
        store = Store(f"sqlite+aiosqlite:///{db}")
        try:
            async with store.write() as session:
                followers = await add_followers(
                    session,
                    host.id,
                    RESTART_FOLLOWERS,
                    push_endpoint=lambda user_id: f"{pushes.base_url}/push/{user_id}",
                    p256dh=keys.p256dh,
                    auth=b64url(keys.auth),
                )
        finally:
            await store.close()

        space = await host.create_space("Interrupted")
        key = f"live:{space['id']}"
        count_sql = "SELECT count(*) FROM notifications WHERE dedupe_key = ?"
        # Killed once some batches are told and others are not.
        deadline = time.monotonic() + 60
        while True:
            [(told_before,)] = await asyncio.to_thread(_query, db, count_sql, key)
            if told_before >= 2 * RESTART_BATCH:
                break
            assert time.monotonic() < deadline, "the fan-out did not start"
            await asyncio.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait)
        [(told_at_kill,)] = await asyncio.to_thread(_query, db, count_sql, key)
        assert told_at_kill < RESTART_FOLLOWERS, "the fan-out was over before the kill"

        process, base_url = await _start_server(data_dir, free_port(), **settings)
        servers.append(process)
        # At once: the only node starting takes up what a crash cut short, whatever its claim
        # (a minute by default, which the every-minute sweep would wait out).
        deadline = time.monotonic() + 30
        while True:
            [(done_at, told)] = await asyncio.to_thread(
                _query, db, "SELECT done_at, told FROM fanouts WHERE space_id = ?", space["id"]
            )
            if done_at is not None:
                break
            assert time.monotonic() < deadline, "the fan-out was not taken up after the restart"
            await asyncio.sleep(0.2)
        # The pushes of the last batches go out after the fan-out's end: until they stop.
        seen, still_since = -1, time.monotonic()
        while time.monotonic() - still_since < 3:
            if len(pushes.received) != seen:
                seen, still_since = len(pushes.received), time.monotonic()
            await asyncio.sleep(0.2)

    per_user = dict(
        await asyncio.to_thread(
            _query,
            db,
            "SELECT user_id, count(*) FROM notifications WHERE dedupe_key = ? GROUP BY user_id",
            key,
        )
    )
    assert set(per_user) == set(followers), "every follower told"
    assert set(per_user.values()) == {1}, "nobody told twice"
    assert told == RESTART_FOLLOWERS
    ids = dict(
        await asyncio.to_thread(
            _query, db, "SELECT user_id, id FROM notifications WHERE dedupe_key = ?", key
        )
    )
    pushed: Counter[tuple[int, int]] = Counter()
    for push in pushes.received:
        payload = keys.decrypt(push.body)
        user_id = int(push.token)
        assert payload["id"] == ids[user_id], "a push carries its own user's notification"
        pushed[(user_id, payload["id"])] += 1
    assert max(pushed.values()) == 1, "a push sent twice"
    # A push claimed but not sent when the server was killed is lost (never sent twice): at
    # most the batch being pushed and the one whose push job was being queued.
    assert len(pushed) >= RESTART_FOLLOWERS - 2 * RESTART_BATCH, len(pushed)
