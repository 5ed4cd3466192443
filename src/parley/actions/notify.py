"""Telling people (issue 13): one notifications model and one delivery path. A notification is a
row per user (the app's bell), pushed to their sockets after the commit, and handed to the Web
Push and email jobs when the user chose those channels (domain/notify.py decides which).

One user is told inside the action that causes it (`tell`); many (a host's followers) through a
fan-out (actions/fanout.py), which tells them in batches with `recipients` and `store` below."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions.base import Change, Services, change, publish
from parley.bus.channels import INBOX_CHANNEL
from parley.domain import notify as rules
from parley.domain.errors import Invalid
from parley.domain.events import InboxBatch, InboxItem, NotificationAdded
from parley.domain.views import NotificationView, UserBrief
from parley.store import repo, views
from parley.store.models import (
    Block,
    Fanout,
    Notification,
    PushSubscription,
    User,
)

log = logging.getLogger(__name__)

# The bell lists this many of the newest.
SHOWN = 50
# The push job's name (jobs/queue.py; its body is actions/deliver.py send_pushes).
PUSH_JOB = "notify.push"


@dataclass(frozen=True, slots=True)
class Recipient:
    """What deciding how to tell one user needs of them (the columns, not the whole row: a
    fan-out reads a thousand at a time)."""

    id: int
    email: str | None
    email_confirmed: bool
    notify_channels: dict[str, list[str]] | None
    quiet_start_min: int | None
    quiet_end_min: int | None
    time_zone: str


_RECIPIENT_COLUMNS = (
    User.id,
    User.email,
    User.email_confirmed,
    User.notify_channels,
    User.quiet_start_min,
    User.quiet_end_min,
    User.time_zone,
)


def preferences(user: User | Recipient, has_push: bool) -> rules.Preferences:
    quiet = None
    if user.quiet_start_min is not None and user.quiet_end_min is not None:
        quiet = rules.QuietHours(
            start=_time_of(user.quiet_start_min),
            end=_time_of(user.quiet_end_min),
            time_zone=user.time_zone,
        )
    try:
        channels = rules.parse_channels(user.notify_channels or {})
    except Invalid:
        # Stored by an older version that knew other kinds or channels: the defaults, rather
        # than a fan-out that fails on this user at every try.
        log.warning("user(%s) stored channels no longer valid: the defaults", user.id)
        channels = {}
    return rules.Preferences(
        channels=channels,
        quiet=quiet,
        has_email=user.email is not None and user.email_confirmed,
        has_push=has_push,
    )


def _time_of(minutes: int) -> time:
    return time(hour=minutes // 60, minute=minutes % 60)


async def recipients(
    session: AsyncSession, user_ids: Sequence[int], actor_id: int | None
) -> list[tuple[Recipient, bool]]:
    """The users of `user_ids` who may hear of `actor_id` (no block either way), each with
    whether they have a push subscription."""
    if not user_ids:
        return []
    blocked: set[int] = set()
    if actor_id is not None:
        rows = await session.execute(
            select(Block.blocker_id, Block.blocked_id).where(
                or_(
                    (Block.blocker_id == actor_id) & Block.blocked_id.in_(user_ids),
                    (Block.blocked_id == actor_id) & Block.blocker_id.in_(user_ids),
                )
            )
        )
        for blocker, blocked_id in rows.all():
            blocked.add(blocked_id if blocker == actor_id else blocker)
    pushable = set(
        (
            await session.execute(
                select(PushSubscription.user_id)
                .where(PushSubscription.user_id.in_(user_ids))
                .distinct()
            )
        ).scalars()
    )
    users = [
        Recipient(*row)
        for row in (
            await session.execute(select(*_RECIPIENT_COLUMNS).where(User.id.in_(user_ids)))
        ).all()
    ]
    return [
        (user, user.id in pushable)
        for user in users
        if rules.may_tell(
            recipient_id=user.id, actor_id=actor_id, blocked_either_way=user.id in blocked
        )
    ]


async def store(
    unit: Change,
    recipients: list[tuple[Recipient, bool]],
    *,
    kind: rules.Kind,
    dedupe_key: str,
    text: str,
    link: str,
    actor_id: int | None,
    space_id: int | None,
) -> int:
    """Inserts the notifications of `recipients` who chose any channel for `kind`, and queues
    for after the commit: each new one to its user's sockets, the pushes due. How many were new."""
    settings = unit.services.settings
    batch_delay = timedelta(seconds=settings.email_batch_interval_s)
    rows: list[dict[str, Any]] = []
    for user, has_push in recipients:
        prefs = preferences(user, has_push)
        how = rules.delivery(kind, prefs, unit.now)
        if not how.any:
            continue
        email_after = None
        if how.email and settings.smtp_host:
            # Waits a little, so that what follows soon goes in the same email; and the wait
            # must not end in quiet hours (told just before they start).
            email_after = (how.email_after or unit.now) + batch_delay
            if prefs.quiet is not None:
                email_after = prefs.quiet.ends_after(email_after)
        rows.append(
            {
                "user_id": user.id,
                "kind": kind.value,
                "dedupe_key": dedupe_key,
                "actor_id": actor_id,
                "space_id": space_id,
                "text": text,
                "link": link,
                "in_app": how.in_app,
                "created_at": unit.now,
                "read_at": None,
                "push_due": how.push,
                "pushed_at": None,
                "email_after": email_after,
                "emailed_at": None,
            }
        )
    if not rows:
        return 0
    statement = (
        repo.upsert(unit.session, Notification)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(Notification.id, Notification.user_id, Notification.push_due)
    )
    # The rows as parameters (executemany), not `.values(rows)`: one statement compiled once
    # and cached, which SQLAlchemy sends as multi-row INSERTs within the drivers' parameter
    # limits; a VALUES list of a thousand rows was compiled anew each batch (0.4 s of CPU).
    inserted = (await unit.session.execute(statement, rows)).all()
    if not inserted:
        return 0
    actor = await unit.session.get(User, actor_id) if actor_id is not None else None
    brief = views.user_brief(actor) if actor is not None else None
    in_app = {row["user_id"] for row in rows if row["in_app"]}
    items = [
        InboxItem(
            user_id=user_id,
            event=NotificationAdded(
                notification=_view(notification_id, kind, text, link, brief, space_id, unit.now)
            ).model_dump_json(),
        )
        for notification_id, user_id, _ in inserted
        if user_id in in_app
    ]
    if items:
        unit.outbox.append((INBOX_CHANNEL, InboxBatch(items=items).model_dump_json()))
    pushes = [notification_id for notification_id, _, push_due in inserted if push_due]
    if pushes:
        unit.enqueue(PUSH_JOB, notification_ids=pushes)
    return len(inserted)


