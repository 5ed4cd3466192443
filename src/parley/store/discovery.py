"""Queries of discovery: search, published replays, a person's spaces. They run inside a
caller's transaction and never commit.

Text is matched with LIKE on keys folded in Python (domain/search.py), with the LIKE wildcards
of the query escaped, so both backends match alike. A pattern with a leading wildcard reads
every row it filters: fine for an instance's thousands of people and spaces; a trigram index
(pg_trgm) would be the next step on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from parley.domain import search
from parley.domain.recordings import RecordingState
from parley.domain.space import SpaceState
from parley.store.models import Block, Follow, Recording, Space, User

_ESCAPE = search.LIKE_ESCAPE
# A person's upcoming and live spaces on their profile: at most this many of each.
PROFILE_SPACES_MAX = 50


def _like(column: Any, pattern: str) -> ColumnElement[bool]:
    result: ColumnElement[bool] = column.like(pattern, escape=_ESCAPE)
    return result


def not_blocked(viewer_id: int | None, user_id: Any) -> list[ColumnElement[bool]]:
    """`user_id` neither blocked the viewer nor was blocked by them (nothing for visitors)."""
    if viewer_id is None:
        return []
    return [
        user_id.not_in(select(Block.blocker_id).where(Block.blocked_id == viewer_id)),
        user_id.not_in(select(Block.blocked_id).where(Block.blocker_id == viewer_id)),
    ]


def replay_available(now: datetime, retention_days: int) -> list[ColumnElement[bool]]:
    """The recording's replay is published, and its retention has not run out (the purge
    deletes it at the next pass: until then it is already gone for discovery)."""
    return [
        Recording.state == RecordingState.COMPLETE.value,
        Recording.replay_published_at.is_not(None),
        Recording.ended_at > now - timedelta(days=retention_days),
    ]


async def people(
    session: AsyncSession, folded: str, viewer_id: int | None, *, offset: int, limit: int
) -> list[tuple[User, int]]:
    """People whose handle or display name contains `folded`, with their follower counts:
    the exact handle first, then handles starting with it, then names with a word starting
    with it, then the rest; the most followed first within each. One row more than `limit`
    when there is a next page."""
    followers = (
        select(func.count())
        .select_from(Follow)
        .where(Follow.followee_id == User.id)
        .correlate(User)
        .scalar_subquery()
        .label("followers")
    )
    rank = case(
        (User.handle_key == folded, 0),
        (_like(User.handle_key, search.starts_with(folded)), 1),
        (
            or_(
                _like(User.name_key, search.starts_with(folded)),
                _like(User.name_key, search.word_starts_with(folded)),
            ),
            2,
        ),
        else_=3,
    )
    pattern = search.contains(folded)
    query = (
        select(User, followers)
        .where(
            or_(_like(User.handle_key, pattern), _like(User.name_key, pattern)),
            *not_blocked(viewer_id, User.id),
        )
        .order_by(rank, followers.desc(), User.handle_key)
        .offset(offset)
        .limit(limit + 1)
    )
    return [(user, int(count)) for user, count in (await session.execute(query)).all()]


async def followed_among(
    session: AsyncSession, viewer_id: int | None, user_ids: Sequence[int]
) -> set[int]:
    """Which of `user_ids` the viewer follows."""
    if viewer_id is None or not user_ids:
        return set()
    rows = await session.execute(
        select(Follow.followee_id).where(
            Follow.follower_id == viewer_id, Follow.followee_id.in_(user_ids)
        )
    )
    return set(rows.scalars())


def _state_order() -> list[Any]:
    """Live first (the latest started first), then upcoming (the soonest first), then ended
    (the latest ended first)."""
    live = Space.state == SpaceState.LIVE.value
    scheduled = Space.state == SpaceState.SCHEDULED.value
    return [
        case((live, 0), (scheduled, 1), else_=2),
        case((live, Space.started_at)).desc(),
        case((scheduled, Space.scheduled_for)).asc(),
        Space.ended_at.desc(),
        Space.id.desc(),
    ]


async def spaces(
    session: AsyncSession,
    folded: str,
    viewer_id: int | None,
    *,
    now: datetime,
    retention_days: int,
    offset: int,
    limit: int,
) -> list[Space]:
    """Live, upcoming and ended-with-a-published-replay spaces whose title, topics or host
    (handle or display name) contain `folded`, live first (see `_state_order`). Canceled
    spaces never; one row more than `limit` when there is a next page."""
    pattern = search.contains(folded)
    query = (
        select(Space)
        .join(User, User.id == Space.host_id)
        .outerjoin(Recording, Recording.space_id == Space.id)
        .where(
            or_(
                Space.state.in_([SpaceState.LIVE.value, SpaceState.SCHEDULED.value]),
                and_(
                    Space.state == SpaceState.ENDED.value,
                    *replay_available(now, retention_days),
                ),
            ),
            or_(
                _like(Space.search_key, pattern),
                _like(User.handle_key, pattern),
                _like(User.name_key, pattern),
            ),
            *not_blocked(viewer_id, Space.host_id),
        )
        .order_by(*_state_order())
        .offset(offset)
        .limit(limit + 1)
    )
    return list((await session.execute(query)).scalars())


async def replays(
    session: AsyncSession,
    viewer_id: int | None,
    *,
    host_id: int | None,
    now: datetime,
    retention_days: int,
    offset: int,
    limit: int,
) -> list[tuple[Space, Recording]]:
    """Ended spaces with a published replay still kept (of one host, or everyone's), the
    latest ended first; one row more than `limit` when there is a next page."""
    query = (
        select(Space, Recording)
        .join(Recording, Recording.space_id == Space.id)
        .where(
            Space.state == SpaceState.ENDED.value,
            *replay_available(now, retention_days),
            *not_blocked(viewer_id, Space.host_id),
        )
        .order_by(Space.ended_at.desc(), Space.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    if host_id is not None:
        query = query.where(Space.host_id == host_id)
    return [(space, recording) for space, recording in (await session.execute(query)).all()]


async def hosted_live_and_upcoming(
    session: AsyncSession, host_id: int, viewer_id: int | None
) -> list[Space]:
    """The host's live spaces (the latest started first) then their scheduled ones (the
    soonest first), at most PROFILE_SPACES_MAX of each; none if they and the viewer are
    blocked either way."""
    found: list[Space] = []
    for state in (SpaceState.LIVE, SpaceState.SCHEDULED):
        query = (
            select(Space)
            .where(
                Space.host_id == host_id,
                Space.state == state.value,
                *not_blocked(viewer_id, Space.host_id),
            )
            .order_by(*_state_order())
            .limit(PROFILE_SPACES_MAX)
        )
        found.extend((await session.execute(query)).scalars())
    return found


async def follows_page(
    session: AsyncSession,
    user_id: int,
    viewer_id: int | None,
    *,
    of_followers: bool,
    offset: int,
    limit: int,
) -> list[User]:
    """The user's followers (or the people they follow), the latest follow first, without
    those the viewer blocked or who blocked the viewer; one row more than `limit` when there
    is a next page."""
    if of_followers:
        query = (
            select(User)
            .join(Follow, Follow.follower_id == User.id)
            .where(Follow.followee_id == user_id)
        )
    else:
        query = (
            select(User)
            .join(Follow, Follow.followee_id == User.id)
            .where(Follow.follower_id == user_id)
        )
    query = query.where(*not_blocked(viewer_id, User.id))
    rows = await session.execute(
        query.order_by(Follow.created_at.desc(), User.id.desc()).offset(offset).limit(limit + 1)
    )
    return list(rows.scalars())
