"""The public feed on this node: spaces created or changing state, from the bus's `feed` channel
to every open `/api/feed` socket here (one bus subscription per node, however many sockets)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from parley.bus import Bus
from parley.bus.channels import FEED_CHANNEL
from parley.domain.errors import AtCapacity, RateLimited

log = logging.getLogger(__name__)

# A socket this far behind is closed; its page reloads its lists when it reconnects.
QUEUE_MAX = 200


@dataclass(eq=False)
class FeedSubscriber:
    address: str
    # Texts to send in order; None: close (too slow, or the node is stopping).
    queue: asyncio.Queue[str | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_MAX)
    )
    closed: bool = False
    # Closed for falling behind (not because the node stops).
    too_slow: bool = False

    def offer(self, text: str | None) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.too_slow = True
            self.queue = asyncio.Queue(maxsize=1)
            self.queue.put_nowait(None)
        if text is None or self.too_slow:
            self.closed = True


class SpaceFeed:
    def __init__(self, bus: Bus, *, max_sockets: int, per_address: int) -> None:
        self.bus = bus
        self.max_sockets = max_sockets
        self.per_address = per_address
        self._subscribers: set[FeedSubscriber] = set()
        self._by_address: Counter[str] = Counter()
        self._started = False

    async def start(self) -> None:
        await self.bus.subscribe(FEED_CHANNEL, self._on_message)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.bus.unsubscribe(FEED_CHANNEL, self._on_message)
        for subscriber in list(self._subscribers):
            subscriber.offer(None)

    def open(self, address: str) -> FeedSubscriber:
        """A new socket's subscription, or refused: too many here (AtCapacity) or from this
        address (RateLimited)."""
        if len(self._subscribers) >= self.max_sockets:
            raise AtCapacity("this server's feed is full: try again later")
        if self._by_address[address] >= self.per_address:
            raise RateLimited("too many feed sockets from this address", retry_after_s=30)
        subscriber = FeedSubscriber(address)
        self._subscribers.add(subscriber)
        self._by_address[address] += 1
        return subscriber

    def close(self, subscriber: FeedSubscriber) -> None:
        if subscriber not in self._subscribers:
            return
        self._subscribers.discard(subscriber)
        self._by_address[subscriber.address] -= 1
        if self._by_address[subscriber.address] <= 0:
            del self._by_address[subscriber.address]

    def __len__(self) -> int:
        return len(self._subscribers)

    def _on_message(self, channel: str, message: str) -> None:
        # Public as published (a SpaceView): sent as is, no decoding per socket.
        for subscriber in tuple(self._subscribers):
            subscriber.offer(message)
