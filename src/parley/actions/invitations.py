"""Invitations by message (issue 13): a host or co-host invites people to listen to or speak in a
scheduled or live space, each refused or sent on their own; the invitee accepts from the message,
and accepting to speak brings them on stage through the stage's own rules (domain/messages.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions import messages
from parley.actions.base import Change, Services, change, locked_space
from parley.domain import messages as rules
from parley.domain.errors import Blocked, NotFound, RateLimited, Removed
from parley.domain.events import MemberUpdated
from parley.domain.messages import (
    InviteRole,
    Refusal,
)
from parley.domain.space import SpaceState
from parley.domain.stage import Role, Seat, StageRequest
from parley.domain.views import MemberView
from parley.store import repo, views
from parley.store.models import Message, Reminder, Space, SpaceMember, User

log = logging.getLogger(__name__)


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
            refusal = await messages.refusal(unit.session, inviter_id, user)
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
                await messages.store_message(unit, sender, user, text=text, space=space, role=role)
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
        messages.publish_message(unit, (await messages.message_views(unit.session, [message]))[0])
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
