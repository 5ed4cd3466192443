"""The room's background work on this node, each loop started by start() and stopped by stop()."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from parley.actions import analytics, presence, recordings
from parley.actions import spaces as space_actions
from parley.actions.base import Services, publish
from parley.bus.channels import space_channel
from parley.domain.analytics import Arrival, ListenPath, TallyKind
from parley.domain.events import Ping, Presence, ReactionBy, Reactions
from parley.domain.reactions import ReactionWindow, TokenBucket
from parley.room.hub import RoomHub
from parley.room.listens import ListenLog
from parley.room.visitors import VisitorPresence
from parley.store import repo
from parley.telemetry.metrics import count_error

log = logging.getLogger(__name__)


class RoomRuntime:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.hub = RoomHub(services.bus)
        self.visitors = VisitorPresence(services, self.presence_changed)
        self.listens = ListenLog(services)
        self._windows: dict[int, ReactionWindow] = {}
        self._buckets: dict[tuple[int, int], TokenBucket] = {}
        self._presence_dirty: set[int] = set()
        self._presence_sent: dict[int, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._analytics: asyncio.Task[None] | None = None

    # --- called by actions -------------------------------------------------------------------
    def react(self, space_id: int, user_id: int, emoji: str) -> None:
        bucket = self._buckets.get((space_id, user_id))
        if bucket is None:
            bucket = TokenBucket(
                burst=self.settings.reaction_burst, rate_per_s=self.settings.reaction_rate_per_s
            )
            self._buckets[(space_id, user_id)] = bucket
        bucket.take(time.monotonic())
        self._windows.setdefault(space_id, ReactionWindow()).add(user_id, emoji)
        self.listens.count(space_id, TallyKind.REACTION, emoji)

    def presence_changed(self, space_id: int) -> None:
        self._presence_dirty.add(space_id)

    def listen_opened(
        self, space_id: int, listener: str, path: ListenPath, arrival: Arrival | None = None
    ) -> int:
        return self.listens.opened(space_id, listener, path, arrival)

    def listen_closed(self, token: int) -> None:
        self.listens.closed(token)

    def set_talk_source(self, source: Callable[[], Mapping[int, Mapping[int, int]]]) -> None:
        self.listens.talk_source = source

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        s = self.settings
        self._tasks = [
            self._every(s.reaction_window_ms / 1000, self.flush_reactions, "reactions"),
            self._every(s.presence_interval_s, self.visitors.flush, "visitors"),
            self._every(s.visitor_lease_s / 3, self.visitors.renew, "visitor-lease"),
            self._every(s.presence_interval_s, self.flush_presence, "presence"),
            self._every(s.heartbeat_interval_s, self._heartbeat, "heartbeat"),
            self._every(s.grace_check_interval_s, self._end_abandoned, "host-grace-and-idle"),
            self._every(s.purge_interval_s, self._purge, "purge"),
            self._every(s.connection_lease_s / 3, self._connection_leases, "connection-lease"),
            self._every(60.0, self._forget_full_buckets, "buckets"),
        ]
        self._stopping = asyncio.Event()
        self._analytics = asyncio.create_task(self._write_listens(), name="room-analytics")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # The analytics' writer is not cancelled mid-write (what it held would be lost): told
        # to stop, it finishes the write under way, then every open listen ends and is written.
        self._stopping.set()
        writers = [self._analytics] if self._analytics is not None else []
        await asyncio.gather(*self._tasks, *writers, return_exceptions=True)
        self._analytics = None
        self._tasks = []
        try:
            await self.listens.close_all()
        except Exception:
            log.exception("room: the last analytics were not written")

    def _every(
        self, interval_s: float, work: Callable[[], Awaitable[None]], name: str
    ) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await work()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("room: %s loop failed; going on", name)
                    count_error("room_loop", name)

        return asyncio.create_task(loop(), name=f"room-{name}")

    # --- the loops ---------------------------------------------------------------------------
    async def _write_listens(self) -> None:
        """Host analytics: first what this node left open when it last stopped ends, then what
        it gathers is written every `analytics_flush_s` until the runtime stops."""
        if not self.settings.analytics:
            return
        try:
            await analytics.end_node_listens(self.services)
        except Exception:
            log.exception("room: listens left open by this node were not ended")
            count_error("room_loop", "analytics")
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.analytics_flush_s)
            if self._stopping.is_set():
                return
            try:
                await self.listens.flush()
            except Exception:
                log.exception("room: analytics not written; kept for the next write")
                count_error("room_loop", "analytics")

    async def flush_reactions(self) -> None:
        windows, self._windows = self._windows, {}
        outbox = [
            (
                space_channel(space_id),
                Reactions(
                    window_ms=self.settings.reaction_window_ms,
                    counts=dict(window.counts),
                    by=[ReactionBy(user_id=u, emoji=e) for u, e in window.by],
                ).model_dump_json(),
            )
            for space_id, window in windows.items()
            if window
        ]
        await publish(self.services, outbox)

    async def flush_presence(self) -> None:
        dirty, self._presence_dirty = self._presence_dirty, set()
        if not dirty:
            return
        outbox: list[tuple[str, str]] = []
        async with self.services.store.read() as session:
            for space_id in dirty:
                count = await repo.listener_count(session, space_id)
                if self._presence_sent.get(space_id) != count:
                    self._presence_sent[space_id] = count
                    outbox.append(
                        (space_channel(space_id), Presence(listener_count=count).model_dump_json())
                    )
        await publish(self.services, outbox)

    async def _heartbeat(self) -> None:
        self.hub.broadcast_local(Ping().model_dump_json())

    async def _end_abandoned(self) -> None:
        """The host's grace period, and the idle end of a space nobody is in (domain/idle.py)."""
        await space_actions.end_abandoned_spaces(self.services)

    async def _connection_leases(self) -> None:
        await presence.renew_connections(self.services)
        for space_id in await presence.expire_connections(self.services):
            self.presence_changed(space_id)

    async def _purge(self) -> None:
        await recordings.purge_expired(self.services)

    async def _forget_full_buckets(self) -> None:
        now = time.monotonic()
        full_after_s = self.settings.reaction_burst / self.settings.reaction_rate_per_s
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.updated_s < full_after_s
        }
