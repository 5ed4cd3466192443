"""The live room WebSocket (docs/websocket.md): snapshot or resume, then ordered deltas."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from parley.actions import presence, spaces, visitors
from parley.actions.base import Services
from parley.api.auth import SESSION_COOKIE, authenticate, client_address
from parley.api.cors import origin_of
from parley.domain.analytics import Arrival, ListenPath, arrival_of, user_key
from parley.domain.errors import (
    AtCapacity,
    DomainError,
    Forbidden,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from parley.domain.events import ROOM_CHANGE, Reactions, ServerMessage
from parley.domain.reactions import TokenBucket
from parley.domain.visitors import NEEDS_ACCOUNT, PublicRoom, VisitorClose, room_refusal
from parley.media.urls import visitor_holder
from parley.room.hub import CLOSE_REVOKED, Close, Outgoing, RoomClient, TooManySockets
from parley.room.runtime import RoomRuntime

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SILENT = 4408
CLOSE_NOT_LIVE = 4409
CLOSE_ENDED = 4410
CLOSE_TOO_MANY = 4429
CLOSE_FULL = 4503
MAX_ID = 2_147_483_647


def same_origin(websocket: WebSocket, public_url: str) -> bool:
    """Cookie-authenticated sockets must come from our own pages (cross-site hijacking): the
    origin of PARLEY_PUBLIC_URL when set, else the scheme and host the socket came to. The
    scheme counts (an http page must not use an https site's cookie); behind a TLS proxy it is
    the one uvicorn took from X-Forwarded-Proto, which it does for trusted proxies only
    (FORWARDED_ALLOW_IPS), else the http the app sees: set PARLEY_PUBLIC_URL there."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    if public_url:
        ours = origin_of(public_url)
    else:
        scheme = "https" if websocket.url.scheme == "wss" else "http"
        ours = origin_of(f"{scheme}://{websocket.headers.get('host', '')}")
    return bool(ours) and origin_of(origin) == ours


# A visitor's socket: what it may send (pongs), a burst then one a second; past it, it closes.
VISITOR_MESSAGES_BURST = 10.0
VISITOR_MESSAGES_PER_S = 1.0

_VISITOR_CLOSES = {
    VisitorClose.ENDED: Close(CLOSE_ENDED, "the space has ended"),
    VisitorClose.NEEDS_ACCOUNT: Close(CLOSE_UNAUTHENTICATED, NEEDS_ACCOUNT),
    VisitorClose.NOT_LIVE: Close(CLOSE_NOT_LIVE, "the space is not live yet"),
}


class _Closing(Exception):
    """The socket closes after what was just sent (a visitor's, once the space ended)."""

    def __init__(self, close: Close) -> None:
        super().__init__(close.reason)
        self.close = close


async def _send_public(
    websocket: WebSocket, public: PublicRoom, event: ServerMessage, text: str, item: Outgoing | None
) -> None:
    """Sends a message as a visitor sees it: the published text when it is public as it is."""
    shown = public.see(event)
    if shown is event:
        out = text
    elif isinstance(shown, Reactions) and item is not None:
        # The same for every visitor who knows this stage: encoded once per node.
        stage = frozenset(public.on_stage)
        out = item.public_text.get(stage) or item.public_text.setdefault(
            stage, shown.model_dump_json()
        )
    else:
        out = shown.model_dump_json()
    await websocket.send_text(out)
    closing = public.closing(shown)
    if closing is not None:
        raise _Closing(_VISITOR_CLOSES[closing])


async def _resume_or_snapshot(
    websocket: WebSocket,
    services: Services,
    space_id: int,
    user_id: int | None,
    last_seq: int | None,
    public: PublicRoom | None = None,
) -> int:
    """Sends what the client is owed now; returns the last seq it has. `public`: a visitor's
    socket, which carries the public room only."""
    missed = None
    if last_seq is not None:
        missed = await spaces.changes_after(services, space_id, last_seq)
    if missed is None:
        snapshot = await spaces.snapshot(services, space_id, user_id)
        assert snapshot.seq is not None
        if public is None:
            await websocket.send_text(snapshot.model_dump_json())
        else:
            await _send_public(websocket, public, snapshot, "", None)
        return snapshot.seq
    assert last_seq is not None
    for seq, payload in missed:
        if public is None:
            await websocket.send_text(payload)
        else:
            await _send_public(websocket, public, ROOM_CHANGE.validate_json(payload), payload, None)
        last_seq = seq
    return last_seq


async def _send_loop(
    websocket: WebSocket,
    services: Services,
    client: RoomClient,
    last_seq: int,
    public: PublicRoom | None = None,
) -> None:
    try:
        await _send_items(websocket, services, client, last_seq, public)
    except _Closing as closing:
        await websocket.close(closing.close.code, closing.close.reason)


async def _send_items(
    websocket: WebSocket,
    services: Services,
    client: RoomClient,
    last_seq: int,
    public: PublicRoom | None,
) -> None:
    while True:
        item = await client.queue.get()
        if isinstance(item, Close):
            await websocket.close(item.code, item.reason)
            return
        if item.seq is not None:
            if item.seq <= last_seq:
                continue  # already sent (in the snapshot, or fetched to fill a gap)
            if item.seq > last_seq + 1:
                # Another node's change arrived first, or the bus dropped one: fill from the store.
                last_seq = await _resume_or_snapshot(
                    websocket, services, client.space_id, client.user_id, last_seq, public
                )
                if item.seq <= last_seq:
                    continue
            last_seq = item.seq
        if public is None or item.event is None:
            await websocket.send_text(item.text)
        else:
            await _send_public(websocket, public, item.event, item.text, item)


async def _receive_loop(
    websocket: WebSocket, timeout_s: float, messages: TokenBucket | None = None
) -> None:
    """Any message from the client is a sign of life; silence past the timeout closes. A
    visitor's socket (`messages`) closes when it sends faster than its bucket allows."""
    while True:
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=timeout_s)
        except TimeoutError:
            await websocket.close(CLOSE_SILENT, "no heartbeat")
            return
        if message["type"] == "websocket.disconnect":
            return
        if messages is not None:
            try:
                messages.take(time.monotonic())
            except RateLimited:
                await websocket.close(CLOSE_TOO_MANY, "too many messages")
                return


