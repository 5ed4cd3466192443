"""What a node gathers for host analytics and writes in batches (room/listens.py): a listen's
row is opened and ended once, whatever the order of its open, its close and the writes; a write
that fails keeps what it held; what a node left open ends at its last renewal."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from parley.actions import analytics
from parley.domain.analytics import Arrival, ListenPath, TallyKind
from parley.room.listens import ListenLog
from parley.store import analytics as facts
from parley.store.models import ListenFact, SpaceTally
from support import Running

pytestmark = [
    pytest.mark.integration,
    # The node's own writes wait: the test writes when it chooses.
    pytest.mark.parley_settings(analytics_flush_s=60.0),
]


def _log(server: Running) -> ListenLog:
    log: ListenLog = server.app.state.room.listens
    return log


async def _rows(server: Running) -> list[ListenFact]:
    async def read() -> list[ListenFact]:
        async with server.app.state.services.store.read() as session:
            found = await session.execute(select(ListenFact).order_by(ListenFact.id))
            return list(found.scalars().all())

    return await server.on_server(read())


async def _space(server: Running) -> int:
    host = await server.signup("host")
    sid: int = (await host.create_space("Counted"))["id"]
    return sid


async def test_a_listen_is_written_open_then_ended(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)

    async def scenario() -> tuple[int, int]:
        early = log.opened(sid, "u7", ListenPath.ROOM, Arrival.HOME)
        short = log.opened(sid, "u8", ListenPath.WEBRTC)
        log.closed(short)  # before any write: written once, already ended
        await log.flush()
        return early, short

    early, _ = await server.on_server(scenario())
    rows = await _rows(server)
    assert [(r.listener, r.path, r.arrival, r.ended_at is None) for r in rows] == [
        ("u7", "room", "home", True),
        ("u8", "webrtc", None, False),
    ]
    server.clock.advance(seconds=30)

    async def close() -> None:
        log.closed(early)
        await log.flush()

    await server.on_server(close())
    rows = await _rows(server)
    assert rows[0].ended_at is not None
    assert (rows[0].ended_at - rows[0].started_at).total_seconds() == pytest.approx(30, abs=1)
    assert rows[0].last_seen_at == rows[0].ended_at


async def test_a_listen_closed_while_its_row_is_being_written_still_ends(
    server: Running,
) -> None:
    sid = await _space(server)
    log = _log(server)

    async def scenario() -> None:
        token = log.opened(sid, "u9", ListenPath.ROOM)
        writing = asyncio.create_task(log.flush())
        await asyncio.sleep(0)  # the write has started, the row's id not known yet
        assert token in log._writing
        log.closed(token)
        await writing
        await log.flush()

    await server.on_server(scenario())
    (row,) = await _rows(server)
    assert row.ended_at is not None


async def _rename_listens(server: Running, old: str, new: str) -> None:
    """Takes the listens' table away (or brings it back): the store really refuses the write."""

    async def rename() -> None:
        async with server.app.state.services.store.write() as session:
            await session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))

    await server.on_server(rename())


async def test_a_failed_or_cancelled_write_keeps_what_it_held(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)

    async def failing() -> None:
        log.opened(sid, "u10", ListenPath.ROOM)
        log.count(sid, TallyKind.REACTION, "🔥", 3)
        with pytest.raises(DBAPIError):
            await log.flush()

    await _rename_listens(server, "listens", "listens_away")
    try:
        await server.on_server(failing())
    finally:
        await _rename_listens(server, "listens_away", "listens")

    async def cancelled() -> None:
        log.opened(sid, "u11", ListenPath.ROOM)
        writing = asyncio.create_task(log.flush())
        await asyncio.sleep(0)
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        await log.flush()

    await server.on_server(cancelled())
    assert sorted(row.listener for row in await _rows(server)) == ["u10", "u11"]

    async def tallies() -> list[tuple[str, str, int]]:
        async with server.app.state.services.store.read() as session:
            found = await session.execute(select(SpaceTally))
            return [(t.kind, t.key, t.amount) for t in found.scalars().all()]

    assert await server.on_server(tallies()) == [("reaction", "🔥", 3)]


