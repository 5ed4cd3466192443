"""Redis pub/sub bus: every node publishes to and listens on the same channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis

from parley.bus.base import Handler, HandlerRegistry

log = logging.getLogger(__name__)
DEFAULT_NAMESPACE = "parley"


class RedisBus:
    name = "redis"

    def __init__(self, url: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.url = url
        # Every channel of this instance is `{namespace}:{channel}` on the shared server.
        self.prefix = f"{namespace}:"
        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self._pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
        self._registry = HandlerRegistry()
        self._reader: asyncio.Task[None] | None = None
        self._node_channel = f"{self.prefix}node:{uuid.uuid4().hex}"

    async def start(self) -> None:
        await self._client.ping()
        # A pub/sub connection needs one subscription before it can be read.
        await self._pubsub.subscribe(self._node_channel)
        self._reader = asyncio.create_task(self._read(), name="redis-bus-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._pubsub.aclose()
        await self._client.aclose()

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus: read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()[len(self.prefix) :]
            data = message["data"]
            try:
                self._registry.dispatch(channel, data.decode() if isinstance(data, bytes) else data)
            except Exception:
                log.exception("redis bus: handler failed for %s", channel)

    async def publish(self, channel: str, message: str) -> None:
        await self._client.publish(self.prefix + channel, message)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        if self._registry.add(channel, handler):
            try:
                await self._pubsub.subscribe(self.prefix + channel)
            except BaseException:
                # Not subscribed: a handler left registered would keep the next subscribe from
                # ever asking Redis again.
                self._registry.remove(channel, handler)
                raise

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        if self._registry.remove(channel, handler):
            await self._pubsub.unsubscribe(self.prefix + channel)

    async def version(self) -> str:
        info = await self._client.info("server")
        return f"redis {info.get('redis_version', 'unknown')}"
