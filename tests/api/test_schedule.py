"""Scheduled spaces (issue 13): "Remind me", edits and cancels told to those who asked, co-hosts
named ahead, the host's start reminder, and calendar files read by vobject (a calendar library
we did not write)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import vobject

from parley.actions import schedule
from support import Client, Running

pytestmark = pytest.mark.integration


def _later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**({"hours": 2} | delta))


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    return body


async def _bell(
    client: Client, want: int, kind: str = "reminder", timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """The client's notifications of `kind`, once there are `want` (or the time is up)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        bell = await client.ok("GET", "/api/notifications")
        found: list[dict[str, Any]] = [n for n in bell["notifications"] if n["kind"] == kind]
        if len(found) >= want or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def _cast(server: Running) -> dict[str, Client]:
    """A host with a scheduled space's people: a named co-host, a listener who waits in it, a
    stranger, and someone the host blocked."""
    people = {
        "host": await server.signup("host", "Hanna Host"),
        "cohost": await server.signup("cohost"),
        "listener": await server.signup("listener"),
        "stranger": await server.signup("stranger"),
        "blocked": await server.signup("blocked"),
    }
    await people["host"].ok("PUT", "/api/users/blocked/block", status=204)
    return people


async def _scheduled(people: dict[str, Client], title: str = "Morning news") -> int:
    space = await people["host"].create_space(title, scheduled_for=_later().isoformat())
    space_id: int = space["id"]
    await people["host"].ok("PUT", f"/api/spaces/{space_id}/cohosts/cohost")
    await people["listener"].join(space_id)
    return space_id


# --- "Remind me" --------------------------------------------------------------------------------
async def test_remind_me_by_role_and_who_sees_the_count(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people)
    path = f"/api/spaces/{sid}/reminder"
    for who in ("listener", "stranger", "cohost"):
        await people[who].ok("PUT", path, status=204)
    await people["stranger"].ok("PUT", path, status=204)  # asking twice is asking once
    _error(await people["host"].put(path), 403, "forbidden")
    _error(await people["blocked"].put(path), 403, "blocked")
    await people["blocked"].ok("DELETE", path, status=204)  # taking none back is allowed
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.put(path)).status_code == 401
        page = (await anonymous.get(f"/api/spaces/{sid}")).json()
        assert (page["reminded"], page["reminders"]) == (False, None)
    seen = {
        who: await people[who].ok("GET", f"/api/spaces/{sid}")
        for who in ("host", "cohost", "listener", "stranger", "blocked")
    }
    # The host and co-hosts see how many asked; everyone sees whether they did.
    assert {who: (page["reminded"], page["reminders"]) for who, page in seen.items()} == {
        "host": (False, 3),
        "cohost": (True, 3),
        "listener": (True, None),
        "stranger": (True, None),
        "blocked": (False, None),
    }
    await people["stranger"].ok("DELETE", path, status=204)
    await people["stranger"].ok("DELETE", path, status=204)
    assert (await people["host"].ok("GET", f"/api/spaces/{sid}"))["reminders"] == 2
    assert (await people["stranger"].ok("GET", f"/api/spaces/{sid}"))["reminded"] is False
    # Not for a live space, nor a missing one.
    await people["host"].ok("POST", f"/api/spaces/{sid}/start")
    body = _error(await people["stranger"].put(path), 409, "invalid_state")
    assert body["state"] == "live"
    _error(await people["stranger"].put("/api/spaces/999999/reminder"), 404, "not_found")


async def test_someone_reminded_who_does_not_follow_hears_it_go_live(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people, "Launch day")
    await people["stranger"].ok("PUT", f"/api/spaces/{sid}/reminder", status=204)
    await people["host"].ok("POST", f"/api/spaces/{sid}/start")
    told = await _bell(people["stranger"], 1, kind="live")
    assert [(n["text"], n["link"]) for n in told] == [
        ("Hanna Host is live: Launch day", f"/s/{sid}")
    ]
    # The listener waiting in it asked for nothing and follows nobody.
    assert await _bell(people["listener"], 1, kind="live", timeout_s=0.5) == []


