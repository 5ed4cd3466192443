"""WHEP and WHIP sessions per user are capped (per space, and on the node), and an answered offer
whose connection never comes up is closed after a short time: one user cannot hold every WebRTC
listener slot with offers that never connect. Real aiortc peers on a real server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection

from support import Client, Running
from webrtc_client import WebRtcClient

pytestmark = pytest.mark.integration

CONNECT_TIMEOUT_S = 3.0
CAPS = pytest.mark.parley_settings(
    webrtc_connect_timeout_s=CONNECT_TIMEOUT_S,
    webrtc_sessions_per_user_space=2,
    webrtc_sessions_per_user=3,
)


async def _never_connecting(server: Running, who: Client, space_id: int, kind: str) -> int:
    """Posts a real aiortc offer, then closes the peer without taking the answer: ICE never
    completes. The HTTP status."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="recvonly" if kind == "whep" else "sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
            response = await http.post(
                f"/api/spaces/{space_id}/{kind}",
                content=pc.localDescription.sdp,
                headers={**who.headers, "Content-Type": "application/sdp"},
            )
    finally:
        await pc.close()
    if response.status_code == 429:
        _refused(response)
    return response.status_code


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    # When a session that never connected will have been closed.
    assert int(response.headers["retry-after"]) == round(CONNECT_TIMEOUT_S)
    body: dict[str, Any] = response.json()
    assert body["error"] == "too_many_sessions", body
    assert "at most" in body["message"], body


def _sessions_of(server: Running, user: Client) -> list[Any]:
    return [s for s in server.app.state.media.engine.sessions() if s.user_id == user.id]


async def _live_space(server: Running, handle: str, *members: Client) -> int:
    host = await server.signup(handle)
    sid: int = (await host.create_space(f"Space of {handle}"))["id"]
    for member in members:
        await member.join(sid)
    media = server.app.state.media
    for _ in range(200):  # its media opened (the space going live starts it)
        if media.engine.ticks_of(sid) is not None:
            break
        await asyncio.sleep(0.05)
    return sid


@CAPS
async def test_offers_that_never_connect_are_capped_per_user_and_expire(server: Running) -> None:
    greedy = await server.signup("greedy")
    other = await server.signup("other")
    first = await _live_space(server, "host1", greedy, other)
    second = await _live_space(server, "host2", greedy)
    third = await _live_space(server, "host3", greedy)
    # Two sessions of one user in one space (one, and one more during a reconnect): the third,
    # even sent all at once, is refused.
    statuses = await asyncio.gather(
        *(_never_connecting(server, greedy, first, "whep") for _ in range(4))
    )
    assert sorted(statuses) == [201, 201, 429, 429]
    # Someone else is not limited by it.
    assert await _never_connecting(server, other, first, "whep") == 201
    # Three in all on this node: one more in another space, then no more anywhere.
    assert await _never_connecting(server, greedy, second, "whep") == 201
    assert await _never_connecting(server, greedy, third, "whep") == 429
    # Not connected within the short time: closed, their slots freed.
    started = time.monotonic()
    while _sessions_of(server, greedy) or _sessions_of(server, other):
        assert time.monotonic() - started < CONNECT_TIMEOUT_S + 5, "never-connected sessions stay"
        await asyncio.sleep(0.1)
    assert await _never_connecting(server, greedy, third, "whep") == 201


@CAPS
async def test_a_real_listener_connects_and_stays_past_the_timeout(server: Running) -> None:
    listener = await server.signup("listener")
    sid = await _live_space(server, "host", listener)
    real = WebRtcClient(server.base_url, listener.token, sid, "whep")
    try:
        assert (await real.connect()).status_code == 201
        await asyncio.wait_for(real.received.wait(), 10)
        assert real.pc.connectionState == "connected"
        # Connected: the short timeout does not touch it, and it still counts against the cap.
        await asyncio.sleep(CONNECT_TIMEOUT_S + 1)
        assert len(_sessions_of(server, listener)) == 1
        assert await _never_connecting(server, listener, sid, "whep") == 201
        assert await _never_connecting(server, listener, sid, "whep") == 429
        # Leaving frees its slot at once.
        assert await real.delete() == 200
    finally:
        await real.close()


@CAPS
async def test_publishing_sessions_are_capped_too(server: Running) -> None:
    host = await server.signup("speaker")
    sid = (await host.create_space("On stage"))["id"]
    media = server.app.state.media
    for _ in range(200):
        if media.engine.ticks_of(sid) is not None:
            break
        await asyncio.sleep(0.05)
    assert [await _never_connecting(server, host, sid, "whip") for _ in range(3)] == [
        201,
        201,
        429,
    ]
    # A listening session is counted apart in the space (switching from one to the other keeps
    # both a moment), within the user's total.
    assert await _never_connecting(server, host, sid, "whep") == 201
    assert await _never_connecting(server, host, sid, "whep") == 429
