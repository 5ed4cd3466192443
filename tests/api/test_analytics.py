"""Host analytics on a real space (issue 14): listeners over WebRTC, HLS and as a visitor are
counted once each, with how they came; interactions are counted; only the host and co-hosts
read the figures; the CSV holds what the JSON says; a host's period adds up their spaces."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from parley.actions import recordings
from parley.store.models import ListenFact
from support import Client, RoomSocket, Running
from webrtc_client import GeneratedTrack, WebRtcClient, tone

pytestmark = [
    pytest.mark.integration,
    # Written often, an HLS-only listener gone after 1 s without a playlist fetch; clips
    # allowed often (a loaded machine takes long for the first segment).
    pytest.mark.parley_settings(analytics_flush_s=0.2, analytics_hls_idle_s=1.0, clip_burst=100.0),
]


async def _figures(who: Client, sid: int) -> dict[str, Any]:
    found: dict[str, Any] = (await who.ok("GET", f"/api/spaces/{sid}/analytics"))["analytics"]
    return found


async def _until(who: Client, sid: int, check: Any, what: str, timeout_s: float = 20) -> Any:
    """The figures once `check(figures)` holds (they are written every flush)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await _figures(who, sid)
        if found["figures"] is not None and check(found["figures"]):
            return found
        assert time.monotonic() < deadline, f"{what}: {found['figures']}"
        await asyncio.sleep(0.5)


async def _fetch_playlist(http: httpx.AsyncClient, url: str) -> None:
    response = await http.get(url)
    assert response.status_code == 200, response.text
    assert response.text.startswith("#EXTM3U")


async def _live_hls(who: httpx.AsyncClient | Client, sid: int, via: str) -> str:
    response = await who.get(f"/api/spaces/{sid}/listen?via={via}")
    assert response.status_code == 200, response.text
    url: str = response.json()["hls_url"]
    return url


