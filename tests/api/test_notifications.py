"""Notifications (issue 13): a host going live tells their followers in the app (the bell and
the user's own socket), through a background fan-out; blocks and channel choices hold."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from notify_support import bell, user_socket
from support import Client, Running, grant

pytestmark = pytest.mark.integration


async def _next(socket: websockets.ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message["type"] != "ping":
            return message


async def test_followers_hear_a_host_go_live_in_the_bell_and_on_their_socket(
    server: Running,
) -> None:
    host = await server.signup("host", "Hanna Host")
    fan = await server.signup("fan")
    other = await server.signup("other")
    blocker = await server.signup("blocker")
    for follower in (fan, other, blocker):
        await follower.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    await blocker.ok("PUT", f"/api/users/{host.handle}/block", status=204)
    socket = await user_socket(fan)
    try:
        space = await host.create_space("Morning news")
        pushed = await _next(socket)
        assert pushed["type"] == "notification"
        told = pushed["notification"]
        assert told["kind"] == "live"
        assert told["text"] == "Hanna Host is live: Morning news"
        assert told["link"] == f"/s/{space['id']}"
        assert told["actor"]["handle"] == "host"
        assert told["read"] is False
    finally:
        await socket.close()
    shown = await bell(fan, 1)
    assert [n["id"] for n in shown["notifications"]] == [told["id"]]
    assert shown["unread"] == 1
    assert (await bell(other, 1))["unread"] == 1
    # Blocking ends the follow; and nothing would pass either way anyway.
    assert (await bell(blocker, 1, timeout_s=1.0))["notifications"] == []
    # The host hears of their followers, never of their own going live.
    host_bell = (await bell(host, 4, timeout_s=1.0))["notifications"]
    assert sorted(n["kind"] for n in host_bell) == ["follower"] * 3
    await fan.ok("POST", "/api/notifications/read", json={"ids": None}, status=204)
    shown = await fan.ok("GET", "/api/notifications")
    assert shown["unread"] == 0 and shown["notifications"][0]["read"] is True


async def test_a_kind_turned_off_is_not_told(server: Running) -> None:
    host = await server.signup("host")
    quiet = await server.signup("quiet")
    await quiet.ok("PUT", f"/api/users/{host.handle}/follow", status=204)
    settings = await quiet.ok(
        "PATCH", "/api/notifications/settings", json={"channels": {"live": []}}
    )
    assert settings["settings"]["channels"]["live"] == []
    await host.create_space("Nobody hears")
    assert (await bell(quiet, 1, timeout_s=2.0))["notifications"] == []


async def test_settings_refuse_what_is_not_a_choice(server: Running) -> None:
    user = await server.signup("user")
    for body, field in [
        ({"channels": {"live": ["pigeon"]}}, "channels.live"),
        ({"channels": {"gossip": []}}, "channels"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"email": "not an address"}, "email"),
        ({"email": "a\u0000@b.org"}, "email"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"dm_policy": "anyone"}, "dm_policy"),
    ]:
        response = await user.request("PATCH", "/api/notifications/settings", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (body, response.text)
    saved = await user.ok(
        "PATCH",
        "/api/notifications/settings",
        json={
            "quiet_start": "22:30",
            "quiet_end": "07:00",
            "time_zone": "Europe/Paris",
            "email": "user@example.org",
        },
    )
    got = saved["settings"]
    assert (got["quiet_start"], got["quiet_end"], got["time_zone"], got["email"]) == (
        "22:30",
        "07:00",
        "Europe/Paris",
        "user@example.org",
    )


async def test_a_notice_from_the_moderators_rings_the_bell_too(server: Running) -> None:
    """Notices (a warning, a report's outcome) are notifications of kind `report`: in the bell,
    leading to /notices, with the channels the user chose for that kind."""
    moderator = await grant(server, await server.signup("moder"), "moderator")
    user = await server.signup("user")
    await moderator.ok(
        "POST", f"/api/admin/users/{user.id}/warn", {"message": "be kind"}, status=204
    )
    shown = await bell(user, 1, timeout_s=2.0)
    [told] = shown["notifications"]
    assert (told["kind"], told["link"]) == ("report", "/notices")
    assert "be kind" in told["text"]
    notices = (await user.ok("GET", "/api/me/notices"))["notices"]
    assert [n["kind"] for n in notices] == ["warning"]


async def test_an_unsubscribe_link_that_is_not_the_users_is_refused(server: Running) -> None:
    """Whatever the token (characters beyond ASCII were a 500: found by the fuzzer)."""
    user = await server.signup("user")
    async with server.browser() as browser:
        for token in ("0" * 32, "é" * 10, "x"):
            response = await browser.post(
                "/api/notifications/unsubscribe", params={"user": user.id, "token": token}
            )
            assert response.status_code == 403, response.text
            assert response.json()["error"] == "forbidden"


_KEYS = {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQ", "auth": "tBHItJI5svbpez7KI4CCXg"}


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/push",
        "https://localhost/push",
        "https://redis/push",
        "https://metadata.google.internal/computeMetadata/v1/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_a_push_endpoint_inside_the_network_is_refused(
    server: Running, endpoint: str
) -> None:
    """The server POSTs to a push endpoint: one that reaches its own network (SSRF) is refused,
    and nothing is kept."""
    ann = await server.signup("ann")
    response = await ann.request(
        "POST", "/api/push/subscriptions", json={"endpoint": endpoint, "keys": _KEYS}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "endpoint"
    ok = await ann.request(
        "POST",
        "/api/push/subscriptions",
        json={"endpoint": "https://push.example.org/wpush/v2/abc", "keys": _KEYS},
    )
    assert ok.status_code == 204, ok.text
    kept = await server.on_server(_push_endpoints(server, ann))
    assert kept == ["https://push.example.org/wpush/v2/abc"]


async def _push_endpoints(server: Running, client: Client) -> list[str]:
    from sqlalchemy import select

    from parley.store.models import PushSubscription

    services = server.app.state.services
    async with services.store.read() as session:
        rows = await session.execute(
            select(PushSubscription.endpoint).where(PushSubscription.user_id == client.id)
        )
        return list(rows.scalars())


async def test_a_push_endpoint_with_a_nul_is_a_422_not_a_500(server: Running) -> None:
    ann = await server.signup("ann")
    for path, body in [
        ("/api/push/subscriptions", {"endpoint": "https://push.example.org/\x00", "keys": _KEYS}),
        ("/api/push/subscriptions/remove", {"endpoint": "https://push.example.org/\x00"}),
    ]:
        response = await ann.request("POST", path, json=body)
        assert response.status_code == 422, (path, response.text)


async def test_a_new_follower_is_told_once(server: Running) -> None:
    """Following tells the followed person (kind `follower`, in the app by default); following
    again after unfollowing rings nothing more."""
    star = await server.signup("star", "Stella Star")
    fan = await server.signup("fan", "Fan Fiona")
    for _ in range(3):
        await fan.ok("PUT", f"/api/users/{star.handle}/follow", status=204)
        await fan.ok("DELETE", f"/api/users/{star.handle}/follow", status=204)
    await fan.ok("PUT", f"/api/users/{star.handle}/follow", status=204)
    shown = await bell(star, 2, timeout_s=1.0)
    [told] = shown["notifications"]
    assert (told["kind"], told["text"], told["link"]) == (
        "follower",
        "Fan Fiona followed you",
        "/u/fan",
    )
    assert told["actor"]["handle"] == "fan"
    assert (await bell(fan, 1, timeout_s=0.5))["notifications"] == []
