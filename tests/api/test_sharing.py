"""Reposts (issue 13): "share to my followers" puts a space on their home with who shared it, and
tells its host; blocks, states, roles and the rate limit hold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from parley.domain import sharing as rules
from support import Client, Running

pytestmark = pytest.mark.integration


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _repost(client: Client, space_id: int, status: int = 204) -> httpx.Response:
    response = await client.request("PUT", f"/api/spaces/{space_id}/repost")
    assert response.status_code == status, response.text
    return response


async def _home(client: Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.ok("GET", "/api/home/shared"))["items"]
    return items


def _shared(items: list[dict[str, Any]]) -> list[tuple[str, list[str], int]]:
    """Each item as (title, handles of who shared it, shared_count)."""
    return [
        (i["space"]["title"], [u["handle"] for u in i["shared_by"]], i["shared_count"])
        for i in items
    ]


async def _told(client: Client, want: int, timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """The user's `shared` notifications once there are `want` (or the time is up)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        bell = await client.ok("GET", "/api/notifications")
        found = [n for n in bell["notifications"] if n["kind"] == "shared"]
        if len(found) >= want or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_a_repost_shows_on_followers_home_with_who_shared_it(server: Running) -> None:
    host = await server.signup("host", "Hanna Host")
    ann = await server.signup("ann", "Ann")
    bob = await server.signup("bob", "Bob")
    cat = await server.signup("cat")
    dan = await server.signup("dan")
    for followee in (ann, bob):
        await cat.ok("PUT", f"/api/users/{followee.handle}/follow", status=204)
    upcoming = await host.create_space("Upcoming ünïcødé 🎙️", scheduled_for=_in(1))
    live = await host.create_space("Live now")
    await _repost(ann, upcoming["id"])
    await _repost(bob, upcoming["id"])
    await _repost(bob, live["id"])
    # The latest shared first; who shared it, the newest first.
    assert _shared(await _home(cat)) == [
        ("Live now", ["bob"], 1),
        ("Upcoming ünïcødé 🎙️", ["bob", "ann"], 2),
    ]
    item = (await _home(cat))[0]
    assert item["space"]["id"] == live["id"] and item["space"]["state"] == "live"
    assert item["space"]["host"]["handle"] == "host"
    assert item["shared_by"][0] == {
        "id": bob.id,
        "handle": "bob",
        "display_name": "Bob",
        "avatar_url": None,
    }
    # Nobody dan follows shared anything; the sharers follow no one.
    assert await _home(dan) == [] and await _home(ann) == []
    # The host is told, once per sharer and space.
    told = await _told(host, 3)
    assert sorted((n["text"], n["link"], n["actor"]["handle"]) for n in told) == [
        ("Ann shared “Upcoming ünïcødé 🎙️”", f"/s/{upcoming['id']}", "ann"),
        ("Bob shared “Live now”", f"/s/{live['id']}", "bob"),
        ("Bob shared “Upcoming ünïcødé 🎙️”", f"/s/{upcoming['id']}", "bob"),
    ]
    assert {n["space_id"] for n in told} == {upcoming["id"], live["id"]}


async def test_sharing_again_changes_nothing_and_undoing_takes_it_off(server: Running) -> None:
    host = await server.signup("host")
    ann = await server.signup("ann")
    cat = await server.signup("cat")
    await cat.ok("PUT", "/api/users/ann/follow", status=204)
    space = await host.create_space("Twice")
    sid = space["id"]
    assert await ann.ok("GET", f"/api/spaces/{sid}/repost") == {"reposted": False}
    await _repost(ann, sid)
    await _repost(ann, sid)
    assert await ann.ok("GET", f"/api/spaces/{sid}/repost") == {"reposted": True}
    # The space as the viewer reads it says so too; to others (and visitors) it does not.
    assert (await ann.ok("GET", f"/api/spaces/{sid}"))["reposted"] is True
    assert (await cat.ok("GET", f"/api/spaces/{sid}"))["reposted"] is False
    async with httpx.AsyncClient(base_url=server.base_url) as visitor:
        assert (await visitor.get(f"/api/spaces/{sid}")).json()["reposted"] is False
    assert _shared(await _home(cat)) == [("Twice", ["ann"], 1)]
    await ann.ok("DELETE", f"/api/spaces/{sid}/repost", status=204)
    await ann.ok("DELETE", f"/api/spaces/{sid}/repost", status=204)
    assert await ann.ok("GET", f"/api/spaces/{sid}/repost") == {"reposted": False}
    assert await _home(cat) == []
    assert (await ann.ok("GET", f"/api/spaces/{sid}"))["reposted"] is False
    # Shared again after undoing: the host was told of it once.
    await _repost(ann, sid)
    assert len(await _told(host, 2, timeout_s=1.0)) == 1


async def test_a_host_may_share_their_own_space_and_is_not_told(server: Running) -> None:
    host = await server.signup("host")
    fan = await server.signup("fan")
    await fan.ok("PUT", "/api/users/host/follow", status=204)
    space = await host.create_space("Mine", scheduled_for=_in(2))
    await _repost(host, space["id"])
    assert _shared(await _home(fan)) == [("Mine", ["host"], 1)]
    assert await _told(host, 1, timeout_s=0.5) == []


