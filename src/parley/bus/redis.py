"""Redis pub/sub bus: every node publishes to and listens on the same channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from parley.bus.base import Handler, HandlerRegistry
from parley.telemetry.metrics import BUS_DELIVERY_LAG_SECONDS, BUS_PUBLISH_SECONDS, count_error

log = logging.getLogger(__name__)
DEFAULT_NAMESPACE = "parley"
# How often the bus measures its delivery lag: a probe message on the node's own channel (the
# messages themselves carry no time, and other nodes read them as they are).
PROBE_INTERVAL_S = 5.0

_PUBLISH_SECONDS = BUS_PUBLISH_SECONDS.labels("redis")
_DELIVERY_LAG_SECONDS = BUS_DELIVERY_LAG_SECONDS.labels("redis")


class RedisBus:
    name = "redis"

    def __init__(
        self,
        url: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        probe_interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        self.url = url
        self.probe_interval_s = probe_interval_s
        # Every channel of this instance is `{namespace}:{channel}` on the shared server.
        self.prefix = f"{namespace}:"
        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self._pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
        self._registry = HandlerRegistry()
        self._reader: asyncio.Task[None] | None = None
        self._prober: asyncio.Task[None] | None = None
        self._node_channel = f"{self.prefix}node:{uuid.uuid4().hex}"

    async def start(self) -> None:
        await self._client.ping()
        # A pub/sub connection needs one subscription before it can be read.
        await self._pubsub.subscribe(self._node_channel)
        self._reader = asyncio.create_task(self._read(), name="redis-bus-reader")
        self._prober = asyncio.create_task(self._probe(), name="redis-bus-prober")

    async def stop(self) -> None:
        for task in (self._prober, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._reader = self._prober = None
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
            data = message["data"]
            if message["channel"].decode() == self._node_channel:
                self._probed(data)
                continue
            channel = message["channel"].decode()[len(self.prefix) :]
            try:
                self._registry.dispatch(channel, data.decode() if isinstance(data, bytes) else data)
            except Exception:
                log.exception("redis bus: handler failed for %s", channel)
                count_error("bus_handler")

    async def _probe(self) -> None:
        """Publishes this process's clock on the node's own channel now and then; `_read` sees
        how long it took to come back (docs/operations.md, parley_bus_delivery_lag_seconds)."""
        while True:
            # First a wait: a bus started and stopped at once (a CLI command) sends none.
            await asyncio.sleep(self.probe_interval_s)
            try:
                await self._client.publish(self._node_channel, repr(time.perf_counter()))
            except asyncio.CancelledError:
                raise
            except Exception:
                # The reader logs Redis being away; a lost probe is only a missing sample.
                log.debug("redis bus: lag probe failed", exc_info=True)

    @staticmethod
    def _probed(data: bytes | str) -> None:
        try:
            sent_at = float(data)
        except ValueError:
            return
        _DELIVERY_LAG_SECONDS.observe(max(0.0, time.perf_counter() - sent_at))

    async def publish(self, channel: str, message: str) -> None:
        started = time.perf_counter()
        await self._client.publish(self.prefix + channel, message)
        _PUBLISH_SECONDS.observe(time.perf_counter() - started)

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
