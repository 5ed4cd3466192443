"""Direct messages and invitations by message (issue 13, domain/messages.py has the rules).

A message is stored, its recipient is told (actions/notify.py: the bell, push, email as they
chose) and both sides' own sockets get it (`message`), all once the change commits. Accepting an
invitation to speak brings the invitee on stage through the stage's own rules."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from parley.actions import notify
from parley.actions.base import Change, Services, change, locked_space
from parley.domain import messages as rules
from parley.domain.errors import Blocked, NotFound, RateLimited, Removed
from parley.domain.events import MemberUpdated, MessageAdded
from parley.domain.messages import (
    ConversationView,
    DmPolicy,
    InvitationView,
    InviteRole,
    MessageView,
    Refusal,
    ThreadView,
)
from parley.domain.notify import Kind, dedupe_key
from parley.domain.space import SpaceState
from parley.domain.stage import Role, Seat, StageRequest
from parley.domain.views import MemberView, SpaceView
from parley.store import repo, views
from parley.store.models import Message, Notification, Reminder, Space, SpaceMember, User

log = logging.getLogger(__name__)

# In a notification, a message's text is cut to this.
PREVIEW_CHARS = 80


async def _target(session: AsyncSession, handle: str) -> User:
    user = await repo.user_by_handle(session, handle)
    if user is None:
        raise NotFound(f"no user @{handle[:40]}")
    return user


async def _refusal(session: AsyncSession, sender_id: int, recipient: User) -> Refusal | None:
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


async def _views(session: AsyncSession, rows: Sequence[Message]) -> list[MessageView]:
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


def _publish(unit: Change, view: MessageView) -> None:
    """Both sides' sockets get the message (the sender's other tabs too), after the commit."""
    event = MessageAdded(message=view.model_dump(mode="json", by_alias=True))
    notify.publish_after_commit(unit, [view.sender.id, view.recipient.id], event.model_dump_json())


def _notice(sender: User, text: str, space: Space | None, role: InviteRole | None) -> str:
    name = sender.display_name
    if role is InviteRole.SPEAK and space is not None:
        return f"{name} invites you to speak in {space.title}"
    if role is InviteRole.LISTEN and space is not None:
        return f"{name} invites you to listen to {space.title}"
    if not text and space is not None:
        return f"{name} sent you a space: {space.title}"
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    return f"{name}: {preview}"


async def _store(
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
    view = (await _views(unit.session, [row]))[0]
    _publish(unit, view)
    return view


async def send(
    services: Services, sender_id: int, handle: str, *, text: str, space_id: int | None
) -> MessageView:
    """A message to `handle`; `space_id`: with a space card (a space shared to one person)."""
    text = rules.check_message_text(text, has_space=space_id is not None)
    async with change(services) as unit:
        recipient = await _target(unit.session, handle)
        rules.require_may_message(await _refusal(unit.session, sender_id, recipient))
        space = None
        if space_id is not None:
            space = await repo.space(unit.session, space_id)
            if space is None:
                raise NotFound(f"no space {space_id}")
        sender = await unit.session.get(User, sender_id)
        assert sender is not None  # the caller is signed in
        return await _store(unit, sender, recipient, text=text, space=space, role=None)


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
        shown = await _views(session, rows)
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
        refusal = await _refusal(session, user_id, other)
        return ThreadView(
            with_=views.user_brief(other),
            messages=await _views(session, rows),
            can_send=refusal is None,
            cannot_send_reason=refusal,
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


# --- invitations --------------------------------------------------------------------------------
@dataclass
class Invited:
    sent: list[str] = field(default_factory=list)
    refused: list[tuple[str, Refusal]] = field(default_factory=list)


async def _pending_invitation(
    session: AsyncSession, space_id: int, user_id: int, role: InviteRole
) -> bool:
    found = await session.scalar(
        select(Message.id)
        .where(
            Message.recipient_id == user_id,
            Message.space_id == space_id,
            Message.invite_role == role.value,
            Message.accepted_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def invite(
    services: Services,
    inviter_id: int,
    space_id: int,
    *,
    handles: Sequence[str],
    role: InviteRole,
    text: str,
) -> Invited:
    """Invites each of `handles` by message, each on their own: who cannot be invited is
    refused with the reason, the others are sent. Each invitation sent takes one of the
    inviter's `invitation` tokens (the message rate of config.py); when none is left for
    anyone, 429."""
    wanted = rules.check_invitees(handles)
    text = rules.check_message_text(text, has_space=True)
    settings = services.settings
    done = Invited()
    limited: RateLimited | None = None
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        inviter_row = await repo.member(unit.session, space_id, inviter_id)
        inviter_role = (
            Role(inviter_row.role) if inviter_row is not None and not inviter_row.removed else None
        )
        rules.require_may_invite(inviter_role, SpaceState(space.state))
        sender = await unit.session.get(User, inviter_id)
        assert sender is not None
        for handle in wanted:
            user = await repo.user_by_handle(unit.session, handle)
            if user is None:
                done.refused.append((handle, Refusal.UNKNOWN_USER))
                continue
            refusal = await _refusal(unit.session, inviter_id, user)
            if refusal is None and await repo.blocks(unit.session, space.host_id, user.id):
                refusal = Refusal.HOST_BLOCKED
            if refusal is None:
                row = await repo.member(unit.session, space_id, user.id)
                refusal = rules.invitee_refusal(repo.seat_of(row) if row else None, role)
            if refusal is None and await _pending_invitation(unit.session, space_id, user.id, role):
                refusal = Refusal.ALREADY_INVITED
            if refusal is None:
                try:
                    services.take(
                        "invitation",
                        inviter_id,
                        burst=settings.message_burst,
                        rate_per_s=1 / settings.message_interval_s,
                    )
                except RateLimited as error:
                    limited = error
                    refusal = Refusal.RATE_LIMITED
            if refusal is not None:
                done.refused.append((user.handle, refusal))
                continue
            try:
                # The day's cap is checked before anything of this one is written.
                await _store(unit, sender, user, text=text, space=space, role=role)
            except RateLimited as error:
                limited = error
                done.refused.append((user.handle, Refusal.RATE_LIMITED))
                continue
            done.sent.append(user.handle)
    if not done.sent and limited is not None:
        raise limited
    return done


@dataclass(frozen=True)
class Accepted:
    space_id: int
    role: InviteRole
    # The invitee's seat in the space after accepting (None: none yet: they open the room).
    member: MemberView | None


async def _remind(unit: Change, space_id: int, user_id: int) -> None:
    """Accepting an invitation to a scheduled space asks to be told when it starts."""
    if await unit.session.get(Reminder, (space_id, user_id)) is None:
        unit.session.add(Reminder(space_id=space_id, user_id=user_id, created_at=unit.now))


async def accept(services: Services, user_id: int, message_id: int) -> Accepted:
    """The invitee accepts. To listen: recorded (a scheduled space reminds them when it
    starts). To speak in a live space: on stage at once if there is room, else a listener with
    their hand raised; in a scheduled space: a speaker's seat held for when it starts if there
    is room, else recorded (domain/messages.py `seat_after_accepting_speak`)."""
    async with change(services) as unit:
        found = await unit.session.get(Message, message_id)
        if found is None or user_id not in (found.sender_id, found.recipient_id):
            raise NotFound(f"no message {message_id}")
        space = await locked_space(unit, found.space_id) if found.space_id is not None else None
        # Again under the space's lock: two accepts at once are taken one after the other.
        message = (
            await unit.session.execute(
                select(Message)
                .where(Message.id == message_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        role = InviteRole(message.invite_role) if message.invite_role is not None else None
        rules.require_may_accept(
            user_id=user_id,
            recipient_id=message.recipient_id,
            invite_role=role,
            accepted=message.accepted_at is not None,
            state=SpaceState(space.state) if space is not None else None,
        )
        assert space is not None
        assert role is not None
        if await repo.blocked_either_way(unit.session, message.sender_id, user_id):
            raise Blocked(rules.explain(Refusal.BLOCKED))
        if await repo.blocks(unit.session, space.host_id, user_id):
            raise Blocked("the host has blocked you")
        row = await repo.member(unit.session, space.id, user_id)
        if row is not None and row.removed:
            raise Removed("you were removed from this space")
        live = SpaceState(space.state) is SpaceState.LIVE
        if role is InviteRole.SPEAK:
            row = await _accept_speak(unit, space, message.sender_id, user_id, row, live=live)
        if not live:
            await _remind(unit, space.id, user_id)
        message.accepted_at = unit.now
        await unit.session.flush()
        _publish(unit, (await _views(unit.session, [message]))[0])
        member = await views.member_view(unit.session, row) if row is not None else None
        return Accepted(space_id=space.id, role=role, member=member)


async def _accept_speak(
    unit: Change,
    space: Space,
    inviter_id: int,
    user_id: int,
    row: SpaceMember | None,
    *,
    live: bool,
) -> SpaceMember | None:
    """The invitee's seat once they accept to speak (their row, made if they had none and it
    changes)."""
    inviter_row = await repo.member(unit.session, space.id, inviter_id)
    inviter = (
        repo.seat_of(inviter_row)
        if inviter_row is not None and not inviter_row.removed
        else Seat(user_id=inviter_id)
    )
    me = repo.seat_of(row) if row is not None else Seat(user_id=user_id)
    new = rules.seat_after_accepting_speak(
        me, inviter, stage_count=await repo.stage_count(unit.session, space.id), live=live
    )
    if new is None or new == me:
        return row
    if row is None:
        row = SpaceMember(
            space_id=space.id,
            user_id=user_id,
            role=Role.LISTENER.value,
            muted=True,
            stage_request=StageRequest.NONE.value,
            removed=False,
            connections=0,
            mic_live=False,
            captioned=True,
            joined_at=unit.now,
        )
        unit.session.add(row)
    repo.apply_seat(row, new)
    await unit.session.flush()
    await unit.record(space, MemberUpdated(member=await views.member_view(unit.session, row)))
    if new.on_stage != me.on_stage:
        unit.listeners_changed(space.id)
    log.info(
        "space(%s) user %s accepted an invitation to speak: %s",
        space.id,
        user_id,
        "on stage" if new.on_stage else "hand raised",
    )
    return row
