"""In-process bus: the embedded default, one node."""

from __future__ import annotations

import asyncio

from parley.bus.base import Handler, HandlerRegistry


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
        asyncio.get_running_loop().call_soon(self._registry.dispatch, channel, message)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._registry.add(channel, handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        self._registry.remove(channel, handler)

    async def version(self) -> str:
        return "in-process"