async def _serve(
    websocket: WebSocket,
    services: Services,
    client: RoomClient,
    last_seq: int | None,
    public: PublicRoom | None,
) -> None:
    """Sends the snapshot (or what was missed), then the room's messages, until either side
    closes."""
    try:
        sent_seq = await _resume_or_snapshot(
            websocket, services, client.space_id, client.user_id, last_seq, public
        )
    except _Closing as closing:
        await websocket.close(closing.close.code, closing.close.reason)
        return
    messages = None
    if public is not None:
        messages = TokenBucket(VISITOR_MESSAGES_BURST, VISITOR_MESSAGES_PER_S, what="messages")
    sender = asyncio.create_task(_send_loop(websocket, services, client, sent_seq, public))
    receiver = asyncio.create_task(
        _receive_loop(websocket, services.settings.heartbeat_timeout_s, messages)
    )
    # A revoked credential closes the socket at once, not after what its queue holds (a client
    # that stops reading would never get to the close).
    revoked: asyncio.Task[Any] = asyncio.create_task(client.revoked.wait())
    done, pending = await asyncio.wait(
        {sender, receiver, revoked}, return_when=asyncio.FIRST_COMPLETED
    )
    if revoked in done:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(CLOSE_REVOKED, client.revoked_reason), 2.0)
        return
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        failure = task.exception()
        if failure is not None and not isinstance(failure, WebSocketDisconnect | RuntimeError):
            log.warning(
                "space(%s) socket of user %s failed: %r", client.space_id, client.user_id, failure
            )


