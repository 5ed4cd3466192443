"""Direct messages (issue 13, domain/messages.py has the rules; invitations, which are messages
too, are actions/invitations.py).

A message is stored, its recipient is told (actions/notify.py: the bell, push, email as they
chose) and both sides' own sockets get it (`message`), all once the change commits."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from parley.actions import analytics, notify
from parley.actions.base import Change, Services, change
from parley.domain import messages as rules
from parley.domain.analytics import TallyKind
from parley.domain.errors import NotFound
from parley.domain.events import MessageAdded
from parley.domain.messages import (
    ConversationView,
    DmPolicy,
    InvitationView,
    InviteRole,
    MessageView,
    Refusal,
    ThreadView,
)
from parley.domain.notify import Kind, dedupe_key, quoted
from parley.domain.views import SpaceView
from parley.store import repo, views
from parley.store.models import Message, Notification, Space, User

log = logging.getLogger(__name__)

# In a notification, a message's text is cut to this.
PREVIEW_CHARS = 80


async def _target(session: AsyncSession, handle: str) -> User:
    user = await repo.user_by_handle(session, handle)
    if user is None:
        raise NotFound(f"no user @{handle[:40]}")
    return user


async def refusal(session: AsyncSession, sender_id: int, recipient: User) -> Refusal | None:
    """Why `sender_id` may not message `recipient` now (None: they may)."""
    if sender_id == recipient.id:
        return Refusal.SELF
    wrote = await session.scalar(
        select(Message.id)
        .where(Message.sender_id == recipient.id, Message.recipient_id == sender_id)
        .limit(1)
    )
    return rules.may_message(
        sender_id=sender_id,
        recipient_id=recipient.id,
        dm_policy=DmPolicy(recipient.dm_policy),
        recipient_follows_sender=await repo.follows(session, recipient.id, sender_id),
        blocked_either_way=await repo.blocked_either_way(session, sender_id, recipient.id),
        recipient_wrote_to_sender=wrote is not None,
    )


async def _check_daily(unit: Change, sender_id: int) -> None:
    """The sender's messages of the last day, counted in the database (every node's): the
    oldest of their last MESSAGES_PER_DAY_MAX, read down the (sender_id, id) index."""
    oldest = await unit.session.scalar(
        select(Message.created_at)
        .where(Message.sender_id == sender_id)
        .order_by(Message.id.desc())
        .offset(rules.MESSAGES_PER_DAY_MAX - 1)
        .limit(1)
    )
    rules.check_daily_messages(oldest, unit.now)


async def message_views(session: AsyncSession, rows: Sequence[Message]) -> list[MessageView]:
    users = await repo.users_by_id(
        session, [user_id for row in rows for user_id in (row.sender_id, row.recipient_id)]
    )
    space_ids = {row.space_id for row in rows if row.space_id is not None}
    spaces: dict[int, SpaceView] = {}
    if space_ids:
        found = (await session.execute(select(Space).where(Space.id.in_(space_ids)))).scalars()
        spaces = {view.id: view for view in await views.space_views(session, list(found))}
    return [
        MessageView(
            id=row.id,
            sender=views.user_brief(users[row.sender_id]),
            recipient=views.user_brief(users[row.recipient_id]),
            text=row.text,
            created_at=row.created_at,
            read=row.read_at is not None,
            space=spaces.get(row.space_id) if row.space_id is not None else None,
            invitation=InvitationView(
                role=InviteRole(row.invite_role), accepted=row.accepted_at is not None
            )
            if row.invite_role is not None
            else None,
        )
        for row in rows
    ]


def publish_message(unit: Change, view: MessageView) -> None:
    """Both sides' sockets get the message (the sender's other tabs too), after the commit."""
    event = MessageAdded(message=view.model_dump(mode="json", by_alias=True))
    notify.publish_after_commit(unit, [view.sender.id, view.recipient.id], event.model_dump_json())


def _notice(sender: User, text: str, space: Space | None, role: InviteRole | None) -> str:
    name = sender.display_name
    if role is InviteRole.SPEAK and space is not None:
        return f"{name} invites you to speak in {quoted(space.title)}"
    if role is InviteRole.LISTEN and space is not None:
        return f"{name} invites you to listen to {quoted(space.title)}"
    if not text and space is not None:
        return f"{name} sent you a space: {quoted(space.title)}"
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    return f"{name}: {preview}"


async def store_message(
    unit: Change,
    sender: User,
    recipient: User,
    *,
    text: str,
    space: Space | None,
    role: InviteRole | None,
) -> MessageView:
    row = Message(
        sender_id=sender.id,
        recipient_id=recipient.id,
        text=text,
        space_id=space.id if space is not None else None,
        invite_role=role.value if role is not None else None,
        accepted_at=None,
        created_at=unit.now,
        read_at=None,
    )
    await _check_daily(unit, sender.id)
    unit.session.add(row)
    await unit.session.flush()
    kind = Kind.INVITATION if role is not None else Kind.MESSAGE
    await notify.tell(
        unit,
        recipient.id,
        kind=kind,
        dedupe_key=dedupe_key(kind, row.id),
        text=_notice(sender, text, space, role),
        link=f"/messages/{sender.handle}",
        actor_id=sender.id,
        space_id=space.id if space is not None else None,
    )
    view = (await message_views(unit.session, [row]))[0]
    publish_message(unit, view)
    return view


async def send(
    services: Services, sender_id: int, handle: str, *, text: str, space_id: int | None
) -> MessageView:
    """A message to `handle`; `space_id`: with a space card (a space shared to one person)."""
    text = rules.check_message_text(text, has_space=space_id is not None)
    async with change(services) as unit:
        recipient = await _target(unit.session, handle)
        rules.require_may_message(await refusal(unit.session, sender_id, recipient))
        space = None
        if space_id is not None:
            space = await repo.space(unit.session, space_id)
            if space is None:
                raise NotFound(f"no space {space_id}")
            if sender_id != space.host_id:
                await analytics.tally(unit, space_id, TallyKind.SHARE)
        sender = await unit.session.get(User, sender_id)
        assert sender is not None  # the caller is signed in
        return await store_message(unit, sender, recipient, text=text, space=space, role=None)


def _between(user_id: int, other_id: int) -> ColumnElement[bool]:
    return ((Message.sender_id == user_id) & (Message.recipient_id == other_id)) | (
        (Message.sender_id == other_id) & (Message.recipient_id == user_id)
    )


async def _unread(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.recipient_id == user_id, Message.read_at.is_(None))
        )
        or 0
    )


async def conversations(services: Services, user_id: int) -> tuple[list[ConversationView], int]:
    """The user's conversations, the one with the newest message first, and how many messages
    they have not read in all."""
    other = case((Message.sender_id == user_id, Message.recipient_id), else_=Message.sender_id)
    async with services.store.read() as session:
        newest = (
            await session.execute(
                select(func.max(Message.id).label("last_id"))
                .where((Message.sender_id == user_id) | (Message.recipient_id == user_id))
                .group_by(other)
                .order_by(func.max(Message.id).desc())
                .limit(rules.CONVERSATIONS_SHOWN)
            )
        ).scalars()
        last_ids = list(newest)
        rows = list(
            (
                await session.execute(
                    select(Message).where(Message.id.in_(last_ids)).order_by(Message.id.desc())
                )
            ).scalars()
        )
        unread_from = {
            sender: int(count)
            for sender, count in (
                await session.execute(
                    select(Message.sender_id, func.count())
                    .where(Message.recipient_id == user_id, Message.read_at.is_(None))
                    .group_by(Message.sender_id)
                )
            ).all()
        }
        shown = await message_views(session, rows)
        listed = []
        for view in shown:
            with_ = view.recipient if view.sender.id == user_id else view.sender
            listed.append(
                ConversationView(with_=with_, last=view, unread=unread_from.get(with_.id, 0))
            )
        return listed, await _unread(session, user_id)


async def thread(
    services: Services, user_id: int, handle: str, *, before_id: int | None
) -> ThreadView:
    """A page of the conversation with `handle`, oldest first, and whether the user may write
    to them now (and why not)."""
    async with services.store.read() as session:
        other = await _target(session, handle)
        query = select(Message).where(_between(user_id, other.id))
        if before_id is not None:
            query = query.where(Message.id < before_id)
        rows = list(
            (
                await session.execute(query.order_by(Message.id.desc()).limit(rules.PAGE_SIZE))
            ).scalars()
        )
        rows.reverse()
        refused = await refusal(session, user_id, other)
        return ThreadView(
            with_=views.user_brief(other),
            messages=await message_views(session, rows),
            can_send=refused is None,
            cannot_send_reason=refused,
        )


async def mark_read(services: Services, user_id: int, handle: str) -> None:
    """Everything `handle` sent the user is read, and the bell's notices of it with it."""
    async with change(services) as unit:
        other = await _target(unit.session, handle)
        await unit.session.execute(
            update(Message)
            .where(
                Message.sender_id == other.id,
                Message.recipient_id == user_id,
                Message.read_at.is_(None),
            )
            .values(read_at=unit.now)
        )
        await unit.session.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.actor_id == other.id,
                Notification.kind.in_([Kind.MESSAGE.value, Kind.INVITATION.value]),
                Notification.read_at.is_(None),
            )
            .values(read_at=unit.now)
        )
