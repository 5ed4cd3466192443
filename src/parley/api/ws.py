"""The live room WebSocket (docs/websocket.md): snapshot or resume, then ordered deltas."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from parley.actions import spaces
from parley.actions.base import Services
from parley.api.auth import SESSION_COOKIE, authenticate
from parley.domain.errors import DomainError, NotAuthenticated, NotFound
from parley.room.hub import Close, RoomClient
from parley.room.runtime import RoomRuntime

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SILENT = 4408
MAX_ID = 2_147_483_647


def _same_origin(websocket: WebSocket) -> bool:
    """Cookie-authenticated sockets must come from our own pages (cross-site hijacking)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def _resume_or_snapshot(
    websocket: WebSocket, services: Services, space_id: int, user_id: int, last_seq: int | None
) -> int:
    """Sends what the client is owed now; returns the last seq it has."""
    missed = None
    if last_seq is not None:
        missed = await spaces.changes_after(services, space_id, last_seq)
    if missed is None:
        snapshot = await spaces.snapshot(services, space_id, user_id)
        await websocket.send_text(snapshot.model_dump_json())
        assert snapshot.seq is not None
        return snapshot.seq
    assert last_seq is not None
    for seq, payload in missed:
        await websocket.send_text(payload)
        last_seq = seq
    return last_seq


async def _send_loop(
    websocket: WebSocket, services: Services, client: RoomClient, last_seq: int
) -> None:
    while True:
        item = await client.queue.get()
        if isinstance(item, Close):
            await websocket.close(item.code, item.reason)
            return
        if item.seq is None:
            await websocket.send_text(item.text)
            continue
        if item.seq <= last_seq:
            continue  # already sent (in the snapshot, or fetched to fill a gap)
        if item.seq > last_seq + 1:
            # Another node's change arrived first, or the bus dropped one: fill from the store.
            last_seq = await _resume_or_snapshot(
                websocket, services, client.space_id, client.user_id, last_seq
            )
            if item.seq <= last_seq:
                continue
        await websocket.send_text(item.text)
        last_seq = item.seq


async def _receive_loop(websocket: WebSocket, timeout_s: float) -> None:
    """Any message from the client is a sign of life; silence past the timeout closes."""
    while True:
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=timeout_s)
        except TimeoutError:
            await websocket.close(CLOSE_SILENT, "no heartbeat")
            return
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/api/spaces/{space_id}/ws")
async def room_socket(
    websocket: WebSocket,
    space_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    last_seq: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> None:
    services: Services = websocket.app.state.services
    runtime: RoomRuntime = websocket.app.state.room
    await websocket.accept()
    try:
        auth = await authenticate(
            services, websocket.headers.get("authorization"), websocket.cookies.get(SESSION_COOKIE)
        )
    except NotAuthenticated:
        auth = None
    if auth is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "sign in first")
        return
    if auth.csrf_token is not None and not _same_origin(websocket):
        await websocket.close(CLOSE_FORBIDDEN, "cross-origin socket")
        return
    user_id = auth.user.id
    client = await runtime.hub.register(space_id, user_id)
    try:
        try:
            await spaces.connect(services, space_id, user_id)
        except NotFound as exc:
            await websocket.close(CLOSE_NOT_FOUND, exc.message)
            return
        except DomainError as exc:
            await websocket.close(CLOSE_FORBIDDEN, exc.message)
            return
        try:
            sent_seq = await _resume_or_snapshot(websocket, services, space_id, user_id, last_seq)
            sender = asyncio.create_task(_send_loop(websocket, services, client, sent_seq))
            receiver = asyncio.create_task(
                _receive_loop(websocket, services.settings.heartbeat_timeout_s)
            )
            done, pending = await asyncio.wait(
                {sender, receiver}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                failure = task.exception()
                if failure is not None and not isinstance(
                    failure, WebSocketDisconnect | RuntimeError
                ):
                    log.warning(
                        "space(%s) socket of user %s failed: %r", space_id, user_id, failure
                    )
        finally:
            with contextlib.suppress(Exception):
                await spaces.disconnect(services, space_id, user_id)
    except WebSocketDisconnect:
        pass
    finally:
        await runtime.hub.unregister(client)
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()
