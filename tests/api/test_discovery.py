"""Discovery over the API: searching people and spaces, recent replays, a person's spaces and
follow lists; matching rules, order, escaping, validation, blocks, paging, visitors, rate limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support import Client, Running

# Every test here searches often: a burst large enough (the rate limit's own test sets its own).
pytestmark = [pytest.mark.integration, pytest.mark.parley_settings(search_burst=1000)]


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _until(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def _recording_state(host: Client, space_id: int) -> str | None:
    response = await host.get(f"/api/spaces/{space_id}/recording")
    return str(response.json()["recording"]["state"]) if response.status_code == 200 else None


async def _ended_with_replay(
    host: Client, title: str, *, publish: bool = True, **body: Any
) -> dict[str, Any]:
    """A space that went live, was recorded, ended, and (`publish`) has its replay published."""
    space = await host.create_space(title, **body)
    sid = space["id"]

    async def recording() -> bool:
        return await _recording_state(host, sid) == "recording"

    async def complete() -> bool:
        return await _recording_state(host, sid) == "complete"

    await _until(recording)  # this node claimed the space: its recording runs
    ended: dict[str, Any] = (await host.ok("POST", f"/api/spaces/{sid}/end"))["space"]
    await _until(complete)
    if publish:
        await host.ok("POST", f"/api/spaces/{sid}/replay")
    return ended


async def _visitor_get(server: Running, path: str, **params: Any) -> httpx.Response:
    async with server.browser() as visitor:
        return await visitor.get(path, params=params)


async def _people(who: Client, q: str, **params: Any) -> list[str]:
    body = await who.ok("GET", "/api/search/people?" + str(httpx.QueryParams(q=q, **params)))
    return [person["user"]["handle"] for person in body["people"]]


async def _spaces(who: Client, q: str, **params: Any) -> list[str]:
    body = await who.ok("GET", "/api/search/spaces?" + str(httpx.QueryParams(q=q, **params)))
    return [space["title"] for space in body["spaces"]]


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    return body


async def test_people_match_handle_and_name_whatever_the_case_and_accents(
    server: Running,
) -> None:
    me = await server.signup("seeker", "Seeker")
    await server.signup("alice", "Alice Liddell")
    await server.signup("malice_x", "Mal Ice")
    await server.signup("elodie", "Élodie Dupré")
    await server.signup("zed", "ÅSA Öberg")
    await server.signup("strasse", "Straße Fan")
    await server.signup("fan_of_al", "Big ALICE fan")
    # More followers do not overtake an exact handle.
    for fan in ("fan1", "fan2"):
        await (await server.signup(fan)).ok("PUT", "/api/users/malice_x/follow", status=204)

    # The exact handle first, then a name with a word starting with it, then the rest.
    assert await _people(me, "ALICE") == ["alice", "fan_of_al", "malice_x"]
    assert await _people(me, "@alice") == ["alice", "fan_of_al", "malice_x"]
    for q in ("dupre", "DUPRÉ", "élodie", "ELODIE", "Elodie Dupre", " elodie  dupré "):
        assert await _people(me, q) == ["elodie"], q
    assert await _people(me, "oberg") == ["zed"]
    assert await _people(me, "åsa") == ["zed"]
    assert await _people(me, "strasse") == ["strasse"]
    assert await _people(me, "STRASSE fan") == ["strasse"]
    assert await _people(me, "nobody-like-this") == []

    body = await me.ok("GET", "/api/search/people?q=malice")
    (person,) = body["people"]
    assert (person["user"]["handle"], person["user"]["display_name"]) == ("malice_x", "Mal Ice")
    assert person["follower_count"] == 2 and person["followed_by_me"] is False
    assert body["next_offset"] is None
    await me.ok("PUT", "/api/users/malice_x/follow", status=204)
    (person,) = (await me.ok("GET", "/api/search/people?q=malice"))["people"]
    assert person["follower_count"] == 3 and person["followed_by_me"] is True

    # A new display name is found under its new spelling, no longer under the old one.
    await me.ok("PATCH", "/api/me", {"display_name": "Zoë Searcher"})
    assert await _people(me, "ZOE") == ["seeker"]
    assert await _people(me, "Seeker") == ["seeker"]  # the handle still matches
    assert await _people(me, "searcher") == ["seeker"]


@pytest.mark.parley_settings(max_live_spaces_per_host=0)  # one host, several live spaces
async def test_like_wildcards_and_the_escape_character_match_only_themselves(
    server: Running,
) -> None:
    me = await server.signup("seeker", "Seeker")
    await server.signup("a_b_c", "Plain")
    await server.signup("axbxc", "Also plain")
    await server.signup("percent", "100% real")
    await server.signup("thousand", "1000 real")
    await server.signup("slash", "back\\slash")
    await server.signup("noslash", "backslash")

    assert await _people(me, "a_b") == ["a_b_c"]
    assert await _people(me, "_") == ["a_b_c"]
    assert await _people(me, "100%") == ["percent"]
    assert await _people(me, "%") == ["percent"]
    assert await _people(me, "0%r") == []
    assert await _people(me, "\\") == ["slash"]
    assert await _people(me, "k\\s") == ["slash"]

    host = await server.signup("host", "Host")
    await host.create_space("50% off", topics=["deals_now"])
    await host.create_space("500 off", topics=["dealsxnow"])
    assert await _spaces(me, "50%") == ["50% off"]
    assert await _spaces(me, "deals_") == ["50% off"]


async def test_spaces_match_title_topics_and_host_live_then_upcoming_then_replays(
    server: Running,
) -> None:
    me = await server.signup("seeker", "Seeker")
    host = await server.signup("ferris", "Ferris Crab")
    other = await server.signup("gardener", "Green Thumb")
    rusty = await server.signup("nail", "Rusty Nail")

    replayed = await _ended_with_replay(host, "Rust replay")
    await _ended_with_replay(host, "Rust unpublished", publish=False)
    await _ended_with_replay(host, "Rust not offered", publish=False, record=False)
    canceled = await host.create_space("Rust canceled", scheduled_for=_in(3))
    await host.ok("POST", f"/api/spaces/{canceled['id']}/cancel")
    await host.create_space("Async RUST", scheduled_for=_in(2))
    await host.create_space("Weekly rüst", scheduled_for=_in(1))
    await other.create_space("Gardening", topics=["Rust removal"])
    await rusty.create_space("Hardware chat")
    await host.create_space("Rust meetup", topics=["systems"])

    found = (await me.ok("GET", "/api/search/spaces?q=rust"))["spaces"]
    assert [s["title"] for s in found] == [
        # live: the latest started first (by title, topic, host's name)
        "Rust meetup",
        "Hardware chat",
        "Gardening",
        # upcoming: the soonest first
        "Weekly rüst",
        "Async RUST",
        # ended with a published replay
        "Rust replay",
    ]
    assert [s["state"] for s in found] == ["live"] * 3 + ["scheduled"] * 2 + ["ended"]
    assert found[-1]["id"] == replayed["id"]
    # The host's handle matches too; topics alone too.
    assert await _spaces(me, "FERRIS") == [
        "Rust meetup",
        "Weekly rüst",
        "Async RUST",
        "Rust replay",
    ]
    assert await _spaces(me, "removal") == ["Gardening"]
    assert await _spaces(me, "systems") == ["Rust meetup"]
    # A match never runs from the title into a topic.
    assert await _spaces(me, "meetup systems") == []

    # The replay is playable by anyone, and lists with the space's host.
    replay = await _visitor_get(server, f"/api/spaces/{replayed['id']}/replay")
    assert replay.status_code == 200, replay.text

    # The profile's lists: live and upcoming here, replays on /api/replays?host=.
    hosted = await me.ok("GET", "/api/users/ferris/spaces")
    assert [s["title"] for s in hosted["live"]] == ["Rust meetup"]
    assert [s["title"] for s in hosted["upcoming"]] == ["Weekly rüst", "Async RUST"]
    replays = (await me.ok("GET", "/api/replays?host=ferris"))["replays"]
    assert [r["space"]["title"] for r in replays] == ["Rust replay"]
    _error(await me.get("/api/users/nobody_here/spaces"), 404, "not_found")
    _error(await me.get("/api/replays?host=nobody_here"), 404, "not_found")


async def test_recent_replays_are_the_published_ones_until_retention_ends(
    server: Running,
) -> None:
    host = await server.signup("host", "Host")
    other = await server.signup("other", "Other")
    first = await _ended_with_replay(host, "First")
    await _ended_with_replay(host, "Kept to myself", publish=False)
    second = await _ended_with_replay(other, "Second")
    await host.create_space("Still live")

    body = await host.ok("GET", "/api/replays")
    assert [r["space"]["id"] for r in body["replays"]] == [second["id"], first["id"]]
    assert body["next_offset"] is None
    summary = body["replays"][1]
    assert summary["space"]["state"] == "ended" and summary["duration_s"] >= 0
    published_at = datetime.fromisoformat(summary["published_at"])
    expires_at = datetime.fromisoformat(summary["expires_at"])
    ended_at = datetime.fromisoformat(summary["space"]["ended_at"])
    assert expires_at - ended_at == timedelta(days=30)
    assert published_at >= ended_at

    page = await host.ok("GET", "/api/replays?limit=1")
    assert [r["space"]["id"] for r in page["replays"]] == [second["id"]]
    assert page["next_offset"] == 1
    page = await host.ok("GET", "/api/replays?limit=1&offset=1")
    assert [r["space"]["id"] for r in page["replays"]] == [first["id"]]
    assert page["next_offset"] is None

    # Visitors see them too.
    visitor = await _visitor_get(server, "/api/replays")
    assert [r["space"]["id"] for r in visitor.json()["replays"]] == [second["id"], first["id"]]

    # Unpublished: gone from the list (and from search).
    await host.ok("DELETE", f"/api/spaces/{first['id']}/replay")
    assert [r["space"]["id"] for r in (await host.ok("GET", "/api/replays"))["replays"]] == [
        second["id"]
    ]
    assert await _spaces(host, "first") == []

    # Past retention: gone from the list and from search, even before the purge runs.
    server.clock.advance(days=30, seconds=1)
    assert (await host.ok("GET", "/api/replays"))["replays"] == []
    assert await _spaces(host, "second") == []


@pytest.mark.parley_settings(max_live_spaces_per_host=0)  # one host, several live spaces
async def test_blocks_hide_people_spaces_and_replays_both_ways(server: Running) -> None:
    blocker = await server.signup("blocker", "Bea Blocker")
    blocked = await server.signup("blocked", "Bo Blocked")
    await blocker.create_space("Bea live")
    await blocked.create_space("Bo live")
    await blocker.create_space("Bea later", scheduled_for=_in(1))
    await _ended_with_replay(blocker, "Bea replay")
    await _ended_with_replay(blocked, "Bo replay")

    def titles(body: dict[str, Any], key: str) -> list[str]:
        return sorted(
            item["space"]["title"] if key == "replays" else item["title"] for item in body[key]
        )

    everything = sorted(["Bea live", "Bo live", "Bea later", "Bea replay", "Bo replay"])
    for who in (blocker, blocked):
        assert sorted(await _spaces(who, "b")) == everything
    await blocker.ok("PUT", "/api/users/blocked/block", status=204)

    # The one who was blocked does not see the blocker, nor the blocker's spaces and replays.
    assert await _people(blocked, "b") == ["blocked"]
    assert sorted(await _spaces(blocked, "b")) == ["Bo live", "Bo replay"]
    assert titles(await blocked.ok("GET", "/api/replays"), "replays") == ["Bo replay"]
    hosted = await blocked.ok("GET", "/api/users/blocker/spaces")
    assert hosted == {"live": [], "upcoming": []}
    assert (await blocked.ok("GET", "/api/replays?host=blocker"))["replays"] == []
    # Nor does the blocker see whom they blocked.
    assert await _people(blocker, "b") == ["blocker"]
    assert sorted(await _spaces(blocker, "b")) == ["Bea later", "Bea live", "Bea replay"]
    assert titles(await blocker.ok("GET", "/api/replays"), "replays") == ["Bea replay"]
    assert (await blocker.ok("GET", "/api/users/blocked/spaces"))["live"] == []

    # Visitors and third parties see everyone.
    third = await server.signup("third", "Third")
    assert sorted(await _people(third, "b")) == ["blocked", "blocker"]
    assert sorted(await _spaces(third, "b")) == everything
    visitor = await _visitor_get(server, "/api/search/spaces", q="b")
    assert sorted(s["title"] for s in visitor.json()["spaces"]) == everything
    visitor = await _visitor_get(server, "/api/users/blocker/spaces")
    assert [s["title"] for s in visitor.json()["upcoming"]] == ["Bea later"]

    # Unblocking shows them again.
    await blocker.ok("DELETE", "/api/users/blocked/block", status=204)
    assert sorted(await _spaces(blocked, "b")) == everything


async def test_search_input_is_checked_naming_the_field_and_the_rule(server: Running) -> None:
    me = await server.signup("seeker", "Seeker")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"q": ""}, "q", "min_length"),
        ({"q": "   "}, "q", "min_length"),
        ({"q": "@"}, "q", "min_length"),
        ({"q": "\u0301"}, "q", "min_length"),  # a combining mark alone folds to nothing
        ({"q": "x" * 101}, "q", "max_length"),
        ({"q": "é" * 101}, "q", "max_length"),
        ({"q": "a\x00b"}, "q", "control_characters"),
        ({"q": "a\tb"}, "q", "control_characters"),
        ({"q": "line\nbreak"}, "q", "control_characters"),
        ({"q": "a\x7fb"}, "q", "control_characters"),
        ({"q": "a\x85b"}, "q", "control_characters"),
        ({"q": "a\u2028b"}, "q", "control_characters"),
        ({}, "q", "required"),
        ({"q": "a", "limit": 0}, "limit", "minimum"),
        ({"q": "a", "limit": 51}, "limit", "maximum"),
        ({"q": "a", "limit": "ten"}, "limit", "type"),
        ({"q": "a", "offset": -1}, "offset", "minimum"),
        ({"q": "a", "offset": 1001}, "offset", "maximum"),
    ]
    for path in ("/api/search/people", "/api/search/spaces"):
        for params, field, rule in cases:
            response = await me.get(path, params=params)
            body = _error(response, 422, "validation_failed")
            assert (body["field"], body["rule"]) == (field, rule), (path, params, body)
            assert body["message"].startswith(f"{field}: ")
        # The most that is allowed: 100 characters once trimmed, any script, emoji.
        for q in (" " + "x" * 100 + " ", "é" * 100, "日本語", "🎙️ rooms", "a\u200db"):
            response = await me.get(path, params={"q": q, "limit": 50, "offset": 1000})
            assert response.status_code == 200, (q, response.text)
    for path in ("/api/replays", "/api/users/seeker/followers", "/api/users/seeker/following"):
        body = _error(await me.get(path, params={"limit": 51}), 422, "validation_failed")
        assert (body["field"], body["rule"]) == ("limit", "maximum")


async def test_search_results_are_paged(server: Running) -> None:
    me = await server.signup("seeker", "Seeker")
    for n in range(5):
        await server.signup(f"pager{n}", f"Pager {n}")
        await me.create_space(f"Paged {n}", scheduled_for=_in(n + 1))
    handles: list[str] = []
    offset: int | None = 0
    while offset is not None:
        body = await me.ok("GET", f"/api/search/people?q=pager&limit=2&offset={offset}")
        assert len(body["people"]) == (2 if body["next_offset"] is not None else 1)
        handles += [p["user"]["handle"] for p in body["people"]]
        offset = body["next_offset"]
    assert handles == [f"pager{n}" for n in range(5)]
    titles: list[str] = []
    offset = 0
    while offset is not None:
        body = await me.ok("GET", f"/api/search/spaces?q=paged&limit=2&offset={offset}")
        titles += [s["title"] for s in body["spaces"]]
        offset = body["next_offset"]
    assert titles == [f"Paged {n}" for n in range(5)]
    assert (await me.ok("GET", "/api/search/spaces?q=paged&offset=5"))["spaces"] == []


async def test_follow_lists_are_paged_and_public(server: Running) -> None:
    star = await server.signup("star", "Star")
    fans = [await server.signup(f"fan{n}", f"Fan {n}") for n in range(3)]
    for fan in fans:
        await fan.ok("PUT", "/api/users/star/follow", status=204)
        await star.ok("PUT", f"/api/users/{fan.handle}/follow", status=204)
    body = await star.ok("GET", "/api/users/star/followers?limit=2")
    # The latest follow first.
    assert [u["handle"] for u in body["users"]] == ["fan2", "fan1"]
    assert body["next_offset"] == 2
    body = await star.ok("GET", "/api/users/star/followers?limit=2&offset=2")
    assert [u["handle"] for u in body["users"]] == ["fan0"] and body["next_offset"] is None
    visitor = await _visitor_get(server, "/api/users/STAR/following")
    assert [u["handle"] for u in visitor.json()["users"]] == ["fan2", "fan1", "fan0"]
    _error(await _visitor_get(server, "/api/users/nobody_here/followers"), 404, "not_found")


async def test_follow_lists_hide_blocks_both_ways(server: Running) -> None:
    star = await server.signup("star", "Star")
    viewer = await server.signup("viewer", "Viewer")
    shunned = await server.signup("shunned", "Shunned")  # whom the viewer blocks
    shunner = await server.signup("shunner", "Shunner")  # who blocks the viewer
    plain = await server.signup("plain", "Plain")
    for fan in (plain, shunned, shunner, viewer):
        await fan.ok("PUT", "/api/users/star/follow", status=204)
        await star.ok("PUT", f"/api/users/{fan.handle}/follow", status=204)
    await viewer.ok("PUT", "/api/users/shunned/block", status=204)
    await shunner.ok("PUT", "/api/users/viewer/block", status=204)

    async def handles(who: Client, path: str) -> list[str]:
        return [u["handle"] for u in (await who.ok("GET", path))["users"]]

    everyone = ["viewer", "shunner", "shunned", "plain"]  # the latest follow first
    for which in ("followers", "following"):
        path = f"/api/users/star/{which}"
        assert await handles(viewer, path) == ["viewer", "plain"], which
        # Paged after the filter.
        body = await viewer.ok("GET", f"{path}?limit=1")
        assert [u["handle"] for u in body["users"]] == ["viewer"] and body["next_offset"] == 1
        body = await viewer.ok("GET", f"{path}?limit=1&offset=1")
        assert [u["handle"] for u in body["users"]] == ["plain"] and body["next_offset"] is None
        # Both ways: neither of them sees the viewer.
        for other in (shunned, shunner):
            assert await handles(other, path) == ["shunner", "shunned", "plain"], which
        # Third parties and visitors see everyone.
        assert await handles(plain, path) == everyone
        visitor = await _visitor_get(server, path)
        assert [u["handle"] for u in visitor.json()["users"]] == everyone
    # Unblocking shows them again.
    await viewer.ok("DELETE", "/api/users/shunned/block", status=204)
    await shunner.ok("DELETE", "/api/users/viewer/block", status=204)
    assert await handles(viewer, "/api/users/star/followers") == everyone


@pytest.mark.parley_settings(search_burst=3, search_rate_per_s=0.01)
async def test_search_is_open_to_visitors_and_rate_limited(server: Running) -> None:
    me = await server.signup("seeker", "Seeker Person")
    host = await server.signup("host", "Host")
    await host.create_space("Open to all")
    async with server.browser() as visitor:
        first = await visitor.get("/api/search/people", params={"q": "seeker"})
        assert [p["user"]["handle"] for p in first.json()["people"]] == ["seeker"]
        # Nobody follows anybody for a visitor.
        assert first.json()["people"][0]["followed_by_me"] is False
        spaces = await visitor.get("/api/search/spaces", params={"q": "open"})
        assert [s["title"] for s in spaces.json()["spaces"]] == ["Open to all"]
        # Refused input costs nothing.
        assert (await visitor.get("/api/search/people", params={"q": ""})).status_code == 422
        assert (await visitor.get("/api/search/people", params={"q": "x"})).status_code == 200
        limited = await visitor.get("/api/search/spaces", params={"q": "x"})
        body = _error(limited, 429, "rate_limited")
        assert "searches" in body["message"]
        assert int(limited.headers["retry-after"]) >= 1
    # A signed-in user has a bucket of their own (and the visitor's does not refill theirs).
    for _ in range(3):
        await me.ok("GET", "/api/search/people?q=x")
    _error(await me.get("/api/search/people?q=x"), 429, "rate_limited")
