"""Helpers for tests: a controllable clock, API clients that sign up through the real API, and a
room socket that reads the live room protocol."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import websockets
from fastapi import FastAPI

T = TypeVar("T")

PASSWORD = "correct horse battery"

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_SERVER_URL = os.environ.get(
    "PARLEY_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS", "redis://127.0.0.1:6379/0")
# This test run's channels on the shared Redis: another run on the same machine (space ids
# start at 1 in each) never hears them.
BUS_NAMESPACE = f"parley-test-{uuid.uuid4().hex[:12]}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at the time of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message} (set CI=true to make this a failure)")


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require_service("Redis", "127.0.0.1", 6379)


class TestClock:
    """Real time plus an offset the test moves forward."""

    __test__ = False

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Running:
    base_url: str
    app: FastAPI
    clock: TestClock
    # The server's own loop (its thread): where its services may be used; None for a server in
    # another process.
    loop: asyncio.AbstractEventLoop | None = None
    clients: list[Client] = field(default_factory=list)

    async def on_server(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs `work` on the server's loop, as the server's own code would run it."""
        assert self.loop is not None, "this server runs in another process"
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    async def signup(self, handle: str, display_name: str | None = None) -> Client:
        """A user signed up through the API, calling it with a personal API token."""
        async with httpx.AsyncClient(base_url=self.base_url) as browser:
            response = await browser.post(
                "/api/auth/signup",
                json={
                    "handle": handle,
                    "display_name": display_name or handle.title(),
                    "password": PASSWORD,
                },
            )
            assert response.status_code == 201, response.text
            user = response.json()["user"]
            response = await browser.post(
                "/api/me/tokens",
                json={"name": "tests"},
                headers={"X-CSRF-Token": browser.cookies["parley_csrf"]},
            )
            assert response.status_code == 201, response.text
            token = response.json()["token"]
        client = Client(self, user, token)
        self.clients.append(client)
        return client

    def browser(self) -> httpx.AsyncClient:
        """A cookie-keeping client, as a browser would be."""
        return httpx.AsyncClient(base_url=self.base_url)


