"""The admin desk: instance roles, sanctions (warn, restrict hosting, suspend, lift), ending a
space, removing a pin or a clip, accounts awaiting approval and invite codes. Every action here
writes its audit line in its own transaction; a suspension then closes every way in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy import delete, select, update

from parley.actions import audit, notify
from parley.actions.base import Change, Services, change, locked_space
from parley.actions.recordings import clip_file
from parley.bus.channels import access_revoked_notice
from parley.domain import moderation as rules
from parley.domain import space as space_rules
from parley.domain.errors import Forbidden, Invalid, InvalidState, NotFound
from parley.domain.events import PinRemoved, SpaceUpdated
from parley.domain.moderation import AdminAction, InstanceRole, SanctionKind
from parley.domain.notify import Kind, dedupe_key
from parley.domain.space import SpaceState, SpaceTransition
from parley.domain.views import AccountView, SanctionView
from parley.store import repo, views
from parley.store.models import AuthSession, Clip, Notice, Pin, Sanction, Space, User

log = logging.getLogger(__name__)

INVITES_PER_REQUEST_MAX = 100
INVITE_MAX_USES = 1000


async def staff_actor(
    unit: Change, actor_id: int, action: AdminAction, target: User | None
) -> User:
    actor = await unit.session.get(User, actor_id)
    if actor is None:
        raise NotFound("no such user")
    rules.check_may(
        InstanceRole(actor.role),
        action,
        InstanceRole(target.role) if target is not None else None,
    )
    return actor


async def target_user(unit: Change, user_id: int) -> User:
    target = await unit.session.get(User, user_id)
    if target is None:
        raise NotFound(f"no user {user_id}")
    return target


async def staff_role(services: Services, user_id: int) -> InstanceRole:
    """The caller's instance role; Forbidden for members (the desk is not theirs)."""
    async with services.store.read() as session:
        user = await session.get(User, user_id)
    role = InstanceRole(user.role) if user is not None else InstanceRole.MEMBER
    rules.check_may(role, AdminAction.REVIEW)
    return role


async def send_notice(
    unit: Change, user_id: int, kind: str, text: str, report_id: int | None = None
) -> None:
    """A notice from the instance (kept on /notices), and the bell's notification of it (kind
    `report`: the user chooses its channels like any other)."""
    notice = Notice(user_id=user_id, kind=kind, text=text, report_id=report_id, created_at=unit.now)
    unit.session.add(notice)
    await unit.session.flush()
    await notify.tell(
        unit,
        user_id,
        kind=Kind.REPORT,
        dedupe_key=dedupe_key(Kind.REPORT, "notice", notice.id),
        text=text,
        link="/notices",
    )


# --- roles --------------------------------------------------------------------------------------
async def grant_role(
    services: Services, actor_id: int | None, handle: str, role: InstanceRole, reason: str = ""
) -> AccountView:
    """Gives `handle` an instance role. `actor_id` None: the operator, from the command line
    (`parley admin grant`)."""
    reason = rules.check_text(reason, "reason", rules.REASON_MAX)
    async with change(services) as unit:
        target = await repo.user_by_handle(unit.session, handle)
        if target is None:
            raise NotFound(f"no user @{handle}")
        actor = None
        if actor_id is not None:
            if actor_id == target.id:
                raise Forbidden("you cannot change your own role")
            actor = await staff_actor(unit, actor_id, AdminAction.GRANT_ROLE, target)
        if target.role != role.value:
            audit.write(
                unit,
                actor=actor,
                actor_role=actor.role if actor is not None else "operator",
                action=AdminAction.GRANT_ROLE.value,
                target=target,
                reason=reason,
                role=role.value,
                previous_role=target.role,
            )
            target.role = role.value
        return views.account_view(target, unit.now)


# --- sanctions ----------------------------------------------------------------------------------
def _sanction(
    unit: Change,
    actor: User,
    target: User,
    kind: SanctionKind,
    action: AdminAction,
    *,
    ends_at: datetime | None,
    reason: str,
    report_id: int | None,
) -> None:
    """Adds the sanction to the user's history, and its audit line."""
    unit.session.add(
        Sanction(
            user_id=target.id,
            kind=kind.value,
            reason=reason,
            created_by=actor.id,
            created_at=unit.now,
            ends_at=ends_at,
            report_id=report_id,
        )
    )
    audit.write(
        unit,
        actor=actor,
        actor_role=actor.role,
        action=action.value,
        target=target,
        report_id=report_id,
        reason=reason,
        until=ends_at.isoformat() if ends_at is not None else None,
    )