async def test_stopping_ends_and_writes_every_open_listen(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)

    async def scenario() -> None:
        log.opened(sid, "u15", ListenPath.ROOM)
        await log.flush()
        log.opened(sid, "u16", ListenPath.WEBRTC)  # not written yet
        log.hls_seen(sid, "u17")
        await log.close_all()

    await server.on_server(scenario())
    rows = await _rows(server)
    assert sorted(row.listener for row in rows) == ["u15", "u16", "u17"]
    assert all(row.ended_at is not None for row in rows)


async def test_hls_listeners_end_after_their_player_stops_fetching(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)
    idle_s = server.app.state.services.settings.analytics_hls_idle_s

    async def scenario() -> datetime:
        log.hint(sid, "u11", Arrival.NOTIFICATION)
        log.hls_seen(sid, "u11")
        await log.flush()
        server.clock.advance(seconds=4)
        log.hls_seen(sid, "u11")  # the same listen goes on
        last = server.app.state.services.clock()
        await log.flush()
        server.clock.advance(seconds=idle_s + 1)
        await log.flush()
        return last

    last = await server.on_server(scenario())
    (row,) = await _rows(server)
    assert row.path == "hls" and row.arrival == "notification"
    assert row.ended_at is not None
    # Heard for about a segment after the last fetch.
    assert (row.ended_at - last).total_seconds() == pytest.approx(1.0, abs=0.01)


async def test_what_a_node_left_open_ends_at_its_last_renewal(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)

    async def scenario() -> None:
        log.opened(sid, "u12", ListenPath.ROOM)
        await log.flush()
        server.clock.advance(seconds=120)  # the node was killed: nothing renewed it
        await analytics.end_node_listens(server.app.state.services)

    await server.on_server(scenario())
    (row,) = await _rows(server)
    assert row.ended_at == row.last_seen_at
    assert (row.ended_at - row.started_at).total_seconds() < 5


async def test_nothing_is_gathered_when_analytics_are_off(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)
    log.enabled = False
    try:

        async def scenario() -> None:
            log.closed(log.opened(sid, "u13", ListenPath.ROOM))
            log.hls_seen(sid, "u14")
            log.count(sid, TallyKind.REACTION, "🔥")
            await log.flush()

        await server.on_server(scenario())
    finally:
        log.enabled = True
    assert await _rows(server) == []


async def test_an_open_listen_lives_on_its_nodes_lease(server: Running) -> None:
    sid = await _space(server)
    log = _log(server)
    services = server.app.state.services
    lease_s = analytics.lease_s(services)

    async def ends() -> list[datetime]:
        async with services.store.read() as session:
            found = await facts.listens_of(session, [sid], services.clock(), lease_s)
            return [listen.end for listen in found[sid]]

    async def scenario() -> tuple[datetime, list[datetime], list[datetime], list[datetime]]:
        log.opened(sid, "u18", ListenPath.ROOM)
        await log.flush()
        first = services.clock()
        server.clock.advance(seconds=lease_s / 2)
        await log.flush()  # renewed: still there, to now
        renewed = services.clock()
        while_renewed = await ends()
        server.clock.advance(seconds=lease_s / 2)
        still = await ends()
        server.clock.advance(seconds=lease_s * 2)  # the node stopped renewing: it died
        return first, [renewed, *while_renewed], still, await ends()

    first, (renewed, *while_renewed), still, after = await server.on_server(scenario())
    assert while_renewed[0] >= renewed
    assert still[0] > renewed
    assert renewed - first >= timedelta(seconds=lease_s / 2 - 1)
    assert after == [pytest.approx(renewed, abs=timedelta(seconds=1))]
