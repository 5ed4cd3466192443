"""Limits on live spaces (issue 12): one live space per host at a time, and a space nobody is in
ends by itself (the host's grace period, and the idle end)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets

from support import Client, Running

pytestmark = pytest.mark.integration

SOON = (datetime.now(UTC) + timedelta(hours=2)).isoformat()


def _refused_by_the_limit(response: Any, live_id: int) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert (body["error"], body["rule"]) == ("conflict", "live_spaces_per_host"), body
    assert f"/s/{live_id}" in body["message"], body  # where the live one is


async def _state(client: Client, sid: int) -> str:
    return str((await client.ok("GET", f"/api/spaces/{sid}"))["space"]["state"])


async def _until_state(client: Client, sid: int, state: str, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while await _state(client, sid) != state:
        assert asyncio.get_running_loop().time() < deadline, f"space {sid} never {state}"
        await asyncio.sleep(0.05)


async def _live_ids(client: Client, handle: str) -> list[int]:
    hosted = await client.ok("GET", f"/api/users/{handle}/spaces")
    return [space["id"] for space in hosted["live"]]


# --- one live space per host ---------------------------------------------------------------------


async def test_a_second_live_space_is_refused_until_the_first_ends(server: Running) -> None:
    host = await server.signup("host")
    first = (await host.create_space("First"))["id"]
    _refused_by_the_limit(await host.post("/api/spaces", {"title": "Second"}), first)
    # Scheduling is allowed: a scheduled space is not live until it starts, and starting it is
    # refused while the first is live.
    later = (await host.create_space("Later", scheduled_for=SOON))["id"]
    _refused_by_the_limit(await host.post(f"/api/spaces/{later}/start"), first)
    assert await _state(host, later) == "scheduled"
    # Others' spaces, and being a listener in one, do not count.
    guest = await server.signup("guest")
    await guest.join(first)
    own = (await guest.create_space("Guest's own"))["id"]
    assert await _state(guest, own) == "live"
    await host.ok("POST", f"/api/spaces/{first}/end")
    await host.ok("POST", f"/api/spaces/{later}/start")
    _refused_by_the_limit(await host.post("/api/spaces", {"title": "Third"}), later)
    await host.ok("POST", f"/api/spaces/{later}/end")
    third = (await host.create_space("Third"))["id"]
    assert await _live_ids(host, "host") == [third]


async def test_simultaneous_creates_give_one_live_space(server: Running) -> None:
    host = await server.signup("host")
    responses = await asyncio.gather(
        *(host.post("/api/spaces", {"title": f"Race {n}"}) for n in range(4))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert len(await _live_ids(host, "host")) == 1


async def test_simultaneous_starts_give_one_live_space(server: Running) -> None:
    host = await server.signup("host")
    scheduled = [
        (await host.create_space(f"Later {n}", scheduled_for=SOON))["id"] for n in range(3)
    ]
    responses = await asyncio.gather(*(host.post(f"/api/spaces/{sid}/start") for sid in scheduled))
    assert sorted(r.status_code for r in responses) == [200, 409, 409]
    assert len(await _live_ids(host, "host")) == 1


@pytest.mark.parley_settings(max_live_spaces_per_host=0)
async def test_no_limit_when_the_setting_is_0(server: Running) -> None:
    host = await server.signup("host")
    for n in range(3):
        await host.create_space(f"Space {n}")
    assert len(await _live_ids(host, "host")) == 3


@pytest.mark.parley_settings(max_live_spaces_per_host=2)
async def test_a_higher_limit(server: Running) -> None:
    host = await server.signup("host")
    first = (await host.create_space("One"))["id"]
    await host.create_space("Two")
    response = await host.post("/api/spaces", {"title": "Three"})
    _refused_by_the_limit(response, first)
    assert "at most 2 live spaces" in response.json()["message"]


# --- spaces nobody is in end ---------------------------------------------------------------------


async def _feed(server: Running) -> websockets.ClientConnection:
    return await websockets.connect(f"{server.ws_url}/api/feed")


async def _until_feed_says(
    feed: websockets.ClientConnection, sid: int, state: str, timeout_s: float = 5.0
) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(feed.recv(), timeout_s))
        if message["type"] == "space_changed" and (
            (message["space"]["id"], message["space"]["state"]) == (sid, state)
        ):
            return message


async def _recording_complete(host: Client, sid: int) -> None:
    for _ in range(200):
        response = await host.get(f"/api/spaces/{sid}/recording")
        if response.status_code == 200 and response.json()["recording"]["state"] == "complete":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"space {sid}: recording never complete")


async def test_a_host_who_never_comes_loses_the_space_after_the_grace(server: Running) -> None:
    """Created through the API, no socket ever opened: the host's grace runs from the creation
    (and from the start of a scheduled space)."""
    host = await server.signup("host")
    sid = (await host.create_space("Nobody came"))["id"]
    server.clock.advance(seconds=170)
    await asyncio.sleep(0.5)
    assert await _state(host, sid) == "live"
    server.clock.advance(seconds=20)  # past the 180 s of host_grace_s
    await _until_state(host, sid, "ended")
    later = (await host.create_space("Later", scheduled_for=SOON))["id"]
    await host.ok("POST", f"/api/spaces/{later}/start")
    server.clock.advance(seconds=190)
    await _until_state(host, later, "ended")


@pytest.mark.parley_settings(host_grace_s=3600, idle_space_end_s=600)
async def test_a_space_nobody_is_in_ends_after_the_idle_time(server: Running) -> None:
    feed = await _feed(server)
    try:
        host = await server.signup("host")
        sid = (await host.create_space("Empty room"))["id"]
        await asyncio.sleep(1.0)  # a segment or so is recorded
        server.clock.advance(seconds=590)
        await asyncio.sleep(0.5)
        assert await _state(host, sid) == "live"
        server.clock.advance(seconds=15)
        ended = await _until_feed_says(feed, sid, "ended")
        assert ended["space"]["ended_at"] is not None
        await _recording_complete(host, sid)
        # Its host may go live again at once.
        await host.create_space("Again")
    finally:
        await feed.close()


@pytest.mark.parley_settings(host_grace_s=3600, idle_space_end_s=600)
async def test_a_present_listener_keeps_the_space_from_the_idle_end(server: Running) -> None:
    """The idle end is for nobody there: a listener's open socket holds it off, and the host's
    grace (longer here) still ends a space without its host."""
    host = await server.signup("host")
    listener = await server.signup("listener")
    sid = (await host.create_space("One listener"))["id"]
    await listener.join(sid)
    socket = await listener.socket(sid)
    try:
        await socket.until_type("snapshot")
        server.clock.advance(seconds=1200)
        await asyncio.sleep(0.5)
        assert await _state(host, sid) == "live"
        server.clock.advance(seconds=2500)  # past the host's grace
        ended = await socket.until(
            lambda m: m["type"] == "space_updated" and m["space"]["state"] == "ended"
        )
        assert ended["space"]["ended_at"] is not None
    finally:
        await socket.close()


@pytest.mark.parley_settings(host_grace_s=3600, idle_space_end_s=600)
async def test_a_present_host_alone_keeps_the_space(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Just me"))["id"]
    socket = await host.socket(sid)
    try:
        await socket.until_type("snapshot")
        server.clock.advance(seconds=4000)
        await asyncio.sleep(0.5)
        assert await _state(host, sid) == "live"
    finally:
        await socket.close()
    await asyncio.sleep(0.5)
    # Gone: the host's absence starts now, and the idle time runs from it.
    server.clock.advance(seconds=590)
    await asyncio.sleep(0.5)
    assert await _state(host, sid) == "live"
    server.clock.advance(seconds=15)
    await _until_state(host, sid, "ended")


@pytest.mark.parley_settings(host_grace_s=60, idle_space_end_s=600)
async def test_a_listener_without_the_host_follows_the_host_grace(server: Running) -> None:
    host = await server.signup("host")
    listener = await server.signup("listener")
    sid = (await host.create_space("Host left"))["id"]
    host_socket = await host.socket(sid)
    await host_socket.until_type("snapshot")
    await listener.join(sid)
    socket = await listener.socket(sid)
    try:
        await socket.until_type("snapshot")
        await host_socket.close()
        await asyncio.sleep(0.3)
        server.clock.advance(seconds=55)
        await asyncio.sleep(0.5)
        assert await _state(host, sid) == "live"
        server.clock.advance(seconds=10)
        await socket.until(
            lambda m: m["type"] == "space_updated" and m["space"]["state"] == "ended"
        )
    finally:
        await socket.close()