def _until_text(until: datetime) -> str:
    return "for good" if until >= rules.FOREVER else f"until {until:%Y-%m-%d %H:%M} UTC"


async def warn(
    services: Services, actor_id: int, user_id: int, message: str, report_id: int | None = None
) -> None:
    """A message to the user from the instance's moderators, kept in their history."""
    message = rules.check_text(message, "message", rules.REASON_MAX)
    if not message:
        raise Invalid("message", "min_length", "a warning says what it is about")
    async with change(services) as unit:
        target = await target_user(unit, user_id)
        actor = await staff_actor(unit, actor_id, AdminAction.WARN, target)
        _sanction(
            unit,
            actor,
            target,
            SanctionKind.WARNING,
            AdminAction.WARN,
            ends_at=None,
            reason=message,
            report_id=report_id,
        )
        await send_notice(unit, target.id, "warning", f"A warning from the moderators: {message}")


async def restrict_hosting(
    services: Services,
    actor_id: int,
    user_id: int,
    *,
    days: float | None,
    reason: str,
    report_id: int | None = None,
) -> AccountView:
    reason = rules.check_text(reason, "reason", rules.REASON_MAX)
    async with change(services) as unit:
        target = await target_user(unit, user_id)
        actor = await staff_actor(unit, actor_id, AdminAction.RESTRICT_HOSTING, target)
        until = rules.extended(
            target.hosting_restricted_until,
            rules.sanction_end(InstanceRole(actor.role), unit.now, days),
            unit.now,
        )
        _sanction(
            unit,
            actor,
            target,
            SanctionKind.HOSTING_RESTRICTED,
            AdminAction.RESTRICT_HOSTING,
            ends_at=until,
            reason=reason,
            report_id=report_id,
        )
        target.hosting_restricted_until = until
        await send_notice(
            unit, target.id, "hosting_restricted", f"You may not host spaces {_until_text(until)}."
        )
        return views.account_view(target, unit.now)


async def suspend(
    services: Services,
    actor_id: int,
    user_id: int,
    *,
    days: float | None,
    reason: str,
    report_id: int | None = None,
) -> AccountView:
    """The account may not sign in until the end (or ever); its sessions are deleted, and once
    committed its sockets and media sessions close on every node and its live spaces end."""
    reason = rules.check_text(reason, "reason", rules.REASON_MAX)
    async with change(services) as unit:
        target = await target_user(unit, user_id)
        actor = await staff_actor(unit, actor_id, AdminAction.SUSPEND, target)
        until = rules.extended(
            target.suspended_until,
            rules.sanction_end(InstanceRole(actor.role), unit.now, days),
            unit.now,
        )
        _sanction(
            unit,
            actor,
            target,
            SanctionKind.SUSPENDED,
            AdminAction.SUSPEND_FOR_GOOD if until >= rules.FOREVER else AdminAction.SUSPEND,
            ends_at=until,
            reason=reason,
            report_id=report_id,
        )
        target.suspended_until = until
        await unit.session.execute(delete(AuthSession).where(AuthSession.user_id == target.id))
        unit.outbox.append(access_revoked_notice(target.id, None, "account suspended"))
        live = list(
            (
                await unit.session.execute(
                    select(Space.id).where(
                        Space.host_id == target.id, Space.state == SpaceState.LIVE.value
                    )
                )
            ).scalars()
        )
        view = views.account_view(target, unit.now)
    for space_id in live:
        with contextlib.suppress(InvalidState):  # it ended meanwhile
            await end_space(
                services,
                actor_id,
                space_id,
                reason="the host's account was suspended",
                report_id=report_id,
                audited=False,
            )
    return view


async def lift(services: Services, actor_id: int, user_id: int, kind: SanctionKind) -> AccountView:
    """Ends a suspension or a restriction of hosting now."""
    async with change(services) as unit:
        target = await target_user(unit, user_id)
        actor = await staff_actor(unit, actor_id, AdminAction.LIFT, target)
        current = (
            target.suspended_until
            if kind is SanctionKind.SUSPENDED
            else target.hosting_restricted_until
        )
        rules.check_lift(InstanceRole(actor.role), current, unit.now)
        if kind is SanctionKind.SUSPENDED:
            target.suspended_until = None
        elif kind is SanctionKind.HOSTING_RESTRICTED:
            target.hosting_restricted_until = None
        else:
            raise Invalid("kind", "one_of", "suspended or hosting_restricted")
        await unit.session.execute(
            update(Sanction)
            .where(
                Sanction.user_id == target.id,
                Sanction.kind == kind.value,
                Sanction.lifted_at.is_(None),
            )
            .values(lifted_at=unit.now)
        )
        audit.write(
            unit,
            actor=actor,
            actor_role=actor.role,
            action=AdminAction.LIFT.value,
            target=target,
            sanction=kind.value,
        )
        return views.account_view(target, unit.now)


