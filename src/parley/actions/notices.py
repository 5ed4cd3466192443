"""A user's notices from the instance (a report's receipt and outcome, a warning): read and
marked read by their owner only."""

from __future__ import annotations

from sqlalchemy import func, select, update

from parley.actions.base import Services, change
from parley.domain.views import NoticeView
from parley.store import views
from parley.store.models import Notice

NOTICES_SHOWN = 100


async def notices(services: Services, user_id: int) -> tuple[list[NoticeView], int]:
    """The newest notices, and how many are unread."""
    async with services.store.read() as session:
        rows = (
            await session.execute(
                select(Notice)
                .where(Notice.user_id == user_id)
                .order_by(Notice.id.desc())
                .limit(NOTICES_SHOWN)
            )
        ).scalars()
        unread = await session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        )
        return [views.notice_view(row) for row in rows], int(unread or 0)


async def mark_read(services: Services, user_id: int, ids: list[int] | None) -> None:
    async with change(services) as unit:
        query = (
            update(Notice)
            .where(Notice.user_id == user_id, Notice.read_at.is_(None))
            .values(read_at=unit.now)
        )
        if ids is not None:
            query = query.where(Notice.id.in_(ids))
        await unit.session.execute(query)
