"""The event bus: carries published events to every node's WebSocket clients."""

from __future__ import annotations

from parley.bus.base import Bus, Handler
from parley.bus.memory import MemoryBus
from parley.bus.redis import RedisBus

__all__ = ["Bus", "Handler", "MemoryBus", "RedisBus", "create_bus"]


def create_bus(redis_url: str) -> Bus:
    """Redis when a URL is set (many nodes), else in-process (one node)."""
    return RedisBus(redis_url) if redis_url else MemoryBus()
