"""Users' own sockets on this node (`/api/me/socket`): what the bus's `inbox` channel carries for
a user (notifications, direct messages) goes to every socket of theirs here. One bus
subscription per node, however many sockets; each batch is decoded once."""

from __future__ import annotations

import logging
from collections import defaultdict

from pydantic import ValidationError

from parley.bus import Bus
from parley.bus.channels import INBOX_CHANNEL
from parley.domain.errors import AtCapacity, RateLimited
from parley.domain.events import InboxBatch
from parley.room.feed import FeedSubscriber

log = logging.getLogger(__name__)


class UserInbox:
    def __init__(self, bus: Bus, *, max_sockets: int, per_user: int) -> None:
        self.bus = bus
        self.max_sockets = max_sockets
        self.per_user = per_user
        self._by_user: dict[int, dict[FeedSubscriber, str | None]] = defaultdict(dict)
        self._count = 0
        self._started = False

    async def start(self) -> None:
        await self.bus.subscribe(INBOX_CHANNEL, self._on_message)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.bus.unsubscribe(INBOX_CHANNEL, self._on_message)
        for sockets in list(self._by_user.values()):
            for subscriber in list(sockets):
                subscriber.offer(None)

    def open(self, user_id: int, credential: str | None) -> FeedSubscriber:
        """A new socket of `user_id` (opened with `credential`), or refused: too many here
        (AtCapacity) or of this user (RateLimited)."""
        if self._count >= self.max_sockets:
            raise AtCapacity("this server takes no more sockets: try again later")
        if len(self._by_user[user_id]) >= self.per_user:
            raise RateLimited("too many of your sockets are open", retry_after_s=30)
        subscriber = FeedSubscriber(str(user_id))
        self._by_user[user_id][subscriber] = credential
        self._count += 1
        return subscriber

    def close(self, user_id: int, subscriber: FeedSubscriber) -> None:
        sockets = self._by_user.get(user_id)
        if sockets is None or subscriber not in sockets:
            return
        del sockets[subscriber]
        self._count -= 1
        if not sockets:
            del self._by_user[user_id]

    def close_user(self, user_id: int, credential: str | None) -> int:
        """Closes the user's sockets (those opened with `credential`, or all when None)."""
        closed = 0
        for subscriber, opened_with in list(self._by_user.get(user_id, {}).items()):
            if credential is None or opened_with == credential:
                subscriber.offer(None)
                closed += 1
        return closed

    def __len__(self) -> int:
        return self._count

    def _on_message(self, channel: str, message: str) -> None:
        if not self._by_user:
            return
        try:
            batch = InboxBatch.model_validate_json(message)
        except ValidationError:
            log.warning("bus: dropped a malformed message on %s", channel)
            return
        for item in batch.items:
            for subscriber in tuple(self._by_user.get(item.user_id, ())):
                subscriber.offer(item.event)
