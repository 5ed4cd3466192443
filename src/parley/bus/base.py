"""The bus Protocol both implementations satisfy (and pass the same tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# Called in the event loop for every message on a subscribed channel, in publish order.
Handler = Callable[[str, str], None]


class Bus(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    async def subscribe(self, channel: str, handler: Handler) -> None: ...

    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    async def version(self) -> str: ...


class HandlerRegistry:
    """Channel -> handlers, shared by both implementations."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def add(self, channel: str, handler: Handler) -> bool:
        """Adds; True when this is the channel's first handler."""
        handlers = self._handlers.setdefault(channel, [])
        handlers.append(handler)
        return len(handlers) == 1

    def remove(self, channel: str, handler: Handler) -> bool:
        """Removes; True when the channel has no handler left."""
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return False
        handlers.remove(handler)
        if not handlers:
            del self._handlers[channel]
            return True
        return False

    def dispatch(self, channel: str, message: str) -> None:
        for handler in tuple(self._handlers.get(channel, ())):
            handler(channel, message)
