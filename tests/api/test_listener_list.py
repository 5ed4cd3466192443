"""Who may read a space's listener list: those in the room (as on Spaces, a live space's listener
faces are public to the people in it); not someone who never joined, nor the removed, nor those
the host blocked, nor visitors without an account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support import Client, Running

pytestmark = pytest.mark.integration


async def _room(server: Running) -> tuple[dict[str, Client], int]:
    """A live space with one member of each role, someone who never joined, one removed and one
    the host blocked after they joined; `listener` is present (its socket is open)."""
    host = await server.signup("host")
    sid = (await host.create_space("Who listens"))["id"]
    people = {"host": host}
    for role in ("cohost", "speaker", "listener", "outsider", "removed", "blocked"):
        people[role] = await server.signup(role)
        if role != "outsider":
            await people[role].join(sid)
    await host.ok("POST", f"/api/spaces/{sid}/members/{people['cohost'].id}/make-cohost")
    await host.ok("POST", f"/api/spaces/{sid}/members/{people['speaker'].id}/invite")
    await people["speaker"].ok("POST", f"/api/spaces/{sid}/me/accept")
    await host.ok("POST", f"/api/spaces/{sid}/members/{people['removed'].id}/remove")
    await host.ok("PUT", "/api/users/blocked/block", status=204)
    return people, sid


def _status(response: httpx.Response) -> tuple[int, str | None]:
    body: dict[str, Any] = response.json()
    return response.status_code, body.get("error")


async def test_the_listener_list_is_for_those_in_the_room(server: Running) -> None:
    people, sid = await _room(server)
    present = await people["listener"].socket(sid)
    await present.until_type("snapshot")
    try:
        path = f"/api/spaces/{sid}/listeners"
        expected = {
            "host": (200, None),
            "cohost": (200, None),
            "speaker": (200, None),
            "listener": (200, None),
            "outsider": (403, "forbidden"),  # join the space first (and be seen in it)
            "removed": (403, "removed"),
            "blocked": (403, "blocked"),
        }
        seen = {role: _status(await who.get(path)) for role, who in people.items()}
        assert seen == expected
        listed = (await people["speaker"].ok("GET", path))["listeners"]
        assert [m["user"]["handle"] for m in listed] == ["listener"]
        async with server.browser() as visitor:  # no account
            assert _status(await visitor.get(path)) == (401, "not_authenticated")
        assert _status(await people["outsider"].get("/api/spaces/999999/listeners")) == (
            404,
            "not_found",
        )
    finally:
        await present.close()


async def test_a_user_the_host_blocked_sees_no_list_of_their_spaces(server: Running) -> None:
    host = await server.signup("host")
    troll = await server.signup("troll")
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = (await host.create_space("Later", scheduled_for=later))["id"]
    await troll.join(scheduled)  # waiting in a scheduled space: the block does not remove them
    await host.ok("PUT", "/api/users/troll/block", status=204)
    live = (await host.create_space("Now"))["id"]  # never joined
    for space_id in (scheduled, live):
        response = await troll.get(f"/api/spaces/{space_id}/listeners")
        assert _status(response) == (403, "blocked"), response.text
