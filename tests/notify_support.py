"""Many followers at once, for the fan-out tests (tests/api/test_fanout.py) and the benchmark
(bench/notify_fanout.py): users, their follows of one host and, if asked, a Web Push
subscription each, written in bulk in one transaction.

Signing up 10 000 (or 100 000) people through the API would take minutes, most of it hashing
passwords (argon2, tens of milliseconds each, on purpose): this writes the rows directly with
executemany inserts instead. These users cannot sign in (no password hash matches); the host they
follow, and anyone a test acts as, still signs up through the API.

Also a local stand-in for a browser vendor's push service, and a browser's push keys."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley.domain import search
from parley.store.models import Follow, PushSubscription, User

# Rows per executemany call (each call is a few multi-row INSERTs under the hood).
CHUNK = 5000


async def add_followers(
    session: AsyncSession,
    followee_id: int,
    count: int,
    *,
    prefix: str = "f",
    push_endpoint: Callable[[int], str] | None = None,
    p256dh: str = "",
    auth: str = "",
    notify_channels: dict[str, list[str]] | None = None,
) -> list[int]:
    """`count` new users `{prefix}{n}` who follow `followee_id`; their ids, in order. With
    `push_endpoint`, each gets a push subscription at `push_endpoint(user_id)` with the keys
    given (one key pair may serve them all); with `notify_channels`, those are their choices
    (as PATCH /api/notifications/settings stores them). The caller's transaction commits it."""
    now = datetime.now(UTC)
    handles = [f"{prefix}{n}" for n in range(count)]
    assert all(len(handle) <= 15 for handle in handles), "handles have 15 characters at most"
    user_ids: list[int] = []
    for start in range(0, count, CHUNK):
        rows = [
            {
                "handle": handle,
                "handle_key": handle.lower(),
                "display_name": handle,
                "name_key": search.user_name_key(handle),
                "bio": "",
                # Matches no password: these accounts are never signed in to.
                "password_hash": "!bulk",
                "created_at": now,
                "notify_channels": notify_channels or {},
            }
            for handle in handles[start : start + CHUNK]
        ]
        made = await session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True), rows
        )
        user_ids.extend(made.scalars().all())
    for start in range(0, count, CHUNK):
        chunk = user_ids[start : start + CHUNK]
        await session.execute(
            insert(Follow),
            [{"follower_id": uid, "followee_id": followee_id, "created_at": now} for uid in chunk],
        )
        if push_endpoint is not None:
            await session.execute(
                insert(PushSubscription),
                [
                    {
                        "user_id": uid,
                        "endpoint": push_endpoint(uid),
                        "p256dh": p256dh,
                        "auth": auth,
                        "created_at": now,
                    }
                    for uid in chunk
                ],
            )
    return user_ids


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- a push service ----------------------------------------------------------------------------


@dataclass
class Pushed:
    token: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """Stands in for a browser vendor's push service (FCM, Mozilla autopush): takes the POSTs
    of RFC 8030 at `/push/{token}` and answers each token's status (201 unless told)."""

    base_url: str = ""
    received: list[Pushed] = field(default_factory=list)
    status_of: dict[str, int] = field(default_factory=dict)
    # Seconds to wait before answering (a push service that hangs).
    delay_s: float = 0.0

    def endpoint(self) -> str:
        return f"{self.base_url}/push/{uuid.uuid4().hex}"

    async def handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        self.received.append(Pushed(token, dict(request.headers), await request.read()))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.Response(status=self.status_of.get(token, 201))

    def to(self, endpoint: str) -> list[Pushed]:
        token = endpoint.rsplit("/", 1)[1]
        return [pushed for pushed in self.received if pushed.token == token]

    async def wait_for(self, endpoint: str, count: int = 1, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.to(endpoint)) < count:
            assert time.monotonic() < deadline, f"{count} push(es) expected at {endpoint}"
            await asyncio.sleep(0.05)


@asynccontextmanager
async def push_service() -> AsyncIterator[PushService]:
    """A `PushService` on a free port of 127.0.0.1 for the time of the block."""
    service = PushService()
    app = web.Application()
    app.router.add_post("/push/{token}", service.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    service.base_url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()


@dataclass
class BrowserKeys:
    """What a browser makes for a push subscription: a P-256 key pair and an auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def make(cls) -> BrowserKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """As `PushSubscription.toJSON()` gives it."""
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


async def user_socket(client: Any) -> Any:
    """`client`'s own socket (/api/me/socket), past its `hello`."""
    import websockets

    socket = await websockets.connect(
        f"{client.running.ws_url}/api/me/socket",
        additional_headers={"Authorization": f"Bearer {client.token}"},
    )
    hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert hello["type"] == "hello"
    return socket


async def bell(client: Any, want: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """`client`'s bell once it lists `want` notifications, or when the time is up (fan-outs and
    pushes run in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found: dict[str, Any] = await client.ok("GET", "/api/notifications")
        if len(found["notifications"]) >= want or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)
