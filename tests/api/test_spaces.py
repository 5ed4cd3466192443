"""Spaces over the API: lifecycle, discovery, the stage, pins, reactions, and every refusal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support import Client, Running

pytestmark = pytest.mark.integration


async def _room(server: Running, *handles: str) -> tuple[Client, list[Client], dict[str, Any]]:
    """A live space hosted by the first user, joined by the others."""
    host = await server.signup("host")
    space = await host.create_space("Launch day", topics=["tech", "music"])
    others = []
    for handle in handles:
        member = await server.signup(handle)
        await member.join(space["id"])
        others.append(member)
    return host, others, space


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["message"]
    return body


async def test_create_live_space(server: Running) -> None:
    host = await server.signup("host")
    space = await host.create_space("  Launch day ", topics=["tech"], speaker_policy="followed")
    assert space["title"] == "Launch day"
    assert space["state"] == "live" and space["started_at"] is not None
    assert space["speaker_policy"] == "followed"
    assert space["host"]["handle"] == "host" and space["stage_count"] == 1
    got = await host.ok("GET", f"/api/spaces/{space['id']}")
    assert got["me"]["role"] == "host" and got["me"]["muted"] is True


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"title": ""}, "title", "min_length"),
        ({"title": "x" * 71}, "title", "max_length"),
        ({}, "title", "required"),
        ({"title": 7}, "title", "type"),
        ({"title": "t", "topics": ["a", "b", "c", "d"]}, "topics", "max_items"),
        ({"title": "t", "topics": ["a", "A"]}, "topics", "unique"),
        ({"title": "t", "topics": ["x" * 25]}, "topics", "max_length"),
        ({"title": "t", "topics": "tech"}, "topics", "type"),
        ({"title": "t", "speaker_policy": "anyone"}, "speaker_policy", "one_of"),
        ({"title": "t", "scheduled_for": "tomorrow"}, "scheduled_for", "datetime"),
        ({"title": "t", "scheduled_for": "2020-01-01T00:00:00Z"}, "scheduled_for", "future"),
        ({"title": "t", "scheduled_for": "2030-01-01T00:00:00"}, "scheduled_for", "timezone"),
        ({"title": "t", "color": "red"}, "color", "unknown_field"),
    ],
)
async def test_create_space_validation(
    server: Running, body: dict[str, Any], field: str, rule: str
) -> None:
    host = await server.signup("host")
    body_out = _error(await host.post("/api/spaces", json=body), 422, "validation_failed")
    assert (body_out["field"], body_out["rule"]) == (field, rule)
    # Nothing half-written: no space exists.
    assert (await host.ok("GET", "/api/spaces?state=live"))["spaces"] == []
    assert (await host.ok("GET", "/api/spaces?state=scheduled"))["spaces"] == []


async def test_schedule_start_cancel(server: Running) -> None:
    host = await server.signup("host")
    guest = await server.signup("guest")
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    scheduled = await host.create_space("Later", scheduled_for=later)
    assert scheduled["state"] == "scheduled" and scheduled["started_at"] is None
    sid = scheduled["id"]
    upcoming = await guest.ok("GET", "/api/spaces?state=scheduled")
    assert [s["id"] for s in upcoming["spaces"]] == [sid]
    # A listener can wait in a scheduled space but not ask to speak yet.
    await guest.join(sid)
    body = _error(await guest.me(sid, "request"), 409, "invalid_state")
    assert body["state"] == "scheduled"
    _error(await guest.post(f"/api/spaces/{sid}/start"), 403, "forbidden")
    _error(await host.post(f"/api/spaces/{sid}/end"), 409, "invalid_state")
    started = await host.ok("POST", f"/api/spaces/{sid}/start")
    assert started["space"]["state"] == "live"
    body = _error(await host.post(f"/api/spaces/{sid}/cancel"), 409, "invalid_state")
    assert body["state"] == "live"
    ended = await host.ok("POST", f"/api/spaces/{sid}/end")
    assert ended["space"]["state"] == "ended" and ended["space"]["ended_at"]
    body = _error(await host.post(f"/api/spaces/{sid}/end"), 409, "invalid_state")
    assert body["state"] == "ended"
    other = await host.create_space("Other", scheduled_for=later)
    canceled = await host.ok("POST", f"/api/spaces/{other['id']}/cancel")
    assert canceled["space"]["state"] == "canceled"
    _error(await guest.post(f"/api/spaces/{other['id']}/join"), 409, "invalid_state")


async def test_discovery_puts_followed_hosts_first_and_hides_blockers(server: Running) -> None:
    viewer = await server.signup("viewer")
    hosts = [await server.signup(h) for h in ("first", "second", "third")]
    ids = {}
    for host in hosts:
        ids[host.handle] = (await host.create_space(f"by {host.handle}"))["id"]
    await viewer.ok("PUT", "/api/users/first/follow", status=204)
    await hosts[2].ok("PUT", "/api/users/viewer/block", status=204)
    live = [s["id"] for s in (await viewer.ok("GET", "/api/spaces?state=live"))["spaces"]]
    assert live[0] == ids["first"]
    assert set(live) == {ids["first"], ids["second"]}
    bad = _error(await viewer.get("/api/spaces?state=sideways"), 422, "validation_failed")
    assert bad["field"] == "state"


@pytest.mark.parley_settings(min_followers_to_host=2)
async def test_hosting_needs_the_follower_minimum(server: Running) -> None:
    host = await server.signup("host")
    body = _error(await host.post("/api/spaces", json={"title": "t"}), 403, "forbidden")
    assert "2 followers" in body["message"]
    for fan in ("fan1", "fan2"):
        await (await server.signup(fan)).ok("PUT", "/api/users/host/follow", status=204)
    await host.create_space("Now I can")


async def test_stage_flow(server: Running) -> None:
    host, (alice, bob, carol), space = await _room(server, "alice", "bob", "carol")
    sid = space["id"]
    member = (await alice.ok("POST", f"/api/spaces/{sid}/me/request"))["member"]
    assert member["stage_request"] == "requested"
    # A speaker cannot approve; the host can.
    _error(await bob.on(sid, alice, "approve"), 403, "forbidden")
    member = (await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/approve"))["member"]
    assert (member["role"], member["muted"]) == ("speaker", True)
    # Self mute, unmute (once her audio reaches the server); moderators mute; nobody unmutes
    # someone else.
    refused = await alice.me(sid, "unmute")
    assert refused.status_code == 409 and refused.json()["state"] == "mic_off"
    assert (await alice.unmute(sid))["muted"] is False
    assert (await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/mute"))["member"]["muted"]
    _error(await host.on(sid, alice, "unmute"), 403, "forbidden")
    # Co-hosts: only the host appoints them; they can moderate but not end the space.
    await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/make-cohost")
    _error(await alice.on(sid, bob, "make-cohost"), 403, "forbidden")
    _error(await alice.post(f"/api/spaces/{sid}/end"), 403, "forbidden")
    await bob.ok("POST", f"/api/spaces/{sid}/me/request")
    await alice.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/deny")
    invited = (await alice.ok("POST", f"/api/spaces/{sid}/members/{carol.id}/invite"))["member"]
    assert invited["stage_request"] == "invited"
    assert (await carol.ok("POST", f"/api/spaces/{sid}/me/accept"))["member"]["role"] == "speaker"
    _error(await alice.on(sid, host, "move-down"), 403, "forbidden")
    down = (await alice.ok("POST", f"/api/spaces/{sid}/members/{carol.id}/move-down"))["member"]
    assert down["role"] == "listener"
    assert (await alice.ok("POST", f"/api/spaces/{sid}/me/leave-stage"))["member"]["role"] == (
        "listener"
    )
    _error(await host.me(sid, "leave-stage"), 403, "forbidden")
    body = _error(await bob.me(sid, "withdraw"), 409, "invalid_state")
    assert body["state"] == "none"
    _error(await bob.post(f"/api/spaces/{sid}/me/dance"), 422, "validation_failed")
    _error(await host.on(sid, bob, "tickle"), 422, "validation_failed")


@pytest.mark.parley_settings(max_live_spaces_per_host=0)  # one host, several live spaces
async def test_who_may_speak_is_enforced(server: Running) -> None:
    host = await server.signup("host")
    fan = await server.signup("fan")
    stranger = await server.signup("stranger")
    await host.ok("PUT", "/api/users/fan/follow", status=204)
    followed = await host.create_space("Friends only", speaker_policy="followed")
    invited = await host.create_space("Panel", speaker_policy="invited")
    for space in (followed, invited):
        await fan.join(space["id"])
        await stranger.join(space["id"])
    await fan.ok("POST", f"/api/spaces/{followed['id']}/me/request")
    _error(await stranger.me(followed["id"], "request"), 403, "forbidden")
    _error(await fan.me(invited["id"], "request"), 403, "forbidden")
    await host.ok("POST", f"/api/spaces/{invited['id']}/members/{stranger.id}/invite")
    await stranger.ok("POST", f"/api/spaces/{invited['id']}/me/accept")


async def test_the_stage_is_full_at_thirteen(server: Running) -> None:
    handles = [f"user{i}" for i in range(13)]
    host, members, space = await _room(server, *handles)
    sid = space["id"]
    for member in members[:12]:
        await member.ok("POST", f"/api/spaces/{sid}/me/request")
        await host.ok("POST", f"/api/spaces/{sid}/members/{member.id}/approve")
    last = members[12]
    await last.ok("POST", f"/api/spaces/{sid}/me/request")
    body = _error(await host.on(sid, last, "approve"), 409, "conflict")
    assert body["rule"] == "stage_full"
    got = await host.ok("GET", f"/api/spaces/{sid}")
    assert got["space"]["stage_count"] == 13


async def test_concurrent_approvals_never_overfill_the_stage(server: Running) -> None:
    handles = [f"user{i}" for i in range(14)]
    host, members, space = await _room(server, *handles)
    sid = space["id"]
    for member in members:
        await member.ok("POST", f"/api/spaces/{sid}/me/request")
    responses = await asyncio.gather(*(host.on(sid, m, "approve") for m in members))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 12 + [409] * 2
    assert (await host.ok("GET", f"/api/spaces/{sid}"))["space"]["stage_count"] == 13


async def test_at_most_two_cohosts(server: Running) -> None:
    host, (a, b, c), space = await _room(server, "alice", "bob", "carol")
    sid = space["id"]
    await host.ok("POST", f"/api/spaces/{sid}/members/{a.id}/make-cohost")
    await host.ok("POST", f"/api/spaces/{sid}/members/{b.id}/make-cohost")
    body = _error(await host.on(sid, c, "make-cohost"), 409, "conflict")
    assert body["rule"] == "cohosts_full"
    demoted = (await host.ok("POST", f"/api/spaces/{sid}/members/{a.id}/remove-cohost"))["member"]
    assert demoted["role"] == "speaker"
    await host.ok("POST", f"/api/spaces/{sid}/members/{c.id}/make-cohost")


async def test_removed_users_cannot_come_back(server: Running) -> None:
    host, (alice, bob), space = await _room(server, "alice", "bob")
    sid = space["id"]
    await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/make-cohost")
    _error(await alice.on(sid, host, "remove"), 403, "forbidden")
    await alice.ok("POST", f"/api/spaces/{sid}/members/{bob.id}/remove")
    _error(await bob.post(f"/api/spaces/{sid}/join"), 403, "removed")
    _error(await bob.me(sid, "request"), 403, "removed")
    _error(await host.on(sid, bob, "mute"), 404, "not_found")


@pytest.mark.parley_settings(max_live_spaces_per_host=0)  # one host, several live spaces
async def test_blocked_users_cannot_join_the_blockers_spaces(server: Running) -> None:
    host = await server.signup("host")
    troll = await server.signup("troll")
    space = await host.create_space("Mine")
    await troll.join(space["id"])
    await host.ok("PUT", "/api/users/troll/block", status=204)
    # Removed from the live space at once, and cannot join this or a later one.
    _error(await troll.me(space["id"], "request"), 403, "removed")
    later = await host.create_space("Later")
    _error(await troll.post(f"/api/spaces/{later['id']}/join"), 403, "blocked")


async def test_pins(server: Running) -> None:
    host, (alice,), space = await _room(server, "alice")
    sid = space["id"]
    link = (
        await host.ok(
            "POST", f"/api/spaces/{sid}/pins", {"text": "Docs", "url": "https://a.example/"}, 201
        )
    )["pin"]
    assert link["kind"] == "link"
    _error(await alice.post(f"/api/spaces/{sid}/pins", {"text": "me too"}), 403, "forbidden")
    for i in range(4):
        await host.ok("POST", f"/api/spaces/{sid}/pins", {"text": f"post {i}"}, 201)
    body = _error(await host.post(f"/api/spaces/{sid}/pins", {"text": "sixth"}), 409, "conflict")
    assert body["rule"] == "pins_full"
    bad = _error(
        await host.post(f"/api/spaces/{sid}/pins", {"text": "x", "url": "javascript:x"}),
        422,
        "validation_failed",
    )
    assert (bad["field"], bad["rule"]) == ("url", "scheme")
    await host.ok("DELETE", f"/api/spaces/{sid}/pins/{link['id']}", status=204)
    _error(await host.delete(f"/api/spaces/{sid}/pins/{link['id']}"), 404, "not_found")
    await host.ok("POST", f"/api/spaces/{sid}/pins", {"text": "fifth again"}, 201)


@pytest.mark.parley_settings(reaction_rate_per_s=0.05)
async def test_reactions_are_checked_and_rate_limited(server: Running) -> None:
    host, (alice,), space = await _room(server, "alice")
    sid = space["id"]
    bad = _error(
        await alice.post(f"/api/spaces/{sid}/reactions", {"emoji": "🍕"}), 422, "validation_failed"
    )
    assert (bad["field"], bad["rule"]) == ("emoji", "one_of")
    statuses = [
        (await alice.post(f"/api/spaces/{sid}/reactions", {"emoji": "💯"})).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [202] * 10
    assert statuses[10] == 429
    limited = await alice.post(f"/api/spaces/{sid}/reactions", {"emoji": "💯"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    outsider = await server.signup("outsider")
    _error(await outsider.post(f"/api/spaces/{sid}/reactions", {"emoji": "💯"}), 403, "forbidden")
    await host.ok("POST", f"/api/spaces/{sid}/end")
    _error(await host.post(f"/api/spaces/{sid}/reactions", {"emoji": "💯"}), 409, "invalid_state")


async def test_unknown_things_are_404_and_bad_ids_are_422(server: Running) -> None:
    host = await server.signup("host")
    _error(await host.get("/api/spaces/999"), 404, "not_found")
    _error(await host.post("/api/spaces/999/join"), 404, "not_found")
    bad = _error(await host.get("/api/spaces/abc"), 422, "validation_failed")
    assert bad["field"] == "space_id"
    _error(await host.get("/api/spaces/99999999999999999999"), 422, "validation_failed")
    _error(await host.get("/api/nowhere"), 404, "not_found")


async def test_listeners_list(server: Running) -> None:
    host, (alice, bob), space = await _room(server, "alice", "bob")
    sid = space["id"]
    sockets = [await alice.socket(sid), await bob.socket(sid)]
    for socket in sockets:
        await socket.until_type("snapshot")
    listed = await host.ok("GET", f"/api/spaces/{sid}/listeners?limit=1")
    assert listed["total"] == 2 and len(listed["listeners"]) == 1
    assert listed["listeners"][0]["user"]["handle"] == "alice"
    _error(await host.get(f"/api/spaces/{sid}/listeners?limit=0"), 422, "validation_failed")
    for socket in sockets:
        await socket.close()
