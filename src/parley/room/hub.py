"""Fans the events of the bus out to this node's WebSocket clients, each in `seq` order."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from pydantic import ValidationError

from parley.bus import Bus
from parley.bus.channels import space_channel, space_of_channel
from parley.domain.events import SERVER_MESSAGE, MemberRemoved, ServerMessage

log = logging.getLogger(__name__)

QUEUE_MAX = 2000
# The credential the socket was opened with was revoked, or the account suspended: sign in again.
CLOSE_REVOKED = 4401


@dataclass(frozen=True)
class Close:
    """Tells a client's sender to close the socket."""

    code: int
    reason: str


@dataclass(frozen=True)
class Outgoing:
    seq: int | None
    text: str
    # The message decoded (once per node); None for this node's own heartbeats.
    event: ServerMessage | None = None
    # Its text for visitors, by the stage they know, when that differs (reactions by listeners
    # are left out): made once per node for all the visitors who know the same stage.
    public_text: dict[frozenset[int], str] = field(default_factory=dict, compare=False)


@dataclass(eq=False)
class RoomClient:
    """One open socket: what it is owed, in order. Its sender task drains `queue`."""

    space_id: int
    # None for a visitor (no account).
    user_id: int | None
    # The credential the socket was opened with ("session:ID", "token:ID"): revoking it closes
    # the socket (accounts.py Authenticated.credential).
    credential: str = ""
    # Set when that credential is revoked: the socket closes at once (api/ws.py).
    revoked: asyncio.Event = field(default_factory=asyncio.Event)
    revoked_reason: str = ""
    queue: asyncio.Queue[Outgoing | Close] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_MAX)
    )
    overflowed: bool = False

    def offer(self, item: Outgoing | Close) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A client this far behind resumes from its last seq after reconnecting.
            self.overflowed = True
            log.warning(
                "space(%s) client of user %s too slow; closing", self.space_id, self.user_id
            )
            self.queue = asyncio.Queue(maxsize=1)
            self.queue.put_nowait(Close(4008, "too slow"))


class TooManySockets(Exception):
    """The user has as many room sockets open on this node as they may (issue 12)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} open room sockets per user")


class RoomHub:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._clients: dict[int, set[RoomClient]] = {}
        # Open sockets by user (visitors are capped by address, api/ws.py).
        self._per_user: dict[int, int] = {}
        self._lock = asyncio.Lock()

    def clients(self, space_id: int) -> set[RoomClient]:
        return self._clients.get(space_id, set())

    def all_clients(self) -> list[RoomClient]:
        return [client for clients in self._clients.values() for client in clients]

    def space_ids(self) -> list[int]:
        return list(self._clients)

    async def register(
        self,
        space_id: int,
        user_id: int | None,
        credential: str = "",
        *,
        max_per_user: int | None = None,
    ) -> RoomClient:
        """Registers before the client's state is read, so nothing published after is missed.
        Raises TooManySockets when `user_id` already has `max_per_user` here."""
        client = RoomClient(space_id=space_id, user_id=user_id, credential=credential)
        async with self._lock:
            if user_id is not None:
                held = self._per_user.get(user_id, 0)
                if max_per_user is not None and held >= max_per_user:
                    raise TooManySockets(max_per_user)
                self._per_user[user_id] = held + 1
            first = space_id not in self._clients
            self._clients.setdefault(space_id, set()).add(client)
            if first:
                await self.bus.subscribe(space_channel(space_id), self._on_message)
        return client

    async def unregister(self, client: RoomClient) -> None:
        async with self._lock:
            clients = self._clients.get(client.space_id)
            if clients is None or client not in clients:
                return
            clients.discard(client)
            if client.user_id is not None:
                left = self._per_user.pop(client.user_id) - 1
                if left:
                    self._per_user[client.user_id] = left
            if not clients:
                del self._clients[client.space_id]
                await self.bus.unsubscribe(space_channel(client.space_id), self._on_message)

    def _on_message(self, channel: str, message: str) -> None:
        space_id = space_of_channel(channel)
        clients = self._clients.get(space_id)
        if not clients:
            return
        try:
            event = SERVER_MESSAGE.validate_json(message)
        except ValidationError:
            log.warning("space(%s) dropped a malformed bus message", space_id)
            return
        # Sent as published: one decode per node, no re-encoding per client.
        item = Outgoing(seq=event.seq, text=message, event=event)
        removed = event if isinstance(event, MemberRemoved) else None
        for client in tuple(clients):
            client.offer(item)
            if removed is not None and client.user_id == removed.user_id:
                client.offer(Close(4403, removed.reason))

    def broadcast_local(self, text: str) -> None:
        """An ephemeral message to every client on this node (heartbeats)."""
        item = Outgoing(seq=None, text=text)
        for client in self.all_clients():
            client.offer(item)

    def close_user(self, user_id: int, credential: str | None, reason: str) -> int:
        """Closes this node's sockets of `user_id` opened with `credential` (None: all of them);
        returns how many."""
        closed = 0
        for client in self.all_clients():
            if client.user_id == user_id and credential in (None, client.credential):
                client.revoked_reason = reason
                client.revoked.set()
                closed += 1
        return closed
