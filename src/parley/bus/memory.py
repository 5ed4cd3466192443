"""In-process bus: the embedded default, one node."""

from __future__ import annotations

import asyncio
import time

from parley.bus.base import Handler, HandlerRegistry
from parley.telemetry.metrics import BUS_DELIVERY_LAG_SECONDS, BUS_PUBLISH_SECONDS

_PUBLISH_SECONDS = BUS_PUBLISH_SECONDS.labels("memory")
_DELIVERY_LAG_SECONDS = BUS_DELIVERY_LAG_SECONDS.labels("memory")


class MemoryBus:
    name = "memory"

    def __init__(self) -> None:
        self._registry = HandlerRegistry()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, channel: str, message: str) -> None:
        # Delivered on the next loop turn, as a network bus would, never inside the publisher.
        published_at = time.perf_counter()
        asyncio.get_running_loop().call_soon(self._deliver, channel, message, published_at)
        _PUBLISH_SECONDS.observe(time.perf_counter() - published_at)

    def _deliver(self, channel: str, message: str, published_at: float) -> None:
        # The lag is the loop's: how long the message waited behind other work.
        _DELIVERY_LAG_SECONDS.observe(time.perf_counter() - published_at)
        self._registry.dispatch(channel, message)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._registry.add(channel, handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        self._registry.remove(channel, handler)

    async def version(self) -> str:
        return "in-process"