async def test_the_home_leaves_out_blocked_hosts_and_finished_spaces(server: Running) -> None:
    host = await server.signup("host")
    other = await server.signup("other")
    ann = await server.signup("ann")
    cat = await server.signup("cat")
    await cat.ok("PUT", "/api/users/ann/follow", status=204)
    blocked_host = await other.create_space("Other's", scheduled_for=_in(1))
    ending = await host.create_space("Ending")
    canceled = await host.create_space("Canceled", scheduled_for=_in(3))
    for space in (blocked_host, ending, canceled):
        await _repost(ann, space["id"])
    assert [t for t, _, _ in _shared(await _home(cat))] == ["Canceled", "Ending", "Other's"]
    await cat.ok("PUT", "/api/users/other/block", status=204)
    await host.ok("POST", f"/api/spaces/{ending['id']}/end")
    await host.ok("POST", f"/api/spaces/{canceled['id']}/cancel")
    assert await _home(cat) == []
    # Blocked the other way round: the same.
    await cat.ok("DELETE", "/api/users/other/block", status=204)
    assert [t for t, _, _ in _shared(await _home(cat))] == ["Other's"]
    await other.ok("PUT", "/api/users/cat/block", status=204)
    assert await _home(cat) == []


async def test_at_most_three_sharers_are_named_and_the_home_is_capped(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = await server.signup("host")
    cat = await server.signup("cat")
    sharers = [await server.signup(f"sharer{i}") for i in range(4)]
    for sharer in sharers:
        await cat.ok("PUT", f"/api/users/{sharer.handle}/follow", status=204)
    spaces = [await host.create_space(f"S{i}", scheduled_for=_in(1 + i)) for i in range(3)]
    for sharer in sharers:
        await _repost(sharer, spaces[0]["id"])
    await _repost(sharers[0], spaces[1]["id"])
    await _repost(sharers[1], spaces[2]["id"])
    assert _shared(await _home(cat)) == [
        ("S2", ["sharer1"], 1),
        ("S1", ["sharer0"], 1),
        ("S0", ["sharer3", "sharer2", "sharer1"], 4),
    ]
    # The server runs in this process: a smaller cap shows it applies.
    monkeypatch.setattr(rules, "HOME_SHARED_MAX", 2)
    assert [t for t, _, _ in _shared(await _home(cat))] == ["S2", "S1"]


async def test_who_may_share(server: Running) -> None:
    """Role x action: anyone signed in who is not blocked, whatever their role in the space."""
    host = await server.signup("host")
    cohost = await server.signup("cohost")
    speaker = await server.signup("speaker")
    listener = await server.signup("listener")
    stranger = await server.signup("stranger")
    blocked = await server.signup("blocked")
    blocker = await server.signup("blocker")
    space = await host.create_space("Roles")
    sid = space["id"]
    for member in (cohost, speaker, listener):
        await member.join(sid)
    for member in (cohost, speaker):
        await member.ok("POST", f"/api/spaces/{sid}/me/request")
        await host.ok("POST", f"/api/spaces/{sid}/members/{member.id}/approve")
    await host.ok("POST", f"/api/spaces/{sid}/members/{cohost.id}/make-cohost")
    await host.ok("PUT", "/api/users/blocked/block", status=204)
    await blocker.ok("PUT", "/api/users/host/block", status=204)
    for client in (host, cohost, speaker, listener, stranger):
        await _repost(client, sid)
    for client in (blocked, blocker):
        refused = await _repost(client, sid, status=403)
        assert refused.json()["error"] == "blocked"
    async with httpx.AsyncClient(base_url=server.base_url) as visitor:
        assert (await visitor.put(f"/api/spaces/{sid}/repost")).status_code == 401
        assert (await visitor.get("/api/home/shared")).status_code == 401
    # Told of the four others (not of their own repost).
    told = await _told(host, 4)
    assert sorted(n["actor"]["handle"] for n in told) == [
        "cohost",
        "listener",
        "speaker",
        "stranger",
    ]


async def test_only_upcoming_and_live_spaces_are_shared(server: Running) -> None:
    host = await server.signup("host")
    ann = await server.signup("ann")
    ended = await host.create_space("Ended")
    await host.ok("POST", f"/api/spaces/{ended['id']}/end")
    canceled = await host.create_space("Canceled", scheduled_for=_in(1))
    await host.ok("POST", f"/api/spaces/{canceled['id']}/cancel")
    for space, state in ((ended, "ended"), (canceled, "canceled")):
        refused = await _repost(ann, space["id"], status=409)
        assert refused.json()["error"] == "invalid_state"
        assert refused.json()["state"] == state
    missing = await _repost(ann, 999_999, status=404)
    assert missing.json()["error"] == "not_found"
    assert (await ann.request("DELETE", "/api/spaces/999999/repost")).status_code == 404
    for path in ("/api/spaces/0/repost", "/api/spaces/x/repost", "/api/spaces/2147483648/repost"):
        assert (await ann.request("PUT", path)).status_code == 422, path
    # Nothing was written: the host was told nothing.
    assert await _told(host, 1, timeout_s=0.5) == []


async def test_reposts_are_rate_limited_per_user(server: Running) -> None:
    host = await server.signup("host")
    ann = await server.signup("ann")
    bob = await server.signup("bob")
    sid = (await host.create_space("Busy"))["id"]
    statuses = []
    for i in range(30):
        response = await ann.request("PUT" if i % 2 == 0 else "DELETE", f"/api/spaces/{sid}/repost")
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert float(response.headers["retry-after"]) > 0
            assert response.json()["error"] == "rate_limited"
            break
    assert statuses[:20] == [204] * 20 and statuses[-1] == 429
    # Another user's bucket is their own.
    await _repost(bob, sid)
