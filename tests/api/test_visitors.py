"""Visitors (people without an account): what a space's link shows them, listening to public
live spaces over HLS, the read-only room socket (the public room only, counted as a listener,
closed when the space ends), what they may not do, the instance setting and the host's choice,
rate limits and caps, and the count of a node that stopped renewing it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from parley.actions import visitors as visitor_actions
from support import Client, RoomSocket, Running, apply_change, comparable

pytestmark = pytest.mark.integration

SOON = (datetime.now(UTC) + timedelta(hours=2)).isoformat()


class Visitor:
    """Someone without an account: no cookie, no token."""

    def __init__(self, running: Running) -> None:
        self.running = running

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.running.base_url, timeout=10) as http:
            return await http.request(method, path, **kwargs)

    async def get(self, path: str) -> httpx.Response:
        return await self.request("GET", path)

    async def socket(self, space_id: int) -> RoomSocket:
        url = f"{self.running.ws_url}/api/spaces/{space_id}/ws"
        return RoomSocket(await websockets.connect(url))


async def _room(server: Running, **body: Any) -> tuple[Client, Client, Client, int]:
    """A live space: its host, alice (who asks to speak) and bob (a listener), joined."""
    host = await server.signup("host", "Hostess")
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    sid = (await host.create_space("Open doors", topics=["radio"], **body))["id"]
    await alice.join(sid)
    await bob.join(sid)
    return host, alice, bob, sid


def _needs_account(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "not_authenticated"
    assert "needs an account" in response.json()["message"]


async def _presence(socket: RoomSocket, count: int) -> dict[str, Any]:
    return await socket.until(lambda m: m["type"] == "presence" and m["listener_count"] == count)


async def test_a_visitor_reads_what_the_link_shows(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    await alice.ok("POST", f"/api/spaces/{sid}/me/request")
    await bob.ok("POST", f"/api/spaces/{sid}/me/request")
    await host.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/approve")
    response = await Visitor(server).get(f"/api/spaces/{sid}")
    assert response.status_code == 200
    found = response.json()
    assert set(found) == {
        "space",
        "me",
        "stage",
        "replay_published",
        "open_to_visitors",
        # The viewer's own: nothing for a visitor.
        "reminded",
        "reminders",
        "reposted",
    }
    assert found["me"] is None and found["replay_published"] is False
    assert (found["reminded"], found["reminders"], found["reposted"]) == (False, None, False)
    assert found["open_to_visitors"] is True
    space = found["space"]
    assert space["title"] == "Open doors" and space["topics"] == ["radio"]
    assert space["state"] == "live" and space["host"]["handle"] == "host"
    assert space["accounts_required"] is False and "listener_count" in space
    # The stage only: alice's request is hers and the host's, not the link's.
    assert [(m["user"]["handle"], m["role"], m["muted"]) for m in found["stage"]] == [
        ("host", "host", True),
        ("bob", "speaker", True),
    ]
    assert all(m["stage_request"] == "none" for m in found["stage"])
    assert "alice" not in response.text
    missing = await Visitor(server).get("/api/spaces/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_what_a_visitor_may_and_may_not_do(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    await host.ok("POST", f"/api/spaces/{sid}/pins", {"text": "hello"}, 201)
    visitor = Visitor(server)
    allowed = [("GET", f"/api/spaces/{sid}"), ("GET", f"/api/spaces/{sid}/listen")]
    for method, path in allowed:
        assert (await visitor.request(method, path)).status_code == 200, path
    sdp = {"content": b"v=0\r\n", "headers": {"Content-Type": "application/sdp"}}
    refused: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/api/spaces/{sid}/join", {}),
        ("POST", f"/api/spaces/{sid}/reactions", {"json": {"emoji": "👋"}}),
        ("POST", f"/api/spaces/{sid}/me/request", {}),
        ("POST", f"/api/spaces/{sid}/me/unmute", {}),
        ("POST", f"/api/spaces/{sid}/members/{alice.id}/approve", {}),
        ("POST", f"/api/spaces/{sid}/members/{bob.id}/remove", {}),
        ("POST", f"/api/spaces/{sid}/pins", {"json": {"text": "mine"}}),
        ("DELETE", f"/api/spaces/{sid}/pins/1", {}),
        ("POST", f"/api/spaces/{sid}/clips", {"json": {"duration_s": 5}}),
        ("POST", f"/api/spaces/{sid}/whip", sdp),
        ("POST", f"/api/spaces/{sid}/whep", sdp),
        ("PATCH", f"/api/spaces/{sid}", {"json": {"accounts_required": True}}),
        ("POST", f"/api/spaces/{sid}/end", {}),
        ("GET", f"/api/spaces/{sid}/listeners", {}),
        ("GET", f"/api/spaces/{sid}/recording", {}),
    ]
    for method, path, kwargs in refused:
        response = await visitor.request(method, path, **kwargs)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"] == "not_authenticated"
    # Nothing of that reached the room.
    room = await host.ok("GET", f"/api/spaces/{sid}")
    assert room["space"]["state"] == "live" and len(room["stage"]) == 1
    # And the room's socket is read-only for them, but open.
    socket = await visitor.socket(sid)
    snapshot = await socket.until_type("snapshot")
    assert snapshot["me"] is None and [p["text"] for p in snapshot["pins"]] == ["hello"]
    await socket.close()


async def test_a_visitor_listens_to_a_live_space_over_hls(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    visitor = Visitor(server)
    answer = (await visitor.get(f"/api/spaces/{sid}/listen")).json()
    assert answer["webrtc"] is False  # visitors listen over HLS only
    assert f"/hls/{sid}/live/" in answer["hls_url"]
    expires = datetime.fromisoformat(answer["hls_expires_at"])
    ttl_s = server.app.state.services.settings.hls_live_url_ttl_s  # live links are short
    expected = datetime.now(UTC) + timedelta(seconds=ttl_s)
    assert abs((expires - expected).total_seconds()) < 5
    # The same kind of signed link members get: it plays.
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for _ in range(100):
            playlist = await http.get(answer["hls_url"])
            if playlist.status_code == 200 and "#EXTINF" in playlist.text:
                break
            await asyncio.sleep(0.1)
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    assert (await visitor.get("/api/spaces/999999/listen")).status_code == 404


async def test_a_visitor_may_not_listen_to_a_space_not_live(server: Running) -> None:
    host = await server.signup("host")
    visitor = Visitor(server)
    scheduled = (await host.create_space("Later", scheduled_for=SOON))["id"]
    canceled = (await host.create_space("Never", scheduled_for=SOON))["id"]
    await host.ok("POST", f"/api/spaces/{canceled}/cancel")
    ended = (await host.create_space("Over"))["id"]
    await host.ok("POST", f"/api/spaces/{ended}/end")
    for space_id, state in ((scheduled, "scheduled"), (canceled, "canceled"), (ended, "ended")):
        response = await visitor.get(f"/api/spaces/{space_id}/listen")
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "invalid_state"
        assert response.json()["state"] == state
    # Nor open its room: a scheduled space's closes at once (4409), so visitors cannot swell its
    # listener count before it starts; a finished one's too (4410).
    assert await (await visitor.socket(scheduled)).closed_with() == 4409
    for space_id in (canceled, ended):
        assert await (await visitor.socket(space_id)).closed_with() == 4410
    assert await (await visitor.socket(999999)).closed_with() == 4404
    assert (await host.ok("GET", f"/api/spaces/{scheduled}"))["space"]["listener_count"] == 0
    # Once live, it opens.
    await host.ok("POST", f"/api/spaces/{scheduled}/start")
    socket = await visitor.socket(scheduled)
    assert (await socket.until_type("snapshot"))["space"]["state"] == "live"
    await socket.close()


async def test_the_host_may_ask_for_accounts(server: Running) -> None:
    host = await server.signup("host")
    member = await server.signup("member")
    visitor = Visitor(server)
    space = await host.create_space("Members only", accounts_required=True)
    sid = space["id"]
    assert space["accounts_required"] is True
    assert (await visitor.get(f"/api/spaces/{sid}")).json()["open_to_visitors"] is False
    _needs_account(await visitor.get(f"/api/spaces/{sid}/listen"))
    assert await (await visitor.socket(sid)).closed_with() == 4401
    await member.join(sid)
    assert (await member.get(f"/api/spaces/{sid}/listen")).status_code == 200

    # Only the host chooses.
    assert (await member.request("PATCH", f"/api/spaces/{sid}", json={})).status_code == 200
    refused = await member.request("PATCH", f"/api/spaces/{sid}", json={"accounts_required": False})
    assert refused.status_code == 403
    opened = await host.request("PATCH", f"/api/spaces/{sid}", json={"accounts_required": False})
    assert opened.status_code == 200 and opened.json()["space"]["accounts_required"] is False
    assert (await visitor.get(f"/api/spaces/{sid}/listen")).status_code == 200
    socket = await visitor.socket(sid)
    await socket.until_type("snapshot")
    # Turned on again while a visitor is in: they see why and are closed with 4401.
    await host.request("PATCH", f"/api/spaces/{sid}", json={"accounts_required": True})
    update = await socket.until_type("space_updated")
    assert update["space"]["accounts_required"] is True
    assert await socket.closed_with() == 4401
    _needs_account(await visitor.get(f"/api/spaces/{sid}/listen"))
    # A finished space's choice is kept as it was.
    await host.ok("POST", f"/api/spaces/{sid}/end")
    late = await host.request("PATCH", f"/api/spaces/{sid}", json={"accounts_required": False})
    assert late.status_code == 409 and late.json()["state"] == "ended"


@pytest.mark.parley_settings(visitors_can_listen=False)
async def test_an_instance_may_keep_visitors_out(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    visitor = Visitor(server)
    found = await visitor.get(f"/api/spaces/{sid}")
    assert found.status_code == 200 and found.json()["open_to_visitors"] is False
    _needs_account(await visitor.get(f"/api/spaces/{sid}/listen"))
    assert await (await visitor.socket(sid)).closed_with() == 4401
    assert (await alice.get(f"/api/spaces/{sid}/listen")).status_code == 200


async def test_visitors_count_as_listeners_while_their_socket_is_open(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    observer = await host.socket(sid)
    assert (await observer.until_type("snapshot"))["listener_count"] == 0
    visitor = Visitor(server)
    first, second = await visitor.socket(sid), await visitor.socket(sid)
    for socket in (first, second):
        await socket.until_type("snapshot")
    await _presence(observer, 2)
    assert (await alice.ok("GET", f"/api/spaces/{sid}"))["space"]["listener_count"] == 2
    member = await alice.socket(sid)
    await _presence(observer, 3)
    # Visitors are counted, never listed.
    listed = await host.ok("GET", f"/api/spaces/{sid}/listeners")
    assert [m["user"]["id"] for m in listed["listeners"]] == [alice.id] and listed["total"] == 1
    await first.close()
    await _presence(observer, 2)
    await second.close()
    await member.close()
    await _presence(observer, 0)
    discovered = await alice.ok("GET", "/api/spaces?state=live")
    assert next(s for s in discovered["spaces"] if s["id"] == sid)["listener_count"] == 0
    await observer.close()


def _apply(room: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    if message["type"] == "hidden":
        assert message["seq"] == room["seq"] + 1
        return {**room, "seq": message["seq"]}
    return apply_change(room, message)


async def test_the_visitor_socket_carries_the_public_room_only(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    visitor = Visitor(server)
    socket = await visitor.socket(sid)
    room = await socket.until_type("snapshot")
    assert room["me"] is None and [m["user"]["id"] for m in room["members"]] == [host.id]
    steps = [
        ("POST", alice, f"/api/spaces/{sid}/me/request", None),  # hidden
        ("POST", host, f"/api/spaces/{sid}/members/{bob.id}/invite", None),  # hidden
        ("POST", bob, f"/api/spaces/{sid}/me/decline", None),  # hidden
        ("POST", host, f"/api/spaces/{sid}/members/{alice.id}/approve", None),  # shown
        ("POST", host, f"/api/spaces/{sid}/pins", {"text": "welcome"}),
        ("POST", host, f"/api/spaces/{sid}/members/{alice.id}/move-down", None),  # shown
        ("POST", alice, f"/api/spaces/{sid}/me/request", None),  # hidden again
    ]
    for method, actor, path, body in steps:
        response = await actor.request(method, path, json=body)
        assert response.status_code in (200, 201), (path, response.text)
    changes = []
    while len(changes) < len(steps):
        message = await socket.until(lambda m: m.get("seq") is not None)
        changes.append(message)
        room = _apply(room, message)
    assert [m["type"] for m in changes] == [
        "hidden",
        "hidden",
        "hidden",
        "member_updated",
        "pin_added",
        "member_updated",
        "hidden",
    ]
    assert changes[3]["member"]["role"] == "speaker"
    assert changes[5]["member"]["role"] == "listener"
    assert changes[5]["member"]["stage_request"] == "none"
    # Nothing names bob (a listener all along), and nothing shows a request.
    received = json.dumps(socket.received)
    assert '"bob"' not in received and '"requested"' not in received and '"invited"' not in received
    # The visitor's room equals a fresh visitor snapshot.
    fresh_socket = await visitor.socket(sid)
    fresh = await fresh_socket.until_type("snapshot")
    assert comparable(room) == comparable(fresh)
    await fresh_socket.close()

    # Reactions: a listener's count, but only the stage by name.
    await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/approve")
    await alice.ok("POST", f"/api/spaces/{sid}/reactions", {"emoji": "🔥"}, 202)
    await bob.ok("POST", f"/api/spaces/{sid}/reactions", {"emoji": "👋"}, 202)
    seen: dict[str, int] = {}
    by: list[dict[str, Any]] = []
    while seen != {"🔥": 1, "👋": 1}:
        reactions = await socket.until_type("reactions")
        for emoji, count in reactions["counts"].items():
            seen[emoji] = seen.get(emoji, 0) + count
        by += reactions["by"]
    assert by == [{"user_id": alice.id, "emoji": "🔥"}]
    await socket.close()


async def test_the_visitor_socket_closes_when_the_space_ends(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    observer = await host.socket(sid)
    await observer.until_type("snapshot")
    socket = await Visitor(server).socket(sid)
    await socket.until_type("snapshot")
    await _presence(observer, 1)
    await host.ok("POST", f"/api/spaces/{sid}/end")
    ended = await socket.until_type("space_updated")
    assert ended["space"]["state"] == "ended"
    assert await socket.closed_with() == 4410
    await _presence(observer, 0)
    await observer.close()


async def test_a_visitor_socket_that_sends_too_much_is_closed(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    socket = await Visitor(server).socket(sid)
    await socket.until_type("snapshot")
    for _ in range(30):
        await socket.connection.send(json.dumps({"type": "pong"}))
    assert await socket.closed_with() == 4429


@pytest.mark.parley_settings(visitor_burst=3, visitor_rate_per_s=0.01)
async def test_visitors_are_rate_limited_per_address(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    visitor = Visitor(server)
    for _ in range(3):
        assert (await visitor.get(f"/api/spaces/{sid}/listen")).status_code == 200
    limited = await visitor.get(f"/api/spaces/{sid}/listen")
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    # Socket opens draw from the same bucket.
    assert await (await visitor.socket(sid)).closed_with() == 4429
    # Reading the space is not limited, nor are members.
    assert (await visitor.get(f"/api/spaces/{sid}")).status_code == 200
    for _ in range(5):
        assert (await alice.get(f"/api/spaces/{sid}/listen")).status_code == 200


# One host, two live spaces.
@pytest.mark.parley_settings(
    visitor_sockets_per_address=3, visitors_per_space=2, max_live_spaces_per_host=0
)
async def test_visitor_sockets_are_capped_per_space_and_per_address(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    other = (await host.create_space("Another"))["id"]
    visitor = Visitor(server)
    open_ = [await visitor.socket(sid), await visitor.socket(sid)]
    for socket in open_:
        await socket.until_type("snapshot")
    assert await (await visitor.socket(sid)).closed_with() == 4503  # the space is full
    elsewhere = await visitor.socket(other)
    await elsewhere.until_type("snapshot")
    assert await (await visitor.socket(other)).closed_with() == 4429  # the address is
    # Members still come in.
    member = await alice.socket(sid)
    await member.until_type("snapshot")
    await open_[0].close()
    again = None
    for _ in range(50):  # the server sees the close a moment later
        again = await visitor.socket(sid)
        first = await again.next()
        if first["type"] == "snapshot":
            break
        await asyncio.sleep(0.05)
    assert again is not None and again.received[-1]["type"] == "snapshot"
    for socket in (open_[1], elsewhere, member, again):
        await socket.close()


def _elsewhere(address: str) -> dict[str, str]:
    """Headers of a visitor at another address (the test server trusts X-Forwarded-For from
    127.0.0.1, as uvicorn does by default)."""
    return {"X-Forwarded-For": address}


def _full(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "capacity"
    assert response.json()["message"] == "this space is full for visitors: sign in to listen"


@pytest.mark.parley_settings(visitors_per_space=2, visitor_burst=1000)
async def test_a_full_space_gives_no_listen_answer_to_more_visitors(server: Running) -> None:
    host, alice, bob, sid = await _room(server)
    services = server.app.state.services
    visitor = Visitor(server)
    listen = f"/api/spaces/{sid}/listen"
    outsider = _elsewhere("203.0.113.7")
    assert (await visitor.request("GET", listen, headers=outsider)).status_code == 200
    open_ = [await visitor.socket(sid), await visitor.socket(sid)]
    for socket in open_:
        await socket.until_type("snapshot")
    # Full: the HLS link is not a way around the cap.
    _full(await visitor.request("GET", listen, headers=outsider))
    # Those counted listen (the one let in last too), and members are not capped.
    assert (await visitor.get(listen)).status_code == 200
    assert (await alice.get(listen)).status_code == 200
    await open_[0].close()
    await open_[1].close()
    for _ in range(50):  # the server sees the closes a moment later
        answer = await visitor.request("GET", listen, headers=outsider)
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert answer.status_code == 200, answer.text
    # The other nodes' visitors count against the cap too.
    await server.on_server(visitor_actions.count(services, "other:8000", {sid: 2}))
    _full(await visitor.get(listen))
    _full(await visitor.request("GET", listen, headers=outsider))
    assert (await bob.get(listen)).status_code == 200
    await server.on_server(visitor_actions.count(services, "other:8000", {sid: 0}))


async def test_a_silent_nodes_visitors_drop_out_of_the_count(server: Running) -> None:
    """Each node's count is a row under a lease: a node that crashed stops renewing it, and
    every node drops it once the lease has run out."""
    host, alice, bob, sid = await _room(server)
    services = server.app.state.services
    runtime = server.app.state.room
    observer = await host.socket(sid)
    await observer.until_type("snapshot")
    await server.on_server(visitor_actions.count(services, "crashed:8000", {sid: 3}))
    runtime.presence_changed(sid)
    await _presence(observer, 3)
    server.clock.advance(seconds=services.settings.visitor_lease_s - 5)
    await server.on_server(runtime.visitors.renew())
    assert (await host.ok("GET", f"/api/spaces/{sid}"))["space"]["listener_count"] == 3
    server.clock.advance(seconds=10)
    await server.on_server(runtime.visitors.renew())
    await _presence(observer, 0)
    assert (await host.ok("GET", f"/api/spaces/{sid}"))["space"]["listener_count"] == 0
    # This node's own visitors are renewed, not dropped; and at its start it forgets them.
    socket = await Visitor(server).socket(sid)
    await socket.until_type("snapshot")
    await _presence(observer, 1)
    server.clock.advance(seconds=services.settings.visitor_lease_s * 2)
    await server.on_server(runtime.visitors.renew())
    assert (await host.ok("GET", f"/api/spaces/{sid}"))["space"]["listener_count"] == 1
    assert await server.on_server(visitor_actions.forget(services, runtime.visitors.node)) == [sid]
    await socket.close()
    await observer.close()
