"""The public feed (/api/feed): pages hear spaces being created and changing state as it happens,
without an account; its caps per address and per node."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets

from support import Running

pytestmark = pytest.mark.integration

SOON = (datetime.now(UTC) + timedelta(hours=2)).isoformat()


async def _open(server: Running) -> websockets.ClientConnection:
    """A feed socket as a signed-out page opens it (no cookie, no token)."""
    return await websockets.connect(f"{server.ws_url}/api/feed")


async def _next_change(socket: websockets.ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message["type"] != "ping":
            return message


async def _closed_with(socket: websockets.ClientConnection) -> int | None:
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(socket.recv(), 5)
    return socket.close_code


async def test_a_page_hears_spaces_created_started_and_ended(server: Running) -> None:
    feed = await _open(server)
    try:
        host = await server.signup("host")
        # The feed's subscription is the node's, set up at start: nothing is missed meanwhile.
        sid = (await host.create_space("Later", scheduled_for=SOON))["id"]
        created = await _next_change(feed)
        assert created["type"] == "space_changed"
        assert (created["space"]["id"], created["space"]["state"]) == (sid, "scheduled")
        assert created["space"]["host"]["handle"] == "host"
        await feed.send("anything: the feed is one way, what a page sends is ignored")
        await host.ok("POST", f"/api/spaces/{sid}/start")
        assert (await _next_change(feed))["space"]["state"] == "live"
        await host.ok("POST", f"/api/spaces/{sid}/end")
        assert (await _next_change(feed))["space"]["state"] == "ended"
        live = (await host.create_space("Now"))["id"]
        assert (await _next_change(feed))["space"] | {} == (await _space(host, live))
    finally:
        await feed.close()


async def _space(host: Any, sid: int) -> dict[str, Any]:
    space: dict[str, Any] = (await host.ok("GET", f"/api/spaces/{sid}"))["space"]
    return space


async def test_a_canceled_space_is_heard_and_nothing_private_is_sent(server: Running) -> None:
    feed = await _open(server)
    try:
        host = await server.signup("host")
        sid = (await host.create_space("Maybe", scheduled_for=SOON))["id"]
        await _next_change(feed)
        guest = await server.signup("guest")
        await guest.join(sid)  # joining, requests, reactions: never on the feed
        await host.ok("POST", f"/api/spaces/{sid}/cancel")
        message = await _next_change(feed)
        assert message["space"]["state"] == "canceled"
        assert set(message) == {"type", "space"}
    finally:
        await feed.close()


@pytest.mark.parley_settings(feed_sockets_per_address=2)
async def test_sockets_per_address_are_capped(server: Running) -> None:
    first, second = await _open(server), await _open(server)
    third = await _open(server)
    assert await _closed_with(third) == 4429
    await first.close()
    await asyncio.sleep(0.2)
    again = await _open(server)  # a place is free again
    host = await server.signup("host")
    await host.create_space("Heard")
    assert (await _next_change(again))["space"]["title"] == "Heard"
    for socket in (second, again):
        await socket.close()


@pytest.mark.parley_settings(feed_max_sockets=1, feed_sockets_per_address=5)
async def test_a_full_node_says_so(server: Running) -> None:
    first = await _open(server)
    second = await _open(server)
    assert await _closed_with(second) == 4503
    await first.close()


@pytest.mark.parley_settings(feed_sockets_per_address=50)
async def test_opening_too_often_is_rate_limited(server: Running) -> None:
    sockets = [await _open(server) for _ in range(16)]
    try:
        codes = await asyncio.gather(*(_closed_or_open(socket) for socket in sockets))
    finally:
        for socket in sockets:
            await socket.close()
    assert codes[:10] == [None] * 10  # the burst
    assert 4429 in codes[10:]


async def _closed_or_open(socket: websockets.ClientConnection) -> int | None:
    """The close code if the server closes the socket at once, None if it stays open."""
    try:
        await asyncio.wait_for(socket.recv(), 0.5)
    except TimeoutError:
        return None
    except websockets.ConnectionClosed:
        return socket.close_code
    return None
