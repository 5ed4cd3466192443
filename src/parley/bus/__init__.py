"""The event bus: carries published events to every node's WebSocket clients."""

from __future__ import annotations

from parley.bus.base import Bus, Handler
from parley.bus.memory import MemoryBus
from parley.bus.redis import DEFAULT_NAMESPACE, RedisBus

__all__ = ["Bus", "Handler", "MemoryBus", "RedisBus", "create_bus"]


def create_bus(redis_url: str, namespace: str = DEFAULT_NAMESPACE) -> Bus:
    """Redis when a URL is set (many nodes; channels under `namespace`), else in-process."""
    return RedisBus(redis_url, namespace) if redis_url else MemoryBus()