# --- edits --------------------------------------------------------------------------------------
async def test_the_host_edits_a_scheduled_space_and_those_who_asked_are_told(
    server: Running,
) -> None:
    people = await _cast(server)
    sid = await _scheduled(people)
    await people["stranger"].ok("PUT", f"/api/spaces/{sid}/reminder", status=204)
    room = await people["host"].socket(sid)
    moved = _later(hours=5).replace(microsecond=0)
    try:
        edited = await people["host"].ok(
            "PATCH",
            f"/api/spaces/{sid}",
            json={
                "title": "Evening news",
                "topics": ["news", "politics"],
                "scheduled_for": moved.astimezone(ZoneInfo("Europe/Paris")).isoformat(),
            },
        )
        updated = await room.until_type("space_updated")
    finally:
        await room.close()
    space = edited["space"]
    assert (space["title"], space["topics"]) == ("Evening news", ["news", "politics"])
    assert datetime.fromisoformat(space["scheduled_for"]) == moved
    assert updated["space"]["title"] == "Evening news"
    # The feed and discovery show it too.
    listed = await people["stranger"].ok("GET", "/api/spaces?state=scheduled")
    assert [s["title"] for s in listed["spaces"]] == ["Evening news"]
    expected = (
        f"Hanna Host changed “Morning news”: it is now called “Evening news”; it now starts "
        f"{moved:%a %d %b %Y %H:%M} UTC; its topics changed"
    )
    for who in ("stranger", "cohost"):
        told = await _bell(people[who], 1)
        texts = [n["text"] for n in told if n["text"].startswith("Hanna Host changed")]
        assert texts == [expected], (who, told)
    # A second edit is told too (each edit once).
    await people["host"].ok("PATCH", f"/api/spaces/{sid}", json={"title": "Late news"})
    told = await _bell(people["stranger"], 2)
    assert told[0]["text"] == "Hanna Host changed “Evening news”: it is now called “Late news”"
    # The listener waiting in it did not ask; the host is never told of their own edit.
    assert await _bell(people["listener"], 1, timeout_s=0.5) == []
    # An edit that changes nothing tells nobody.
    await people["host"].ok("PATCH", f"/api/spaces/{sid}", json={"title": "Late news"})
    await asyncio.sleep(0.5)
    assert len(await _bell(people["stranger"], 3, timeout_s=0.5)) == 2


