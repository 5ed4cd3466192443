"""Queries of reposts (issue 13): the spaces the people a viewer follows shared, and who shared
them. They run inside a caller's transaction and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.domain import sharing as rules
from parley.store.discovery import not_blocked
from parley.store.models import Follow, Repost, Space


@dataclass(frozen=True)
class SharedRow:
    space: Space
    # How many of the people the viewer follows shared it.
    shared_count: int


async def reposted(session: AsyncSession, space_id: int, user_id: int) -> bool:
    found = await session.get(Repost, (space_id, user_id))
    return found is not None


def _followed_reposts(viewer_id: int) -> Any:
    """The reposts, by people the viewer follows, of upcoming and live spaces whose host and
    sharer the viewer neither blocked nor was blocked by."""
    return (
        select(Repost.space_id, Repost.user_id, Repost.created_at)
        .join(Follow, and_(Follow.followee_id == Repost.user_id, Follow.follower_id == viewer_id))
        .join(Space, Space.id == Repost.space_id)
        .where(
            Space.state.in_([state.value for state in rules.REPOSTABLE]),
            *not_blocked(viewer_id, Space.host_id),
            *not_blocked(viewer_id, Repost.user_id),
        )
    )


async def shared_with(session: AsyncSession, viewer_id: int, *, limit: int) -> list[SharedRow]:
    """The spaces the people the viewer follows shared, the latest shared first."""
    reposts = _followed_reposts(viewer_id).subquery()
    latest = func.max(reposts.c.created_at)
    rows = (
        await session.execute(
            select(reposts.c.space_id, func.count())
            .group_by(reposts.c.space_id)
            .order_by(latest.desc(), reposts.c.space_id.desc())
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    ids = [space_id for space_id, _ in rows]
    spaces = {
        space.id: space
        for space in (await session.execute(select(Space).where(Space.id.in_(ids)))).scalars()
    }
    return [SharedRow(spaces[space_id], int(count)) for space_id, count in rows]


async def sharers(
    session: AsyncSession, viewer_id: int, space_ids: Sequence[int], *, per_space: int
) -> dict[int, list[int]]:
    """Of each space, the newest `per_space` people the viewer follows who shared it."""
    if not space_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=Repost.space_id,
            order_by=(Repost.created_at.desc(), Repost.user_id.desc()),
        )
        .label("rank")
    )
    ranked = (
        _followed_reposts(viewer_id).where(Repost.space_id.in_(space_ids)).add_columns(rank)
    ).subquery()
    rows = await session.execute(
        select(ranked.c.space_id, ranked.c.user_id)
        .where(ranked.c.rank <= per_space)
        .order_by(ranked.c.space_id, ranked.c.rank)
    )
    found: dict[int, list[int]] = {}
    for space_id, user_id in rows.all():
        found.setdefault(space_id, []).append(user_id)
    return found