async def _visitor_socket(
    websocket: WebSocket, services: Services, space_id: int, arrival: Arrival | None
) -> None:
    """A visitor's socket (no account): read-only, the public room of a live space, counted as a
    listener while open, and closed when the space ends. Rate-limited and capped by client
    address."""
    runtime: RoomRuntime = websocket.app.state.room
    address = client_address(websocket)
    settings = services.settings
    try:
        services.take(
            "visitor requests",
            address,
            burst=settings.visitor_burst,
            rate_per_s=settings.visitor_rate_per_s,
        )
        access = await visitors.check_room(services, space_id, runtime.visitors.node)
        refusal = room_refusal(access.state)
        if refusal is not None:
            raise _Closing(_VISITOR_CLOSES[refusal])
        runtime.visitors.admit(space_id, address, elsewhere=access.visitors_elsewhere)
    except _Closing as closing:
        await websocket.close(closing.close.code, closing.close.reason)
        return
    except DomainError as refused:
        code = _VISITOR_REFUSALS.get(type(refused), CLOSE_FORBIDDEN)
        await websocket.close(code, refused.message[:120])
        return
    # Host analytics: a visitor is their HLS links' holder (one per client address).
    listen = runtime.listens.opened(
        space_id, visitor_holder(address, settings.media_url_secret), ListenPath.ROOM, arrival
    )
    try:
        client = await runtime.hub.register(space_id, None)
        try:
            # Never resumed: the public room a socket showed is its own; a fresh snapshot is small.
            await _serve(websocket, services, client, None, PublicRoom())
        except (WebSocketDisconnect, NotFound):
            pass
        finally:
            await runtime.hub.unregister(client)
    finally:
        runtime.listens.closed(listen)
        runtime.visitors.leave(space_id, address)
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()


_VISITOR_REFUSALS: dict[type[DomainError], int] = {
    NotFound: CLOSE_NOT_FOUND,
    NotAuthenticated: CLOSE_UNAUTHENTICATED,
    RateLimited: CLOSE_TOO_MANY,
    AtCapacity: CLOSE_FULL,
}


@router.websocket("/api/spaces/{space_id}/ws")
async def room_socket(
    websocket: WebSocket,
    space_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    last_seq: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    via: str | None = None,
) -> None:
    """`via`: how the person came (domain/analytics.py `Arrival`), for the host's analytics;
    an unknown value is ignored (it is a hint, not a command)."""
    services: Services = websocket.app.state.services
    runtime: RoomRuntime = websocket.app.state.room
    await websocket.accept()
    try:
        auth = await authenticate(
            services, websocket.headers.get("authorization"), websocket.cookies.get(SESSION_COOKIE)
        )
    except NotAuthenticated as exc:
        await websocket.close(CLOSE_UNAUTHENTICATED, exc.message)  # bad credentials
        return
    except Forbidden as exc:  # a suspended account, one waiting for approval
        await websocket.close(CLOSE_FORBIDDEN, exc.message[:120])
        return
    if auth is None:
        # No credentials: a visitor, who may watch the public room of a space open to them.
        await _visitor_socket(websocket, services, space_id, arrival_of(via))
        return
    if auth.csrf_token is not None and not same_origin(websocket, services.settings.public_url):
        await websocket.close(CLOSE_FORBIDDEN, "cross-origin socket")
        return
    user_id = auth.user.id
    try:
        client = await runtime.hub.register(
            space_id,
            user_id,
            auth.credential,
            max_per_user=services.settings.room_sockets_per_user,
        )
    except TooManySockets as exc:
        await websocket.close(CLOSE_TOO_MANY, str(exc))
        return
    try:
        try:
            # A revocation (a suspension, a sign-out) that came between the authentication and
            # the registration found no socket to close: this one is refused now instead.
            again = await authenticate(
                services,
                websocket.headers.get("authorization"),
                websocket.cookies.get(SESSION_COOKIE),
            )
            if again is None:
                raise NotAuthenticated("signed out")
            await presence.connect(services, space_id, user_id)
        except NotAuthenticated as exc:
            await websocket.close(CLOSE_UNAUTHENTICATED, exc.message[:120])
            return
        except NotFound as exc:
            await websocket.close(CLOSE_NOT_FOUND, exc.message)
            return
        except DomainError as exc:
            await websocket.close(CLOSE_FORBIDDEN, exc.message)
            return
        listen = runtime.listens.opened(
            space_id, user_key(user_id), ListenPath.ROOM, arrival_of(via)
        )
        try:
            await _serve(websocket, services, client, last_seq, None)
        finally:
            runtime.listens.closed(listen)
            with contextlib.suppress(Exception):
                await presence.disconnect(services, space_id, user_id)
    except WebSocketDisconnect:
        pass
    finally:
        await runtime.hub.unregister(client)
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()