async def history(
    services: Services, user_id: int, *, limit: int = rules.HISTORY_ITEMS
) -> list[SanctionView]:
    now = services.clock()
    async with services.store.read() as session:
        rows = (
            await session.execute(
                select(Sanction)
                .where(Sanction.user_id == user_id)
                .order_by(Sanction.id.desc())
                .limit(limit)
            )
        ).scalars()
        return [views.sanction_view(row, now) for row in rows]


# --- content ------------------------------------------------------------------------------------
async def end_space(
    services: Services,
    actor_id: int,
    space_id: int,
    *,
    reason: str,
    report_id: int | None = None,
    audited: bool = True,
) -> None:
    """Ends a live space (or cancels a scheduled one) over its host's head."""
    reason = rules.check_text(reason, "reason", rules.REASON_MAX)
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        host = await target_user(unit, space.host_id)
        actor = await staff_actor(unit, actor_id, AdminAction.END_SPACE, host)
        state = SpaceState(space.state)
        action = SpaceTransition.CANCEL if state is SpaceState.SCHEDULED else SpaceTransition.END
        space.state = space_rules.transition(state, action).value
        space.ended_at = unit.now
        space.host_absent_since = None
        await unit.record(space, SpaceUpdated(space=await views.space_view(unit.session, space)))
        if audited:
            audit.write(
                unit,
                actor=actor,
                actor_role=actor.role,
                action=AdminAction.END_SPACE.value,
                target=host,
                space_id=space_id,
                report_id=report_id,
                reason=reason,
                title=space.title,
            )
        if state is SpaceState.LIVE:
            await send_notice(
                unit,
                host.id,
                "space_ended",
                f"The moderators ended your space \u201c{space.title}\u201d: {reason}",
            )


async def remove_pin(
    services: Services, actor_id: int, pin_id: int, *, reason: str, report_id: int | None = None
) -> None:
    reason = rules.check_text(reason, "reason", rules.REASON_MAX)
    async with change(services) as unit:
        pin = await unit.session.get(Pin, pin_id)
        if pin is None:
            raise NotFound(f"no pin {pin_id}")
        space = await locked_space(unit, pin.space_id)
        author = await target_user(unit, pin.created_by)
        actor = await staff_actor(unit, actor_id, AdminAction.REMOVE_PIN, author)
        await unit.session.delete(pin)
        await unit.record(space, PinRemoved(pin_id=pin_id))
        audit.write(
            unit,
            actor=actor,
            actor_role=actor.role,
            action=AdminAction.REMOVE_PIN.value,
            target=author,
            space_id=space.id,
            report_id=report_id,
            reason=reason,
            text=pin.text,
        )


async def remove_clip(
    services: Services, actor_id: int, slug: str, *, reason: str, report_id: int | None = None
) -> None:
    reason = rules.check_text(reason, "reason", rules.REASON_MAX)
    async with change(services) as unit:
        clip = (
            await unit.session.execute(select(Clip).where(Clip.slug == slug))
        ).scalar_one_or_none()
        if clip is None:
            raise NotFound(f"no clip {slug}")
        author = await target_user(unit, clip.created_by)
        actor = await staff_actor(unit, actor_id, AdminAction.REMOVE_CLIP, author)
        path = clip_file(services, clip.space_id, clip.id)
        await unit.session.delete(clip)
        audit.write(
            unit,
            actor=actor,
            actor_role=actor.role,
            action=AdminAction.REMOVE_CLIP.value,
            target=author,
            space_id=clip.space_id,
            report_id=report_id,
            reason=reason,
            clip=slug,
        )
    await asyncio.to_thread(path.unlink, missing_ok=True)


async def account(services: Services, actor_id: int, user_id: int) -> AccountView:
    await staff_role(services, actor_id)
    async with services.store.read() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        return views.account_view(user, services.clock())