class Client:
    def __init__(self, running: Running, user: dict[str, Any], token: str) -> None:
        self.running = running
        self.user = user
        self.id: int = user["id"]
        self.handle: str = user["handle"]
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with httpx.AsyncClient(base_url=self.running.base_url, timeout=10) as http:
            return await http.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.request("POST", path, json=json)

    async def put(self, path: str) -> httpx.Response:
        return await self.request("PUT", path)

    async def delete(self, path: str) -> httpx.Response:
        return await self.request("DELETE", path)

    async def ok(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        response = await self.request(method, path, json=json)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def create_space(self, title: str = "A space", **body: Any) -> dict[str, Any]:
        space: dict[str, Any] = (
            await self.ok("POST", "/api/spaces", {"title": title, **body}, status=201)
        )["space"]
        return space

    async def join(self, space_id: int) -> dict[str, Any]:
        member: dict[str, Any] = (await self.ok("POST", f"/api/spaces/{space_id}/join"))["member"]
        return member

    async def me(self, space_id: int, verb: str) -> httpx.Response:
        return await self.post(f"/api/spaces/{space_id}/me/{verb}")

    async def mic_live(self, space_id: int, live: bool = True) -> None:
        """What the media runtime does when this member's audio starts (or stops) reaching the
        server, through the same action: for tests of the room without a WebRTC session."""
        from parley.actions import stage

        services = self.running.app.state.services
        await self.running.on_server(stage.set_mic_live(services, space_id, self.id, live=live))

    async def unmute(self, space_id: int) -> dict[str, Any]:
        """Unmutes as a speaker whose audio reaches the server."""
        await self.mic_live(space_id)
        member: dict[str, Any] = (await self.ok("POST", f"/api/spaces/{space_id}/me/unmute"))[
            "member"
        ]
        return member

    async def unmute_on_air(self, space_id: int, timeout_s: float = 10.0) -> dict[str, Any]:
        """Unmutes as a client whose publishing session is up does: refused (409 mic_off) until
        the server receives its audio, so asked again until then."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            response = await self.me(space_id, "unmute")
            if response.status_code == 200:
                member: dict[str, Any] = response.json()["member"]
                return member
            refused = response.status_code == 409 and response.json().get("state") == "mic_off"
            assert refused, response.text
            assert asyncio.get_running_loop().time() < deadline, "no audio reached the server"
            await asyncio.sleep(0.05)

    async def on(self, space_id: int, target: Client, verb: str) -> httpx.Response:
        return await self.post(f"/api/spaces/{space_id}/members/{target.id}/{verb}")

    async def socket(self, space_id: int, last_seq: int | None = None) -> RoomSocket:
        url = f"{self.running.ws_url}/api/spaces/{space_id}/ws"
        if last_seq is not None:
            url += f"?last_seq={last_seq}"
        connection = await websockets.connect(url, additional_headers=self.headers)
        return RoomSocket(connection)


class RoomSocket:
    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.received: list[dict[str, Any]] = []

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(
            await asyncio.wait_for(self.connection.recv(), timeout)
        )
        self.received.append(message)
        return message

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first message matching `predicate` (the ones before it are kept in received)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("no matching message")
            message = await self.next(remaining)
            if predicate(message):
                return message

    async def until_type(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.until(lambda m: m["type"] == kind, timeout)

    async def until_seq(self, seq: int, timeout: float = 5.0) -> dict[str, Any]:
        return await self.until(lambda m: (m.get("seq") or 0) >= seq, timeout)

    async def close(self) -> None:
        await self.connection.close()

    async def closed_with(self, timeout: float = 5.0) -> int | None:
        """Reads until the server closes the socket; the close code."""
        try:
            while True:
                await self.next(timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


# --- applying the protocol, as a client does (docs/websocket.md) -------------------------------

EPHEMERAL = ("presence", "reactions", "ping")


def apply_change(room: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The room after one numbered change."""
    assert event["seq"] == room["seq"] + 1, (event["seq"], room["seq"])
    room = json.loads(json.dumps(room))
    room["seq"] = event["seq"]
    kind = event["type"]
    if kind == "space_updated":
        room["space"] = event["space"]
    elif kind == "member_updated":
        member = event["member"]
        others = [m for m in room["members"] if m["user"]["id"] != member["user"]["id"]]
        notable = member["role"] != "listener" or member["stage_request"] != "none"
        existing = [m for m in room["members"] if m["user"]["id"] == member["user"]["id"]]
        if notable and existing:
            room["members"] = [
                member if m["user"]["id"] == member["user"]["id"] else m for m in room["members"]
            ]
        elif notable:
            room["members"] = [*others, member]
        else:
            room["members"] = others
        if room["me"] and room["me"]["user"]["id"] == member["user"]["id"]:
            room["me"] = member
    elif kind == "member_removed":
        room["members"] = [m for m in room["members"] if m["user"]["id"] != event["user_id"]]
    elif kind == "pin_added":
        room["pins"] = [*room["pins"], event["pin"]]
    elif kind == "pin_removed":
        room["pins"] = [p for p in room["pins"] if p["id"] != event["pin_id"]]
    else:
        raise AssertionError(f"not a change: {kind}")
    return room


def comparable(room: dict[str, Any]) -> dict[str, Any]:
    """A room without what the protocol derives or sends ephemerally: listener counts come in
    `presence` messages and the stage count is the number of members on stage."""
    room = json.loads(json.dumps(room))
    room.pop("type", None)
    room.pop("listener_count", None)
    room["space"].pop("listener_count", None)
    room["space"].pop("stage_count", None)
    room["members"] = sorted(room["members"], key=lambda m: m["user"]["id"])
    return room


async def grant(server: Running, client: Client, role: str) -> Client:
    """Gives `client` an instance role as the operator does (`parley admin grant`)."""
    from parley.actions import moderation
    from parley.domain.moderation import InstanceRole

    services = server.app.state.services
    await server.on_server(moderation.grant_role(services, None, client.handle, InstanceRole(role)))
    return client


async def run_parley(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`parley ARGS` in a process of its own, as an operator runs it: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "parley",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
