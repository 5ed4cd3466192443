"""The audit log: one line per moderation action (by the instance's moderators and admins, and
by hosts and co-hosts in their spaces), written in the action's own transaction so that an
action and its line are kept or lost together."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from parley.actions.base import Change, Services
from parley.domain.errors import Forbidden, NotFound
from parley.domain.moderation import InstanceRole
from parley.domain.stage import Role
from parley.domain.views import AuditEntryView
from parley.store import repo, views
from parley.store.models import AuditEntry, Space, User

AUDIT_PAGE_MAX = 200


def write(
    unit: Change,
    *,
    actor: User | None,
    actor_role: str,
    action: str,
    target: User | None = None,
    space_id: int | None = None,
    report_id: int | None = None,
    reason: str = "",
    **details: Any,
) -> None:
    """Adds the action's line to the transaction of `unit`. The handles go into `details` too,
    so the line still reads after an account is deleted."""
    if actor is not None:
        details.setdefault("actor_handle", actor.handle)
    if target is not None:
        details.setdefault("target_handle", target.handle)
    unit.session.add(
        AuditEntry(
            created_at=unit.now,
            actor_id=actor.id if actor is not None else None,
            actor_role=actor_role,
            action=action,
            target_user_id=target.id if target is not None else None,
            space_id=space_id,
            report_id=report_id,
            reason=reason,
            details=details,
        )
    )


async def write_by_id(
    unit: Change,
    *,
    actor_id: int | None,
    actor_role: str,
    action: str,
    target_id: int | None = None,
    **rest: Any,
) -> None:
    users = await repo.users_by_id(
        unit.session, [i for i in (actor_id, target_id) if i is not None]
    )
    write(
        unit,
        actor=users.get(actor_id) if actor_id is not None else None,
        actor_role=actor_role,
        action=action,
        target=users.get(target_id) if target_id is not None else None,
        **rest,
    )


async def entries(
    services: Services,
    *,
    space_ids: list[int] | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    limit: int = AUDIT_PAGE_MAX,
) -> list[AuditEntryView]:
    """The newest lines first: all (admins), or those of some spaces (their host), or those
    about or by one user."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(limit, AUDIT_PAGE_MAX))
    if space_ids is not None:
        query = query.where(AuditEntry.space_id.in_(space_ids))
    if user_id is not None:
        query = query.where(
            or_(AuditEntry.target_user_id == user_id, AuditEntry.actor_id == user_id)
        )
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    async with services.store.read() as session:
        rows = list((await session.execute(query)).scalars())
    return [views.audit_entry_view(row) for row in rows]


async def hosted_space_ids(services: Services, host_id: int) -> list[int]:
    async with services.store.read() as session:
        found = await session.execute(select(Space.id).where(Space.host_id == host_id))
        return list(found.scalars())


CSV_COLUMNS = [
    "id",
    "created_at",
    "actor_id",
    "actor_handle",
    "actor_role",
    "action",
    "target_user_id",
    "target_handle",
    "space_id",
    "report_id",
    "reason",
]


def to_csv(lines: list[AuditEntryView]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        row = [
            line.id,
            line.created_at.isoformat(),
            line.actor_id,
            line.actor_handle,
            line.actor_role,
            line.action,
            line.target_user_id,
            line.target_handle,
            line.space_id,
            line.report_id,
            line.reason,
        ]
        writer.writerow(
            [
                "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v
                for v in row
            ]
        )
    return out.getvalue()


def _as_text(value: object) -> object:
    """A cell starting with = + - @ (or a tab, a return) is a formula to spreadsheets: quoted
    as text (OWASP's CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def space_log(services: Services, space_id: int, viewer_id: int) -> list[AuditEntryView]:
    """The moderation of one space, for its host and co-hosts (and the instance's staff)."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        member = await repo.member(session, space_id, viewer_id)
        viewer = await session.get(User, viewer_id)
    staff = viewer is not None and viewer.role in (InstanceRole.ADMIN, InstanceRole.MODERATOR)
    runs_it = member is not None and member.role in (Role.HOST.value, Role.COHOST.value)
    if not (staff or runs_it or space.host_id == viewer_id):
        raise Forbidden("only the space's host and co-hosts read its moderation log")
    return await entries(services, space_ids=[space_id])


async def everything(services: Services) -> list[AuditEntryView]:
    """Every line, newest first (the export), read page by page."""
    lines: list[AuditEntryView] = []
    before: int | None = None
    while True:
        page = await entries(services, before_id=before)
        lines.extend(page)
        if len(page) < AUDIT_PAGE_MAX:
            return lines
        before = page[-1].id
