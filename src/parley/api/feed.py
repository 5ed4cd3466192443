"""The public feed socket, `/api/feed` (docs/websocket.md): spaces created or changing state, for
pages that list spaces (home, profiles, a scheduled space's page) to update as it happens. No
account needed: it carries only what every space's link shows."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from parley.actions.base import Services
from parley.api.auth import client_address
from parley.domain.errors import AtCapacity, RateLimited
from parley.room.feed import FeedSubscriber, SpaceFeed

router = APIRouter()

CLOSE_TOO_MANY = 4429
CLOSE_FULL = 4503
CLOSE_TOO_SLOW = 4008
# A message now and then keeps proxies from closing a quiet socket.
PING_INTERVAL_S = 25.0
PING = json.dumps({"type": "ping"})
# Opening the feed, per address: a burst, then one a second (reconnects after a blip pass).
OPEN_BURST = 10.0
OPEN_PER_S = 1.0


@router.websocket("/api/feed")
async def feed_socket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    feed: SpaceFeed = websocket.app.state.feed
    address = client_address(websocket)
    await websocket.accept()
    try:
        services.take("feed-open", address, burst=OPEN_BURST, rate_per_s=OPEN_PER_S)
        subscriber = feed.open(address)
    except RateLimited as refused:
        await websocket.close(CLOSE_TOO_MANY, str(refused))
        return
    except AtCapacity as refused:
        await websocket.close(CLOSE_FULL, str(refused))
        return
    try:
        await serve_subscriber(websocket, subscriber)
    finally:
        feed.close(subscriber)


async def serve_subscriber(websocket: WebSocket, subscriber: FeedSubscriber) -> None:
    """Sends what reaches `subscriber` until the client goes, pinging when quiet (the user's
    own socket, api/inbox.py, is served the same way)."""
    reader = asyncio.ensure_future(_until_gone(websocket))
    try:
        while not reader.done():
            getting = asyncio.ensure_future(subscriber.queue.get())
            done, _ = await asyncio.wait(
                {getting, reader}, timeout=PING_INTERVAL_S, return_when=asyncio.FIRST_COMPLETED
            )
            if getting not in done:
                getting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getting
                if not done:
                    await websocket.send_text(PING)
                continue
            text = getting.result()
            if text is None:  # too slow, or this node is stopping
                code = CLOSE_TOO_SLOW if subscriber.too_slow else 1012
                await websocket.close(code)
                return
            await websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError):
        return  # gone while sending
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await reader


async def _until_gone(websocket: WebSocket) -> None:
    """Reads until the client goes: what it sends is ignored (the feed is one way)."""
    while websocket.client_state is WebSocketState.CONNECTED:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
