"""What every action works with: the services of this node and the unit of work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from parley.bus import Bus
from parley.bus.channels import space_changed_notice, space_channel
from parley.config import Settings
from parley.delivery.mail import Mailer
from parley.delivery.push import PushSender
from parley.domain.analytics import Arrival, ListenPath
from parley.domain.errors import NotFound
from parley.domain.events import Event, SpaceUpdated
from parley.domain.reactions import TokenBucket
from parley.store import repo
from parley.store.db import Store
from parley.store.models import Space, SpaceEvent

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RoomSignals(Protocol):
    """What actions tell this node's live room (room/runtime.py): ephemeral, never stored."""

    def react(self, space_id: int, user_id: int, emoji: str) -> None: ...

    def presence_changed(self, space_id: int) -> None: ...

    # Host analytics (room/listens.py): a listen opens (its token) and closes; the media's
    # talk time, taken at each write ({space id: {user id: ms}}).
    def listen_opened(
        self, space_id: int, listener: str, path: ListenPath, arrival: Arrival | None = None
    ) -> int: ...

    def listen_closed(self, token: int) -> None: ...

    def set_talk_source(self, source: Callable[[], Mapping[int, Mapping[int, int]]]) -> None: ...


class JobSink(Protocol):
    """Where actions hand background work (jobs/queue.py): after their commit, never inside."""

    async def enqueue(self, name: str, **kwargs: Any) -> None: ...

    async def schedule(self, name: str, eta: datetime, **kwargs: Any) -> None: ...


@dataclass
class Services:
    settings: Settings
    store: Store
    bus: Bus
    clock: Clock = utc_now
    passwords: PasswordHasher = field(default_factory=PasswordHasher)
    room: RoomSignals | None = None
    # The node's background jobs; None where nothing runs them (some tests, the CLI).
    jobs: JobSink | None = None
    # Web Push and email (delivery/); None: not sent from here (email: no SMTP server set).
    push: PushSender | None = None
    mailer: Mailer | None = None
    # Buckets of this node for costly requests (clips, searches), by kind and by who asks: a
    # user's id, or a string naming a signed-out client (its address).
    buckets: dict[tuple[str, int | str], TokenBucket] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, store: Store, bus: Bus, clock: Clock = utc_now) -> Services:
        hasher = PasswordHasher(
            time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib
        )
        return cls(settings=settings, store=store, bus=bus, clock=clock, passwords=hasher)

    def take(self, kind: str, who: int | str, *, burst: float, rate_per_s: float) -> None:
        """One of `who`'s `kind` requests, or RateLimited (429 with Retry-After)."""
        now_s = time.monotonic()
        if len(self.buckets) > 10_000:  # forget the users whose buckets have refilled
            self.buckets = {
                key: bucket
                for key, bucket in self.buckets.items()
                if now_s - bucket.updated_s < bucket.burst / bucket.rate_per_s
            }
        bucket = self.buckets.get((kind, who))
        if bucket is None:
            bucket = self.buckets[(kind, who)] = TokenBucket(burst, rate_per_s, what=kind)
        bucket.take(now_s)

    async def hash_password(self, password: str) -> str:
        # argon2 costs tens of milliseconds of CPU: keep it off the event loop.
        return await asyncio.to_thread(self.passwords.hash, password)

    async def verify_password(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self.passwords.verify(password_hash, password)
            except Exception:
                return False

        return await asyncio.to_thread(verify)


class Change:
    """One write transaction and the events it publishes once committed."""

    def __init__(self, services: Services, session: AsyncSession) -> None:
        self.services = services
        self.session = session
        self.now = services.clock()
        self.outbox: list[tuple[str, str]] = []
        self.listeners_changed_in: set[int] = set()
        # Jobs to enqueue once this commits: (name, when (None: now), arguments).
        self.jobs: list[tuple[str, datetime | None, dict[str, Any]]] = []

    def enqueue(self, name: str, at: datetime | None = None, **kwargs: Any) -> None:
        """Queues a background job for after the commit (`at`: not before then)."""
        self.jobs.append((name, at, kwargs))

    def listeners_changed(self, space_id: int) -> None:
        """Who listens in the space changed: its count goes out once this commits (a count read
        before the commit would be the old one)."""
        self.listeners_changed_in.add(space_id)

    async def record(self, space: Space, event: Event) -> None:
        """Numbers a change of `space`, stores it for resume and queues it for publishing.

        `space` must have been loaded with `repo.space(..., lock=True)` in this transaction.
        """
        space.event_seq += 1
        numbered = event.model_copy(update={"seq": space.event_seq})
        payload = numbered.model_dump_json()
        self.session.add(
            SpaceEvent(space_id=space.id, seq=space.event_seq, payload=payload, created_at=self.now)
        )
        keep = self.services.settings.events_kept_per_space
        # Pruned in batches, not on every change.
        if space.event_seq > keep and space.event_seq % min(100, keep) == 0:
            await repo.prune_events(self.session, space.id, space.event_seq - keep)
        self.outbox.append((space_channel(space.id), payload))
        if isinstance(event, SpaceUpdated):
            # Pages listing spaces hear it too (docs/websocket.md, the feed).
            self.outbox.append(space_changed_notice(event.space))

    def publish(self, space_id: int, event: Event) -> None:
        """Queues an unnumbered (ephemeral) event."""
        self.outbox.append((space_channel(space_id), event.model_dump_json()))


async def locked_space(unit: Change, space_id: int) -> Space:
    """The space, with its write lock taken for this transaction (every change of a space takes
    it first), or NotFound."""
    space = await repo.space(unit.session, space_id, lock=True)
    if space is None:
        raise NotFound(f"no space {space_id}")
    return space


@asynccontextmanager
async def change(services: Services) -> AsyncIterator[Change]:
    """Runs the block in one transaction; publishes its events only after the commit."""
    async with services.store.write() as session:
        unit = Change(services, session)
        yield unit
    await publish(services, unit.outbox)
    await enqueue_jobs(services, unit.jobs)
    if services.room is not None:
        for space_id in unit.listeners_changed_in:
            services.room.presence_changed(space_id)


async def enqueue_jobs(
    services: Services, jobs: list[tuple[str, datetime | None, dict[str, Any]]]
) -> None:
    if services.jobs is None:
        return
    for name, at, kwargs in jobs:
        try:
            if at is None:
                await services.jobs.enqueue(name, **kwargs)
            else:
                await services.jobs.schedule(name, at, **kwargs)
        except Exception:
            # The change is committed; the sweeps take up what its job would have done.
            log.exception("jobs: enqueue of %s failed", name)


async def publish(services: Services, outbox: list[tuple[str, str]]) -> None:
    for channel, message in outbox:
        try:
            await services.bus.publish(channel, message)
        except Exception:
            # The change is committed and stored; clients see the gap in `seq` and fetch it.
            log.exception("bus: publish to %s failed", channel)
