"""Live HLS links are per listener and short-lived (issue 12): a link names who it was given to,
the signature covers that, and a removed or blocked listener's link stops working (at once on the
app's own route, within one TTL behind nginx, tests/deploy/test_nginx.py) while the others' go
on."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from datetime import UTC, datetime

import httpx
import pytest

from parley.media import urls
from support import Client, Running

pytestmark = pytest.mark.integration

TTL_S = 6


def _parts(url: str) -> dict[str, str]:
    _, hls, space, scope, holder, expires, signature, name = url.split("/")
    assert hls == "hls"
    return {
        "space": space,
        "scope": scope,
        "holder": holder,
        "expires": expires,
        "signature": signature,
        "name": name,
    }


def _url(p: dict[str, str]) -> str:
    return "/hls/{space}/{scope}/{holder}/{expires}/{signature}/{name}".format(**p)


async def _status(server: Running, url: str) -> int:
    # Anyone holding the link (an outside player): no cookie, no token.
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        return (await http.get(url)).status_code


async def _until(server: Running, url: str, status: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        seen = await _status(server, url)
        if seen == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url}: {seen}, not {status}")


async def _room(server: Running) -> tuple[Client, Client, Client, int]:
    host = await server.signup("host")
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    sid = (await host.create_space("Per listener"))["id"]
    await alice.join(sid)
    await bob.join(sid)
    return host, alice, bob, sid


def test_a_link_names_its_holder_and_the_signature_covers_it() -> None:
    url = urls.hls_url(7, "live", "u3", 2000, "s3cret", "live.m3u8")
    p = _parts(url)
    assert (p["space"], p["scope"], p["holder"], p["expires"]) == ("7", "live", "u3", "2000")
    sig = p["signature"]
    assert urls.check(7, "live", "u3", 2000, sig, "s3cret", now_s=1999) is urls.Check.VALID
    assert urls.check(7, "live", "u3", 2000, sig, "s3cret", now_s=2001) is urls.Check.EXPIRED
    assert urls.check(7, "live", "u4", 2000, sig, "s3cret", now_s=1999) is urls.Check.BAD
    assert urls.check(7, "live", "u33", 2000, sig, "s3cret", now_s=1999) is urls.Check.BAD
    # nginx's secure_link_md5 "$expires/hls/$space/$scope/$holder secret", base64url.
    expected = base64.urlsafe_b64encode(hashlib.md5(b"2000/hls/7/live/u3 s3cret").digest())
    assert sig == expected.rstrip(b"=").decode()
    assert urls.user_holder(3) == "u3" and urls.holder_user(urls.user_holder(3)) == 3
    visitor = urls.visitor_holder("203.0.113.9", "s3cret")
    # Stable per address (renewals keep one holder), not the address itself, never a user's.
    assert visitor == urls.visitor_holder("203.0.113.9", "s3cret")
    assert visitor != urls.visitor_holder("203.0.113.10", "s3cret")
    assert visitor.startswith("v") and "203" not in visitor and urls.holder_user(visitor) is None


def test_recent_checks_are_kept_briefly() -> None:
    checks = urls.RecentChecks(ttl_s=5.0, max_entries=2)
    assert checks.get((1, "u1"), now_s=100.0) is None
    checks.put((1, "u1"), False, now_s=100.0)
    assert checks.get((1, "u1"), now_s=104.9) is False
    assert checks.get((1, "u1"), now_s=105.1) is None
    for n in range(5):  # bounded: a flood of holders does not grow it without end
        checks.put((1, f"u{n}"), True, now_s=200.0)
    assert len(checks) <= 2


@pytest.mark.parley_settings(hls_live_url_ttl_s=TTL_S, hls_holder_check_s=0.5)
@pytest.mark.parametrize("how", ["removed", "blocked"])
async def test_a_removed_or_blocked_listeners_link_stops_working(server: Running, how: str) -> None:
    host, alice, bob, sid = await _room(server)
    before = time.time()
    alices = await alice.ok("GET", f"/api/spaces/{sid}/listen")
    bobs = await bob.ok("GET", f"/api/spaces/{sid}/listen")
    # Live links are short-lived: the setting, not the recordings' hours.
    expires = datetime.fromisoformat(alices["hls_expires_at"]).timestamp()
    bob_expires = datetime.fromisoformat(bobs["hls_expires_at"]).timestamp()
    assert before + TTL_S - 1 <= expires <= time.time() + TTL_S + 1
    assert alices["hls_expires_in_s"] == TTL_S
    assert _parts(alices["hls_url"])["holder"] == f"u{alice.id}"
    assert _parts(bobs["hls_url"])["holder"] == f"u{bob.id}"
    await _until(server, alices["hls_url"], 200)
    await _until(server, bobs["hls_url"], 200)

    if how == "removed":
        await host.ok("POST", f"/api/spaces/{sid}/members/{alice.id}/remove")
    else:
        await host.ok("PUT", f"/api/users/{alice.handle}/block", status=204)
    # The app's own route refuses her link at once (its check is kept a moment), and /listen
    # gives her no new one; bob's goes on.
    await _until(server, alices["hls_url"], 403, timeout_s=3)
    assert (await alice.get(f"/api/spaces/{sid}/listen")).status_code == 403
    assert await _status(server, bobs["hls_url"]) == 200
    # Bob renews before his link expires (as the web client does) and keeps listening after it.
    await asyncio.sleep(max(0.0, expires - 1.5 - time.time()))
    renewed = await bob.ok("GET", f"/api/spaces/{sid}/listen")
    assert _parts(renewed["hls_url"])["holder"] == f"u{bob.id}"
    await asyncio.sleep(max(0.0, max(expires, bob_expires) + 1.5 - time.time()))
    assert await _status(server, bobs["hls_url"]) == 410
    assert await _status(server, renewed["hls_url"]) == 200
    assert await _status(server, alices["hls_url"]) in (403, 410)


async def test_a_link_is_not_valid_for_another_holder(server: Running) -> None:
    _, alice, bob, sid = await _room(server)
    alices = _parts((await alice.ok("GET", f"/api/spaces/{sid}/listen"))["hls_url"])
    await _until(server, _url(alices), 200)
    for holder in (f"u{bob.id}", f"u{alice.id}0", "vAAAAAAAAAAAAAAAA", "x", "u"):
        assert await _status(server, _url({**alices, "holder": holder})) in (403, 422), holder
    # Nor one without a holder (the old shape): not a media route (the web client's page).
    old = "/hls/{space}/{scope}/{expires}/{signature}/{name}".format(**alices)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        response = await http.get(old)
    assert "mpegurl" not in response.headers.get("content-type", "")
    assert not response.text.startswith("#EXTM3U")


async def test_a_visitors_link_names_the_visitor(server: Running) -> None:
    _, alice, _, sid = await _room(server)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as visitor:
        answer = (await visitor.get(f"/api/spaces/{sid}/listen")).json()
    p = _parts(answer["hls_url"])
    assert p["holder"].startswith("v")
    await _until(server, answer["hls_url"], 200)
    assert await _status(server, _url({**p, "holder": f"u{alice.id}"})) == 403
    ttl_s = server.app.state.services.settings.hls_live_url_ttl_s
    assert answer["hls_expires_in_s"] == ttl_s
    expires = datetime.fromisoformat(answer["hls_expires_at"]).timestamp()
    assert abs(expires - (datetime.now(UTC).timestamp() + ttl_s)) < 5