def _view(
    notification_id: int,
    kind: rules.Kind,
    text: str,
    link: str,
    actor: UserBrief | None,
    space_id: int | None,
    created_at: datetime,
) -> NotificationView:
    return NotificationView(
        id=notification_id,
        kind=kind.value,
        text=text,
        link=link,
        actor=actor,
        space_id=space_id,
        created_at=created_at,
        read=False,
    )


async def tell(
    unit: Change,
    user_id: int,
    *,
    kind: rules.Kind,
    dedupe_key: str,
    text: str,
    link: str,
    actor_id: int | None = None,
    space_id: int | None = None,
) -> bool:
    """Tells one user, in the caller's transaction: stored with the change that caused it, sent
    once it commits. False when they are not told (their own doing, a block, no channel, told
    before under `dedupe_key`)."""
    found = await recipients(unit.session, [user_id], actor_id)
    told = await store(
        unit,
        found,
        kind=kind,
        dedupe_key=dedupe_key,
        text=text,
        link=link,
        actor_id=actor_id,
        space_id=space_id,
    )
    return told > 0


async def notifications(services: Services, user_id: int) -> tuple[list[NotificationView], int]:
    """The newest notifications shown in the app, and how many of those are unread."""
    async with services.store.read() as session:
        rows = list(
            (
                await session.execute(
                    select(Notification)
                    .where(Notification.user_id == user_id, Notification.in_app.is_(True))
                    .order_by(Notification.id.desc())
                    .limit(SHOWN)
                )
            ).scalars()
        )
        unread = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.in_app.is_(True),
                Notification.read_at.is_(None),
            )
        )
        actors = {
            user.id: views.user_brief(user)
            for user in (
                await session.execute(
                    select(User).where(
                        User.id.in_({row.actor_id for row in rows if row.actor_id is not None})
                    )
                )
            ).scalars()
        }
        return [
            NotificationView(
                id=row.id,
                kind=row.kind,
                text=row.text,
                link=row.link,
                actor=actors.get(row.actor_id) if row.actor_id is not None else None,
                space_id=row.space_id,
                created_at=row.created_at,
                read=row.read_at is not None,
            )
            for row in rows
        ], int(unread or 0)


async def mark_read(services: Services, user_id: int, ids: list[int] | None) -> None:
    async with change(services) as unit:
        query = (
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=unit.now)
        )
        if ids is not None:
            query = query.where(Notification.id.in_(ids))
        await unit.session.execute(query)


async def forget_old(services: Services) -> int:
    """Notifications older than domain/notify.py KEPT_DAYS go, and so do finished fan-outs
    (their notifications hold what they did). How many notifications went."""
    async with change(services) as unit:
        cutoff = unit.now - timedelta(days=rules.KEPT_DAYS)
        gone = await unit.session.execute(
            delete(Notification).where(Notification.created_at < cutoff).returning(Notification.id)
        )
        await unit.session.execute(
            delete(Fanout).where(Fanout.done_at < unit.now - timedelta(days=1))
        )
        return len(gone.all())


def publish_after_commit(unit: Change, user_ids: Sequence[int], event_json: str) -> None:
    """Queues one event for these users' sockets on every node, sent once `unit` commits."""
    items = [InboxItem(user_id=user_id, event=event_json) for user_id in dict.fromkeys(user_ids)]
    if items:
        unit.outbox.append((INBOX_CHANNEL, InboxBatch(items=items).model_dump_json()))


async def publish_to_user(services: Services, user_id: int, event_json: str) -> None:
    """Sends one event to a user's sockets on every node, now (no transaction)."""
    batch = InboxBatch(items=[InboxItem(user_id=user_id, event=event_json)])
    await publish(services, [(INBOX_CHANNEL, batch.model_dump_json())])
