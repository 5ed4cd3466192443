"""Web Push (delivery/push.py) reaches only public addresses: a redirect from a push service is
not followed, and a name that resolves (or is rebound) to a private address is not connected to
(SSRF past the endpoint's check, domain/notify.py `check_push_endpoint`)."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from parley.delivery import push
from parley.delivery.push import Outcome, PublicResolver, PushSender, Subscription

pytestmark = pytest.mark.integration


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _browser_keys() -> tuple[str, str]:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw), _b64url(os.urandom(16))


@pytest.fixture
async def redirecting() -> AsyncIterator[tuple[str, list[str]]]:
    """A push service on 127.0.0.1 that answers 307 to /inside (which records its hits)."""
    hits: list[str] = []

    async def outside(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/inside")

    async def inside(request: web.Request) -> web.Response:
        hits.append(request.method)
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/push", outside)
    app.router.add_post("/inside", inside)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        await runner.cleanup()


async def test_a_redirect_from_a_push_service_is_not_followed(
    redirecting: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = redirecting
    sender = PushSender(push.load_or_make_key("", tmp_path / "vapid.pem"), "mailto:a@b.org")
    p256dh, auth = _browser_keys()
    try:
        outcome = await sender.send(Subscription(f"{base}/push", p256dh, auth), {"body": "hi"})
    finally:
        await sender.close()
    assert outcome is Outcome.FAILED
    assert hits == []


class _Fixed(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_a_name_is_connected_to_at_its_public_addresses_only() -> None:
    mixed = PublicResolver(_Fixed("10.0.0.5", "93.184.216.34", "169.254.169.254"))
    found = await mixed.resolve("push.example.org", 443)
    assert [result["host"] for result in found] == ["93.184.216.34"]
    for inside in ("127.0.0.1", "192.168.1.10", "169.254.169.254", "::1", "fd00::1"):
        with pytest.raises(OSError, match="no public address"):
            await PublicResolver(_Fixed(inside)).resolve("rebound.example.org", 443)
