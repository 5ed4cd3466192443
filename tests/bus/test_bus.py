"""Both buses pass the same tests: delivery, order, fan-out to every subscriber, isolation."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.bus import Bus, RedisBus, create_bus
from support import BUS_NAMESPACE, REDIS_URL, free_port, require_redis, require_service

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus(bus_url: str) -> AsyncIterator[Bus]:
    bus = create_bus(bus_url, BUS_NAMESPACE)
    await bus.start()
    yield bus
    await bus.stop()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    def __call__(self, channel: str, message: str) -> None:
        self.messages.append((channel, message))
        self.changed.set()

    async def wait_for(self, count: int, timeout: float = 3.0) -> list[str]:
        async def wait() -> None:
            while len(self.messages) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)
        return [message for _, message in self.messages]


def _channel() -> str:
    return f"test.{uuid.uuid4().hex}"


async def test_delivers_in_order(bus: Bus) -> None:
    channel, inbox = _channel(), Inbox()
    await bus.subscribe(channel, inbox)
    for i in range(50):
        await bus.publish(channel, f"m{i}")
    assert await inbox.wait_for(50) == [f"m{i}" for i in range(50)]
    assert {c for c, _ in inbox.messages} == {channel}


async def test_every_subscriber_gets_every_message_and_other_channels_none(bus: Bus) -> None:
    channel, other = _channel(), _channel()
    first, second, elsewhere = Inbox(), Inbox(), Inbox()
    await bus.subscribe(channel, first)
    await bus.subscribe(channel, second)
    await bus.subscribe(other, elsewhere)
    await bus.publish(channel, "hello")
    assert await first.wait_for(1) == ["hello"]
    assert await second.wait_for(1) == ["hello"]
    await bus.publish(other, "there")
    assert await elsewhere.wait_for(1) == ["there"]
    assert len(first.messages) == 1


async def test_unsubscribed_handlers_get_nothing_more(bus: Bus) -> None:
    channel, kept, dropped = _channel(), Inbox(), Inbox()
    await bus.subscribe(channel, kept)
    await bus.subscribe(channel, dropped)
    await bus.publish(channel, "one")
    await kept.wait_for(1)
    await dropped.wait_for(1)
    await bus.unsubscribe(channel, dropped)
    await bus.publish(channel, "two")
    assert await kept.wait_for(2) == ["one", "two"]
    await asyncio.sleep(0.1)
    assert [m for _, m in dropped.messages] == ["one"]


async def test_publish_never_calls_handlers_inside_the_publisher(bus: Bus) -> None:
    channel, inbox = _channel(), Inbox()
    await bus.subscribe(channel, inbox)
    await bus.publish(channel, "later")
    assert inbox.messages == []
    assert await inbox.wait_for(1) == ["later"]


async def test_unicode_survives(bus: Bus) -> None:
    channel, inbox = _channel(), Inbox()
    await bus.subscribe(channel, inbox)
    await bus.publish(channel, '{"counts": {"💯": 3}}')
    assert await inbox.wait_for(1) == ['{"counts": {"💯": 3}}']


async def test_two_redis_buses_reach_each_other() -> None:
    """Two nodes: what one publishes reaches the other's subscribers."""
    require_redis()
    node_a, node_b = create_bus(REDIS_URL, BUS_NAMESPACE), create_bus(REDIS_URL, BUS_NAMESPACE)
    await node_a.start()
    await node_b.start()
    try:
        channel, inbox = _channel(), Inbox()
        await node_b.subscribe(channel, inbox)
        await node_a.publish(channel, "from a")
        assert await inbox.wait_for(1) == ["from a"]
        assert (await node_a.version()).startswith("redis")
    finally:
        await node_a.stop()
        await node_b.stop()


async def test_instances_on_one_redis_do_not_hear_each_other() -> None:
    """Two instances sharing a Redis (staging and production, two test runs) each have their
    namespace: the same channel name in one never reaches the other (a bug: concurrent test runs
    heard each other's space 1)."""
    require_redis()
    ours, theirs = create_bus(REDIS_URL, BUS_NAMESPACE), create_bus(REDIS_URL, "another-instance")
    await ours.start()
    await theirs.start()
    try:
        channel, heard_by_us, heard_by_them = _channel(), Inbox(), Inbox()
        await ours.subscribe(channel, heard_by_us)
        await theirs.subscribe(channel, heard_by_them)
        await theirs.publish(channel, "theirs")
        await ours.publish(channel, "ours")
        assert await heard_by_us.wait_for(1) == ["ours"]
        assert await heard_by_them.wait_for(1) == ["theirs"]
        await asyncio.sleep(0.2)
        assert [m for _, m in heard_by_us.messages] == ["ours"]
        assert [m for _, m in heard_by_them.messages] == ["theirs"]
    finally:
        await ours.stop()
        await theirs.stop()


async def test_a_redis_subscribe_that_failed_is_asked_again(tmp_path: Path) -> None:
    """Redis down while a space's channel is subscribed: the next subscribe, once Redis is back,
    must reach Redis again, not find the handler registered and stop there."""
    server = shutil.which("redis-server")
    if server is None:
        require_service("redis-server (the binary)", "absent", 0)
    assert server is not None
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", str(tmp_path)]

    async def start_redis() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return process
            await asyncio.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    redis = await start_redis()
    bus = RedisBus(f"redis://127.0.0.1:{port}/0")
    await bus.start()
    try:
        redis.terminate()
        await redis.wait()
        channel, inbox = _channel(), Inbox()
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever redis-py raises when down
            await bus.subscribe(channel, inbox)
        redis = await start_redis()
        await bus.subscribe(channel, inbox)
        await bus.publish(channel, "back")
        assert await inbox.wait_for(1, timeout=10) == ["back"]
    finally:
        await bus.stop()
        redis.terminate()
        await redis.wait()
