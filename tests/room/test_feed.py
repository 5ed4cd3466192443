"""The node's fan-out of the public feed: order, caps, a slow socket, stopping."""

from __future__ import annotations

import asyncio

import pytest

from parley.bus.channels import FEED_CHANNEL
from parley.bus.memory import MemoryBus
from parley.domain.errors import AtCapacity, RateLimited
from parley.room.feed import QUEUE_MAX, SpaceFeed

pytestmark = pytest.mark.unit


async def test_messages_reach_every_socket_in_order_and_stopping_closes_them() -> None:
    bus = MemoryBus()
    await bus.start()
    feed = SpaceFeed(bus, max_sockets=10, per_address=5)
    await feed.start()
    first, second = feed.open("a"), feed.open("b")
    for text in ("one", "two"):
        await bus.publish(FEED_CHANNEL, text)
    await asyncio.sleep(0.05)  # the in-process bus delivers on the loop's next turns
    for subscriber in (first, second):
        assert [subscriber.queue.get_nowait() for _ in range(2)] == ["one", "two"]
    await feed.stop()
    # Closed because the node stops, not for being slow (its socket closes with 1012, not 4008).
    assert first.queue.get_nowait() is None
    assert first.closed and not first.too_slow
    await bus.stop()


async def test_a_socket_that_falls_behind_is_closed_as_too_slow() -> None:
    bus = MemoryBus()
    await bus.start()
    feed = SpaceFeed(bus, max_sockets=10, per_address=5)
    await feed.start()
    slow = feed.open("a")
    for i in range(QUEUE_MAX + 1):
        await bus.publish(FEED_CHANNEL, str(i))
    await asyncio.sleep(0.05)
    assert slow.too_slow and slow.closed
    assert slow.queue.get_nowait() is None
    await feed.stop()
    await bus.stop()


def test_caps_per_address_and_per_node() -> None:
    feed = SpaceFeed(MemoryBus(), max_sockets=3, per_address=2)
    kept = [feed.open("a"), feed.open("a")]
    with pytest.raises(RateLimited):
        feed.open("a")
    feed.close(kept[0])
    feed.open("a")  # a place is free again
    feed.open("b")
    with pytest.raises(AtCapacity):
        feed.open("c")
    assert len(feed) == 3
