"""Who comes into the instance: accounts waiting for an admin's approval, and invite codes
(the instance's sign-up modes, docs/moderation.md). Listing accounts for the desk too."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from parley.actions import audit, moderation
from parley.actions.base import Services, change
from parley.domain import moderation as rules
from parley.domain.errors import Invalid, InvalidState
from parley.domain.moderation import AccountState, AdminAction, InstanceRole
from parley.domain.views import AccountView, InviteView
from parley.store import views
from parley.store.models import InviteCode, User

INVITES_PER_REQUEST_MAX = 100
INVITE_MAX_USES = 1000


async def accounts(
    services: Services,
    actor_id: int,
    *,
    state: AccountState | None,
    role: InstanceRole | None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AccountView]:
    await moderation.staff_role(services, actor_id)
    query = select(User).order_by(User.id.desc()).limit(min(limit, 200))
    if state is not None:
        query = query.where(User.state == state.value)
    if role is not None:
        query = query.where(User.role == role.value)
    if before_id is not None:
        query = query.where(User.id < before_id)
    now = services.clock()
    async with services.store.read() as session:
        return [views.account_view(user, now) for user in (await session.execute(query)).scalars()]


async def decide_account(
    services: Services, actor_id: int, user_id: int, *, approve: bool
) -> AccountView | None:
    """An account waiting for approval is approved (it may sign in) or rejected (deleted)."""
    async with change(services) as unit:
        target = await moderation.target_user(unit, user_id)
        action = AdminAction.APPROVE_ACCOUNT if approve else AdminAction.REJECT_ACCOUNT
        actor = await moderation.staff_actor(unit, actor_id, action, target)
        if target.state != AccountState.PENDING.value:
            raise InvalidState(
                f"@{target.handle} is {target.state}, not pending", state=target.state
            )
        audit.write(unit, actor=actor, actor_role=actor.role, action=action.value, target=target)
        if approve:
            target.state = AccountState.ACTIVE.value
            return views.account_view(target, unit.now)
        await unit.session.delete(target)
        return None


async def create_invites(
    services: Services, actor_id: int | None, *, count: int, max_uses: int, days: float | None
) -> list[InviteView]:
    """`actor_id` None: the operator, from the command line (`parley admin invite`), which is how
    the first account of an invite-only instance comes in."""
    if not 1 <= count <= INVITES_PER_REQUEST_MAX:
        raise Invalid("count", "range", f"make 1 to {INVITES_PER_REQUEST_MAX} codes at once")
    if not 1 <= max_uses <= INVITE_MAX_USES:
        raise Invalid("max_uses", "range", f"a code serves 1 to {INVITE_MAX_USES} sign-ups")
    if days is not None and not 0 < days <= 365:
        raise Invalid("days", "range", "a code lasts more than 0 and at most 365 days")
    async with change(services) as unit:
        actor = (
            await moderation.staff_actor(unit, actor_id, AdminAction.CREATE_INVITE, None)
            if actor_id is not None
            else None
        )
        expires = unit.now + timedelta(days=days) if days is not None else None
        rows = [
            InviteCode(
                code=secrets.token_urlsafe(12),
                created_by=actor.id if actor is not None else None,
                created_at=unit.now,
                expires_at=expires,
                max_uses=max_uses,
                uses=0,
            )
            for _ in range(count)
        ]
        unit.session.add_all(rows)
        audit.write(
            unit,
            actor=actor,
            actor_role=actor.role if actor is not None else "operator",
            action=AdminAction.CREATE_INVITE.value,
            count=count,
            max_uses=max_uses,
        )
        return [_invite_view(row) for row in rows]


def _invite_view(row: InviteCode) -> InviteView:
    return InviteView(
        code=row.code,
        created_at=row.created_at,
        expires_at=row.expires_at,
        max_uses=row.max_uses,
        uses=row.uses,
    )


async def invites(services: Services, actor_id: int) -> list[InviteView]:
    async with services.store.read() as session:
        actor = await session.get(User, actor_id)
        rules.check_may(
            InstanceRole(actor.role) if actor else InstanceRole.MEMBER, AdminAction.CREATE_INVITE
        )
        rows = (
            await session.execute(
                select(InviteCode).order_by(InviteCode.created_at.desc()).limit(200)
            )
        ).scalars()
        return [_invite_view(row) for row in rows]