async def test_edits_by_role_and_state(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people)
    path = f"/api/spaces/{sid}"
    for who in ("cohost", "listener", "stranger", "blocked"):
        _error(await people[who].request("PATCH", path, json={"title": "Mine"}), 403, "forbidden")
    assert (await people["host"].ok("GET", path))["space"]["title"] == "Morning news"
    await people["host"].ok("POST", f"{path}/start")
    body = _error(
        await people["host"].request("PATCH", path, json={"title": "Now"}), 409, "invalid_state"
    )
    assert body["state"] == "live"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "bell\u0007"}, "title"),
        ({"title": "line\nbreak"}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 71}, "title"),
        ({"topics": ["a", "b", "c", "d"]}, "topics"),
        ({"topics": ["tab\there"]}, "topics"),
        ({"scheduled_for": "2020-01-01T00:00:00Z"}, "scheduled_for"),
        ({"scheduled_for": "2030-01-01T00:00:00"}, "scheduled_for"),
        ({"scheduled_for": "soon"}, "scheduled_for"),
        ({"title": "\ud800"}, "title"),
    ],
)
async def test_edits_are_checked_and_nothing_is_half_written(
    server: Running, body: dict[str, Any], field: str
) -> None:
    host = await server.signup("host")
    space = await host.create_space("Kept", topics=["a"], scheduled_for=_later().isoformat())
    # Each refusal leaves the space as it was (a good title sent with a bad field included).
    response = await host.request(
        "PATCH",
        f"/api/spaces/{space['id']}",
        # ASCII JSON: a lone surrogate goes as its escape, as a client could send it.
        content=json.dumps({"title": "Changed", **body}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    kept = (await host.ok("GET", f"/api/spaces/{space['id']}"))["space"]
    assert (kept["title"], kept["topics"], kept["scheduled_for"]) == (
        "Kept",
        ["a"],
        space["scheduled_for"],
    )


# --- cancels ------------------------------------------------------------------------------------
async def test_a_cancel_tells_those_who_asked_and_the_co_hosts(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people, "Quiz night")
    for who in ("stranger", "cohost"):  # the co-host who also asked is told once
        await people[who].ok("PUT", f"/api/spaces/{sid}/reminder", status=204)
    _error(await people["cohost"].post(f"/api/spaces/{sid}/cancel"), 403, "forbidden")
    await people["host"].ok("POST", f"/api/spaces/{sid}/cancel")
    for who in ("stranger", "cohost"):
        told = [n for n in await _bell(people[who], 2, timeout_s=3.0) if "canceled" in n["text"]]
        assert [(n["text"], n["link"]) for n in told] == [
            ("Hanna Host canceled “Quiz night”", f"/s/{sid}")
        ], who
    assert await _bell(people["listener"], 1, timeout_s=0.5) == []
    # Nothing more to ask for.
    _error(await people["listener"].put(f"/api/spaces/{sid}/reminder"), 409, "invalid_state")


# --- co-hosts named ahead -----------------------------------------------------------------------
async def test_co_hosts_named_ahead_are_told_and_hold_the_role_when_it_starts(
    server: Running,
) -> None:
    people = await _cast(server)
    host = people["host"]
    space = await host.create_space("Panel", scheduled_for=_later().isoformat())
    sid = space["id"]
    named = await host.ok("PUT", f"/api/spaces/{sid}/cohosts/cohost")
    assert (named["member"]["user"]["handle"], named["member"]["role"]) == ("cohost", "cohost")
    await host.ok("PUT", f"/api/spaces/{sid}/cohosts/cohost")  # naming twice is naming once
    told = await _bell(people["cohost"], 1)
    assert [(n["text"], n["link"]) for n in told] == [
        ("Hanna Host named you co-host of “Panel”", f"/s/{sid}")
    ]
    page = await people["stranger"].ok("GET", f"/api/spaces/{sid}")
    assert [(m["user"]["handle"], m["role"]) for m in page["stage"]] == [
        ("host", "host"),
        ("cohost", "cohost"),
    ]
    # The listener waiting in the room may be named too; then the stage's limit holds.
    await people["listener"].join(sid)
    await host.ok("PUT", f"/api/spaces/{sid}/cohosts/listener")
    body = _error(await host.put(f"/api/spaces/{sid}/cohosts/stranger"), 409, "conflict")
    assert body["rule"] == "cohosts_full"
    await host.ok("DELETE", f"/api/spaces/{sid}/cohosts/listener", status=204)
    await host.ok("DELETE", f"/api/spaces/{sid}/cohosts/listener", status=204)
    await host.ok("POST", f"/api/spaces/{sid}/start")
    member = await people["cohost"].join(sid)
    assert member["role"] == "cohost"
    assert (await people["listener"].join(sid))["role"] == "listener"
    # The co-host acts as one once it is live.
    await people["stranger"].join(sid)
    await people["stranger"].ok("POST", f"/api/spaces/{sid}/me/request")
    approved = await people["cohost"].ok(
        "POST", f"/api/spaces/{sid}/members/{people['stranger'].id}/approve"
    )
    assert approved["member"]["role"] == "speaker"
    # Only while scheduled.
    body = _error(await host.put(f"/api/spaces/{sid}/cohosts/blocked"), 409, "invalid_state")
    assert body["state"] == "live"


async def test_naming_co_hosts_by_role_and_blocks(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people)
    path = f"/api/spaces/{sid}/cohosts"
    for who in ("cohost", "listener", "stranger", "blocked"):
        _error(await people[who].put(f"{path}/stranger"), 403, "forbidden")
        _error(await people[who].delete(f"{path}/cohost"), 403, "forbidden")
    # Not someone the host blocked, nor someone who blocked the host.
    _error(await people["host"].put(f"{path}/blocked"), 403, "blocked")
    await people["stranger"].ok("PUT", "/api/users/host/block", status=204)
    _error(await people["host"].put(f"{path}/stranger"), 403, "blocked")
    _error(await people["host"].put(f"{path}/nobody"), 404, "not_found")
    _error(await people["host"].put(f"{path}/host"), 403, "forbidden")
    assert await _bell(people["blocked"], 1, timeout_s=0.5) == []
    page = await people["host"].ok("GET", f"/api/spaces/{sid}")
    assert [m["user"]["handle"] for m in page["stage"]] == ["host", "cohost"]


# --- the host's start reminder ------------------------------------------------------------------
async def test_the_host_is_reminded_at_the_start_time_unless_it_moved(server: Running) -> None:
    host = await server.signup("host")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    due = await host.create_space("Due now", scheduled_for=soon)
    moved = await host.create_space("Moved away", scheduled_for=soon)
    await host.ok(
        "PATCH",
        f"/api/spaces/{moved['id']}",
        json={"scheduled_for": _later(days=1).isoformat()},
    )
    told = await _bell(host, 1, timeout_s=15.0)
    assert [(n["text"], n["link"]) for n in told] == [
        ("It's time to start “Due now”", f"/s/{due['id']}")
    ]
    # The job queued for the old time did nothing; run again, it tells nobody twice.
    await asyncio.sleep(1.5)
    assert len(await _bell(host, 2, timeout_s=0.5)) == 1
    services = server.app.state.services
    assert not await server.on_server(
        schedule.host_start(services, due["id"], due["scheduled_for"])
    )
    assert not await server.on_server(
        schedule.host_start(services, moved["id"], moved["scheduled_for"])
    )


async def test_a_stale_or_canceled_start_reminder_does_nothing(server: Running) -> None:
    host = await server.signup("host")
    space = await host.create_space("Later", scheduled_for=_later().isoformat())
    services = server.app.state.services
    at = space["scheduled_for"]
    await host.ok("POST", f"/api/spaces/{space['id']}/cancel")
    assert not await server.on_server(schedule.host_start(services, space["id"], at))
    other = await host.create_space("Other", scheduled_for=_later().isoformat())
    assert await server.on_server(
        schedule.host_start(services, other["id"], other["scheduled_for"])
    )
    assert [n["text"] for n in await _bell(host, 1)] == ["It's time to start “Other”"]


# --- calendar files -----------------------------------------------------------------------------
def _calendar(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return vobject.readOne(response.text)


async def test_a_space_as_a_calendar_file_in_utc_and_in_paris(server: Running) -> None:
    people = await _cast(server)
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=16, minute=30, second=0, microsecond=0
    )
    space = await people["host"].create_space(
        "Morning, news", topics=["news"], scheduled_for=starts.isoformat()
    )
    sid = space["id"]
    path = f"/api/spaces/{sid}/calendar.ics"
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        response = await anonymous.get(path)
    assert response.headers["content-disposition"] == f'attachment; filename="space-{sid}.ics"'
    assert "\r\nDTSTART:" in response.text  # UTC: a `Z` time
    event = _calendar(response).vevent
    assert event.dtstart.value == starts
    assert event.dtend.value == starts + timedelta(hours=1)
    assert event.summary.value == "Morning, news"
    assert event.url.value == f"{server.base_url}/s/{sid}"
    assert event.status.value == "CONFIRMED"
    uid, sequence = event.uid.value, int(event.sequence.value)
    assert uid.startswith(f"space-{sid}@")
    paris = ZoneInfo("Europe/Paris")
    for who in ("host", "cohost", "listener", "stranger"):
        event = _calendar(await people[who].get(f"{path}?tz=Europe/Paris")).vevent
        assert event.dtstart.value.astimezone(UTC) == starts
        assert event.dtstart.value.utcoffset() == starts.astimezone(paris).utcoffset()
        assert event.dtstart.value.hour == starts.astimezone(paris).hour
    _error(await people["blocked"].get(path), 403, "blocked")
    response = await people["stranger"].get(f"{path}?tz=Mars/Olympus")
    assert response.status_code == 422 and "tz" in response.text
    # An edit bumps its SEQUENCE and keeps its UID; a cancel marks it CANCELLED.
    moved = starts + timedelta(hours=1)
    await people["host"].ok(
        "PATCH", f"/api/spaces/{sid}", json={"scheduled_for": moved.isoformat()}
    )
    event = _calendar(await people["stranger"].get(path)).vevent
    assert (event.uid.value, event.dtstart.value) == (uid, moved)
    assert int(event.sequence.value) > sequence
    sequence = int(event.sequence.value)
    await people["host"].ok("POST", f"/api/spaces/{sid}/cancel")
    event = _calendar(await people["stranger"].get(path)).vevent
    assert event.status.value == "CANCELLED" and int(event.sequence.value) > sequence
    _error(await people["stranger"].get("/api/spaces/999999/calendar.ics"), 404, "not_found")


async def test_a_hosts_calendar_feed_lists_their_live_and_upcoming_spaces(
    server: Running,
) -> None:
    people = await _cast(server)
    host = people["host"]
    first = await host.create_space("First", scheduled_for=_later(hours=3).isoformat())
    second = await host.create_space("Second", scheduled_for=_later(days=3).isoformat())
    gone = await host.create_space("Gone", scheduled_for=_later(hours=4).isoformat())
    await host.ok("POST", f"/api/spaces/{gone['id']}/cancel")
    live = await host.create_space("On air")
    path = "/api/users/host/calendar.ics"
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        response = await anonymous.get(f"{path}?tz=Europe/Paris")
    assert "content-disposition" not in response.headers
    calendar = _calendar(response)
    events = {event.summary.value: event for event in calendar.vevent_list}
    assert sorted(events) == ["First", "On air", "Second"]
    assert events["First"].dtstart.value == datetime.fromisoformat(first["scheduled_for"]).replace(
        microsecond=0
    )
    assert events["Second"].dtstart.value.tzinfo is not None
    assert events["On air"].dtstart.value == datetime.fromisoformat(live["started_at"]).replace(
        microsecond=0
    )
    assert events["Second"].url.value.endswith(f"/s/{second['id']}")
    assert calendar.contents["x-wr-calname"][0].value == "Hanna Host (@host) on Parley"
    # Those the host blocked get an empty calendar, as on the profile.
    assert not hasattr(_calendar(await people["blocked"].get(path)), "vevent")
    _error(await people["stranger"].get("/api/users/nobody/calendar.ics"), 404, "not_found")
    response = await people["stranger"].get(f"{path}?tz=Nowhere")
    assert response.status_code == 422 and "tz" in response.text


async def test_reminders_and_co_host_names_are_rate_limited(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people)
    statuses = [
        (await people["stranger"].put(f"/api/spaces/{sid}/reminder")).status_code for _ in range(31)
    ]
    assert statuses[:30] == [204] * 30
    refused = await people["stranger"].put(f"/api/spaces/{sid}/reminder")
    _error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    statuses = [
        (await people["host"].put(f"/api/spaces/{sid}/cohosts/cohost")).status_code
        for _ in range(12)
    ]
    assert statuses[-1] == 429 and statuses[:9] == [200] * 9


async def test_asking_for_a_reminder_at_once_from_two_tabs_holds_one(server: Running) -> None:
    people = await _cast(server)
    sid = await _scheduled(people)
    answers = await asyncio.gather(
        *(people["stranger"].put(f"/api/spaces/{sid}/reminder") for _ in range(6))
    )
    assert [answer.status_code for answer in answers] == [204] * 6
    assert (await people["host"].ok("GET", f"/api/spaces/{sid}"))["reminders"] == 1


async def test_a_host_restricted_from_hosting_neither_edits_nor_names_cohosts(
    server: Running,
) -> None:
    """A restricted host cannot start their scheduled space; nor may they keep telling those who
    asked for a reminder of it (an edit) or name co-hosts (who are told): only cancel it."""
    from support import grant

    people = await _cast(server)
    sid = await _scheduled(people)
    await people["stranger"].ok("PUT", f"/api/spaces/{sid}/reminder", status=204)
    moderator = await grant(server, await server.signup("moder"), "moderator")
    await moderator.ok(
        "POST",
        f"/api/admin/users/{people['host'].id}/restrict-hosting",
        {"days": 1, "reason": "spam"},
    )
    edit = await people["host"].request("PATCH", f"/api/spaces/{sid}", json={"title": "Buy now"})
    assert "may not host" in _error(edit, 403, "forbidden")["message"]
    named = await people["host"].request("PUT", f"/api/spaces/{sid}/cohosts/listener")
    assert "may not host" in _error(named, 403, "forbidden")["message"]
    space = (await people["stranger"].ok("GET", f"/api/spaces/{sid}"))["space"]
    assert space["title"] == "Morning news"
    assert await _bell(people["listener"], 1, timeout_s=0.5) == []
    await people["host"].ok("POST", f"/api/spaces/{sid}/cancel")


async def test_naming_a_cohost_again_and_again_tells_them_once(server: Running) -> None:
    """Naming, un-naming and naming again is no way to ring someone's phone again and again."""
    people = await _cast(server)
    host = people["host"]
    sid = (await host.create_space("Panel", scheduled_for=_later().isoformat()))["id"]
    for _ in range(3):
        await host.ok("PUT", f"/api/spaces/{sid}/cohosts/stranger")
        await host.ok("DELETE", f"/api/spaces/{sid}/cohosts/stranger", status=204)
    told = await _bell(people["stranger"], 2, timeout_s=1.0)
    assert [n["text"] for n in told] == ["Hanna Host named you co-host of “Panel”"]


async def test_a_host_flipping_a_title_does_not_ring_everyone_again_and_again(
    server: Running,
) -> None:
    """Who asked for a reminder hears of a title or topics change once an hour at most, and of
    each new start time (review finding: every edit was told, so a host could push to all of
    them at the edit rate)."""
    # The server's clock at the start of an hour, so that the edits below share one.
    now = server.clock()
    server.clock.advance(seconds=3600 - now.minute * 60 - now.second + 1)
    people = await _cast(server)
    sid = await _scheduled(people)
    stranger = people["stranger"]
    await stranger.ok("PUT", f"/api/spaces/{sid}/reminder", status=204)
    for title in ("A", "B", "A", "B"):
        await people["host"].ok("PATCH", f"/api/spaces/{sid}", json={"title": title})
    told = await _bell(stranger, 2, timeout_s=2.0)
    assert [n["text"] for n in told] == ["Hanna Host changed “Morning news”: it is now called “A”"]
    moved = _later(hours=6).replace(microsecond=0)
    await people["host"].ok(
        "PATCH", f"/api/spaces/{sid}", json={"scheduled_for": moved.isoformat()}
    )
    told = await _bell(stranger, 2)
    assert len(told) == 2 and "it now starts" in told[0]["text"]
    server.clock.advance(hours=1)
    await people["host"].ok("PATCH", f"/api/spaces/{sid}", json={"title": "Evening news"})
    told = await _bell(stranger, 3)
    assert told[0]["text"] == "Hanna Host changed “B”: it is now called “Evening news”"