async def _until_playlist(base_url: str, url: str) -> None:
    """The live playlist once its first segment is written."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        for _ in range(150):
            if (await http.get(url)).status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("no live playlist")


async def test_a_real_space_counts_each_listener_once_by_path_and_arrival(
    server: Running,
) -> None:
    host = await server.signup("host")
    alice, bob, carol, dave = [await server.signup(h) for h in ("alice", "bob", "carol", "dave")]
    sid = (await host.create_space("Counted"))["id"]
    # The host speaks: a tone over WHIP, unmuted.
    speaker = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(440)))
    listener = WebRtcClient(server.base_url, alice.token, sid, "whep")
    sockets: list[RoomSocket] = []
    try:
        assert (await speaker.connect()).status_code == 201
        await host.unmute_on_air(sid)
        # Alice: came from the home page, in the room (socket) and hearing it over WebRTC.
        await alice.join(sid)
        url = f"{server.ws_url}/api/spaces/{sid}/ws?via=home"
        sockets.append(RoomSocket(await websockets.connect(url, additional_headers=alice.headers)))
        assert (await listener.connect()).status_code == 201
        # Bob: an outside player over HLS only, from a notification's link.
        await bob.join(sid)
        hls_url = await _live_hls(bob, sid, "notification")
        await _until_playlist(server.base_url, hls_url)
        # A visitor: the embedded player's socket and HLS (one client address: one visitor).
        visitor = httpx.AsyncClient(base_url=server.base_url, timeout=10)
        url = f"{server.ws_url}/api/spaces/{sid}/ws?via=embed"
        sockets.append(RoomSocket(await websockets.connect(url)))
        visitor_url = await _live_hls(visitor, sid, "embed")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            await _fetch_playlist(http, hls_url)
            await _fetch_playlist(visitor, visitor_url)
        # Carol co-hosts (and so reads the figures); Dave is a listener who may not.
        await carol.join(sid)
        await dave.join(sid)
        await host.ok("POST", f"/api/spaces/{sid}/members/{carol.id}/make-cohost")
        # Interactions: two reactions, a request to speak, a follow of the live host, a share.
        for emoji in ("👏", "👏", "🔥"):
            await alice.ok("POST", f"/api/spaces/{sid}/reactions", {"emoji": emoji}, status=202)
        await dave.ok("POST", f"/api/spaces/{sid}/me/request")
        await bob.ok("PUT", "/api/users/host/follow", status=204)
        await bob.ok("PUT", f"/api/spaces/{sid}/repost", status=204)

        # Everyone but the host; visitors apart; Alice once though on two paths.
        found = await _until(
            carol,
            sid,
            lambda f: (
                f["audience"]["unique_visitors"] == 1
                and f["audience"]["unique_listeners"] == 2
                and f["audience"]["by_path"]["webrtc"] == 1
                and f["interactions"]["reactions"] == {"👏": 2, "🔥": 1}
            ),
            "live figures",
        )
        assert found["live"] is True
        seen = found["figures"]["audience"]
        # Carol and Dave joined but are not in the room (no socket): not listening.
        assert seen["by_path"] == {"room": 2, "webrtc": 1, "hls": 2}
        assert seen["arrivals"]["home"] == 1
        assert seen["arrivals"]["notification"] == 1
        assert seen["arrivals"]["embed"] == 1
        # Alice, Bob and the visitor: Alice's two paths count once.
        assert seen["peak_listeners"] == 3
        acts = found["figures"]["interactions"]
        assert (acts["requests"], acts["new_followers"], acts["shares"]) == (1, 1, 1)

        # Only the host and co-hosts: 403 for a listener, a speaker-to-be, someone outside.
        for other in (alice, bob, dave):
            response = await other.get(f"/api/spaces/{sid}/analytics")
            assert response.status_code == 403, response.text
            assert response.json()["error"] == "forbidden"
            assert (await other.get(f"/api/spaces/{sid}/analytics.csv")).status_code == 403
        response = await visitor.get(f"/api/spaces/{sid}/analytics")
        assert response.status_code == 401
        await visitor.aclose()

        # Bob's player stops reloading: after the idle time his listen has ended.
        await asyncio.sleep(1.5)
        assert await _hls_ended(server, sid, f"u{bob.id}")
    finally:
        for socket in sockets:
            await socket.close()
        await listener.close()
        await speaker.close()

    # A clip of the last second, then the end.
    for _ in range(75):
        response = await alice.post(f"/api/spaces/{sid}/clips", json={"duration_s": 1})
        if response.status_code != 409:
            break
        await asyncio.sleep(0.2)  # nothing recorded yet
    assert response.status_code == 201, response.text
    await host.ok("POST", f"/api/spaces/{sid}/end")
    ended = await _until(
        host,
        sid,
        lambda f: f["talk"] and f["interactions"]["clips"] == 1,
        "final figures",
    )
    assert ended["live"] is False
    figures = ended["figures"]
    # The host spoke (the tone) and is the only speaker; their talk time is real time heard.
    assert figures["interactions"]["speakers"] == 1
    assert [s["handle"] for s in ended["speakers"]] == ["host"]
    assert 0.5 < figures["talk"][0]["talk_s"] <= figures["audience"]["total_listening_s"]
    # Nobody's listening runs past the end.
    duration_s = _time(figures["end"]) - _time(figures["start"])
    assert figures["audience"]["average_listening_s"] <= duration_s

    # The CSV holds the JSON's figures.
    response = await host.get(f"/api/spaces/{sid}/analytics.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    # UTF-8 with a byte order mark (for Excel).
    assert response.content.startswith("\ufeff".encode())
    text = response.content.decode("utf-8-sig")
    rows = {(row[0], row[1]): row[2] for row in csv.reader(io.StringIO(text))}
    for name, value in figures["audience"].items():
        if isinstance(value, dict):
            section = {"by_path": "path", "arrivals": "arrival"}[name]
            for key, count in value.items():
                assert rows[(section, key)] == str(count)
        elif isinstance(value, float):
            assert float(rows[("audience", name)]) == value
        elif value is not None:
            assert rows[("audience", name)] == str(value).replace("Z", "+00:00"), name
    assert rows[("reactions", "👏")] == "2"
    assert rows[("interactions", "clips")] == "1"
    assert rows[("interactions", "total")] == str(
        sum(
            [3, 1, 1, 1, 1]  # reactions, request, follower, share, clip
        )
    )
    assert rows[("talk", "host")] == str(figures["talk"][0]["talk_s"])
    points = [row for row in csv.reader(io.StringIO(text)) if row[0] == "retention"]
    assert [(int(m), float(s)) for _, m, s in points] == [
        (p["minute"], p["share"]) for p in figures["retention"]
    ]

    # The host's period: this space, against nothing before.
    period = (await host.ok("GET", "/api/me/analytics?days=7"))["analytics"]
    assert period["current"]["spaces"] == 1
    assert period["current"]["unique_listeners"] == 2
    assert period["previous"]["spaces"] == 0
    assert period["changes"]["spaces"]["change_pct"] is None
    assert [row["space_id"] for row in period["spaces"]] == [sid]
    response = await host.get("/api/me/analytics.csv?days=7")
    assert 'filename="parley-analytics-' in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0]["space_id"] == str(sid)
    assert table[0]["unique_listeners"] == str(period["spaces"][0]["unique_listeners"])
    # Someone else's period has none of it.
    assert (await bob.ok("GET", "/api/me/analytics"))["analytics"]["current"]["spaces"] == 0


def _time(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def _hls_ended(server: Running, sid: int, listener: str) -> bool:
    """Whether `listener`'s HLS listen was written as ended (read from the store: the API tells
    nobody who listened)."""

    async def read() -> bool:
        async with server.app.state.services.store.read() as session:
            found = await session.execute(
                select(ListenFact.ended_at).where(
                    ListenFact.space_id == sid,
                    ListenFact.listener == listener,
                    ListenFact.path == "hls",
                )
            )
            ends = found.scalars().all()
            return bool(ends) and all(end is not None for end in ends)

    for _ in range(50):
        if await server.on_server(read()):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_replay_plays_count_once_per_listener_and_not_the_hosts(server: Running) -> None:
    host = await server.signup("host")
    bob = await server.signup("bob")
    sid = (await host.create_space("Replayed"))["id"]
    speaker = WebRtcClient(server.base_url, host.token, sid, "whip", GeneratedTrack(tone(440)))
    try:
        assert (await speaker.connect()).status_code == 201
        await host.unmute_on_air(sid)
        await asyncio.sleep(2.5)  # a segment or two
    finally:
        await speaker.close()
    await host.ok("POST", f"/api/spaces/{sid}/end")
    # No replay published yet: nothing to count.
    response = await bob.post(f"/api/spaces/{sid}/replay/plays")
    assert response.status_code == 404, response.text
    for _ in range(100):
        if (await host.post(f"/api/spaces/{sid}/replay")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    for who in (bob, bob, host):
        response = await who.post(f"/api/spaces/{sid}/replay/plays")
        assert response.status_code == 204, response.text
    async with httpx.AsyncClient(base_url=server.base_url) as visitor:
        assert (await visitor.post(f"/api/spaces/{sid}/replay/plays")).status_code == 204
    before = await _until(
        host, sid, lambda f: f["interactions"]["replay_plays"] == 2, "bob and the visitor"
    )
    # The recording's retention passes and it is purged: the figures stay (they hold no audio).
    server.clock.advance(days=31)
    services = server.app.state.services
    assert await server.on_server(recordings.purge_expired(services)) == [sid]
    assert (await host.get(f"/api/spaces/{sid}/recording")).status_code == 404
    after = await _figures(host, sid)
    assert after["figures"] == before["figures"]


async def test_bad_periods_are_refused_with_the_field_named(server: Running) -> None:
    host = await server.signup("host")
    for query, field in (
        ("days=0", "days"),
        ("days=400", "days"),
        ("start=2026-01-02", "end"),
        ("start=2026-02-01&end=2026-01-01", "end"),
        ("start=2025-01-01&end=2026-06-01", "end"),
        ("start=yesterday&end=2026-01-01", "start"),
        ("start=9999-12-31&end=9999-12-31", "start"),
        ("start=0001-01-01&end=0001-01-02", "start"),
    ):
        response = await host.get(f"/api/me/analytics?{query}")
        assert response.status_code == 422, (query, response.text)
        assert field in response.text, (query, response.text)
    # A scheduled space that never started has no figures yet, and says so.
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    sid = (await host.create_space("Later", scheduled_for=soon))["id"]
    assert (await _figures(host, sid))["figures"] is None
    assert (await host.get("/api/spaces/999999/analytics")).status_code == 404


async def test_a_co_host_moved_down_or_removed_no_longer_reads_the_figures(
    server: Running,
) -> None:
    host = await server.signup("host")
    carol, erin = await server.signup("carol"), await server.signup("erin")
    sid = (await host.create_space("Changing hands"))["id"]
    for who in (carol, erin):
        await who.join(sid)
        await host.ok("POST", f"/api/spaces/{sid}/members/{who.id}/make-cohost")
        assert (await who.get(f"/api/spaces/{sid}/analytics")).status_code == 200
    await host.ok("POST", f"/api/spaces/{sid}/members/{carol.id}/remove-cohost")
    await host.ok("POST", f"/api/spaces/{sid}/members/{erin.id}/remove")
    for who in (carol, erin):
        response = await who.get(f"/api/spaces/{sid}/analytics")
        assert response.status_code == 403, response.text


async def test_followers_count_for_the_live_space_only(server: Running) -> None:
    host = await server.signup("host")
    fans = [await server.signup(f"fan{n}") for n in range(3)]
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    sid = (await host.create_space("Later", scheduled_for=soon))["id"]
    # Followed while the space is only scheduled: not gained "during the space".
    await fans[0].ok("PUT", "/api/users/host/follow", status=204)
    await host.ok("POST", f"/api/spaces/{sid}/start")
    await fans[1].ok("PUT", "/api/users/host/follow", status=204)
    # Following again changes nothing.
    await fans[1].ok("PUT", "/api/users/host/follow", status=204)
    await host.ok("POST", f"/api/spaces/{sid}/end")
    await fans[2].ok("PUT", "/api/users/host/follow", status=204)
    found = await _figures(host, sid)
    assert found["figures"]["interactions"]["new_followers"] == 1


async def _until_refused(who: Client, path: str, most: int) -> int:
    """How many answers of 200 came before the first 429 (asking at most `most` times)."""
    for done in range(most):
        response = await who.get(path)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            return done
        assert response.status_code == 200, response.text
    raise AssertionError(f"{path}: never refused in {most} requests")


async def test_reading_figures_is_rate_limited_per_user(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Watched closely"))["id"]
    # A burst of 30 (then one a second), and of 10 for a period (then one per 5 s).
    assert 30 <= await _until_refused(host, f"/api/spaces/{sid}/analytics", 100) < 100
    assert 10 <= await _until_refused(host, "/api/me/analytics", 40) < 40
    # Another user's bucket is their own.
    other = await server.signup("other")
    assert (await other.get("/api/me/analytics")).status_code == 200
