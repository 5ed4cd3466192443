"""Queries over the store. They run inside a caller's transaction and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from parley.domain.accounts import HANDLE_RE
from parley.domain.space import SpaceState
from parley.domain.stage import ON_STAGE, Role, Seat, StageRequest
from parley.store.models import (
    Block,
    CaptionLine,
    Follow,
    MemberConnection,
    Pin,
    Recording,
    Space,
    SpaceEvent,
    SpaceMember,
    SpaceVisitors,
    User,
)

_ON_STAGE_VALUES = [role.value for role in ON_STAGE]


def upsert(session: AsyncSession, model: type[Any]) -> Any:
    """An INSERT on `model`'s table that takes ON CONFLICT clauses, for this session's database
    (both dialects spell them alike). A Core statement: no ORM bookkeeping for rows nobody loads."""
    dialect = session.get_bind().dialect.name
    table = cast(Table, model.__table__)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def user_by_handle(session: AsyncSession, handle: str) -> User | None:
    # What cannot be a handle is nobody's, and never reaches the database (PostgreSQL refuses a
    # NUL in text: a 500 on /api/users/%00 before).
    if not HANDLE_RE.match(handle):
        return None
    return (
        await session.execute(select(User).where(User.handle_key == handle.lower()))
    ).scalar_one_or_none()


async def users_by_id(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = await session.execute(select(User).where(User.id.in_(set(user_ids))))
    return {user.id: user for user in rows.scalars()}


async def follower_count(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.followee_id == user_id)
        )
        or 0
    )


async def following_count(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.follower_id == user_id)
        )
        or 0
    )


async def follows(session: AsyncSession, follower_id: int, followee_id: int) -> bool:
    return (await session.get(Follow, (follower_id, followee_id))) is not None


async def blocks(session: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    return (await session.get(Block, (blocker_id, blocked_id))) is not None


async def blocked_either_way(session: AsyncSession, a: int, b: int) -> bool:
    return await blocks(session, a, b) or await blocks(session, b, a)


async def space(session: AsyncSession, space_id: int, *, lock: bool = False) -> Space | None:
    query = select(Space).where(Space.id == space_id)
    if lock:
        # Serializes the changes of one space (PostgreSQL row lock; SQLite writes one at a time).
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def member(session: AsyncSession, space_id: int, user_id: int) -> SpaceMember | None:
    return (
        await session.execute(
            select(SpaceMember).where(
                SpaceMember.space_id == space_id, SpaceMember.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def count_connection(
    session: AsyncSession, space_id: int, user_id: int, node: str, delta: int, now: datetime
) -> bool:
    """Adds `delta` to the connections `node` holds of the member (the row goes at zero);
    whether the node held a count to change (a connection taken away: a row to take it from)."""
    row = await session.get(MemberConnection, (space_id, user_id, node), with_for_update=True)
    if row is None:
        if delta > 0:
            session.add(
                MemberConnection(
                    space_id=space_id,
                    user_id=user_id,
                    node=node,
                    connections=delta,
                    renewed_at=now,
                )
            )
        return delta > 0
    row.connections += delta
    row.renewed_at = now
    if row.connections <= 0:
        await session.delete(row)
    return True


def seat_of(row: SpaceMember) -> Seat:
    return Seat(
        user_id=row.user_id,
        role=Role(row.role),
        muted=row.muted,
        stage_request=StageRequest(row.stage_request),
        removed=row.removed,
        mic_live=row.mic_live,
    )


def apply_seat(row: SpaceMember, seat: Seat) -> None:
    row.role = seat.role.value
    row.muted = seat.muted
    row.stage_request = seat.stage_request.value
    row.removed = seat.removed
    row.mic_live = seat.mic_live


async def stage_count(session: AsyncSession, space_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(SpaceMember)
            .where(
                SpaceMember.space_id == space_id,
                SpaceMember.role.in_(_ON_STAGE_VALUES),
                SpaceMember.removed.is_(False),
            )
        )
        or 0
    )


async def cohost_count(session: AsyncSession, space_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(SpaceMember)
            .where(SpaceMember.space_id == space_id, SpaceMember.role == Role.COHOST.value)
        )
        or 0
    )


def _present_listener() -> list[ColumnElement[bool]]:
    return [
        SpaceMember.role == Role.LISTENER.value,
        SpaceMember.connections > 0,
        SpaceMember.removed.is_(False),
    ]


async def listener_count(session: AsyncSession, space_id: int) -> int:
    """Listeners present now: members listening, and visitors (people without an account)."""
    return (await listener_counts(session, [space_id])).get(space_id, 0)


async def listener_counts(session: AsyncSession, space_ids: Sequence[int]) -> dict[int, int]:
    if not space_ids:
        return {}
    rows = await session.execute(
        select(SpaceMember.space_id, func.count())
        .where(SpaceMember.space_id.in_(space_ids), *_present_listener())
        .group_by(SpaceMember.space_id)
    )
    counts = {space_id: int(count) for space_id, count in rows.all()}
    for space_id, visitors in (await visitor_counts(session, space_ids)).items():
        counts[space_id] = counts.get(space_id, 0) + visitors
    return counts


async def visitor_counts(
    session: AsyncSession, space_ids: Sequence[int], *, except_node: str | None = None
) -> dict[int, int]:
    """Visitors in each space's room, as the nodes last counted them (all but `except_node`)."""
    query = (
        select(SpaceVisitors.space_id, func.sum(SpaceVisitors.visitors))
        .where(SpaceVisitors.space_id.in_(space_ids))
        .group_by(SpaceVisitors.space_id)
    )
    if except_node is not None:
        query = query.where(SpaceVisitors.node != except_node)
    rows = await session.execute(query)
    return {space_id: int(count or 0) for space_id, count in rows.all()}


async def set_visitors(
    session: AsyncSession, space_id: int, node: str, visitors: int, now: datetime
) -> None:
    """The node's count of visitors in the space (a count of 0 removes its row)."""
    row = await session.get(SpaceVisitors, (space_id, node))
    if visitors <= 0:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(SpaceVisitors(space_id=space_id, node=node, visitors=visitors, renewed_at=now))
    else:
        row.visitors = visitors
        row.renewed_at = now


async def renew_visitors(session: AsyncSession, node: str, now: datetime) -> None:
    await session.execute(
        update(SpaceVisitors).where(SpaceVisitors.node == node).values(renewed_at=now)
    )


async def drop_visitors(
    session: AsyncSession, *, node: str | None = None, renewed_before: datetime | None = None
) -> list[int]:
    """Removes the counts of one node, or those whose lease ran out; the spaces they were in."""
    where: list[ColumnElement[bool]] = []
    if node is not None:
        where.append(SpaceVisitors.node == node)
    if renewed_before is not None:
        where.append(SpaceVisitors.renewed_at < renewed_before)
    rows = await session.execute(select(SpaceVisitors.space_id).where(*where).with_for_update())
    space_ids = sorted({space_id for (space_id,) in rows.all()})
    if space_ids:
        await session.execute(delete(SpaceVisitors).where(*where))
    return space_ids


async def stage_counts(session: AsyncSession, space_ids: Sequence[int]) -> dict[int, int]:
    if not space_ids:
        return {}
    rows = await session.execute(
        select(SpaceMember.space_id, func.count())
        .where(
            SpaceMember.space_id.in_(space_ids),
            SpaceMember.role.in_(_ON_STAGE_VALUES),
            SpaceMember.removed.is_(False),
        )
        .group_by(SpaceMember.space_id)
    )
    return {space_id: int(count) for space_id, count in rows.all()}


async def notable_members(session: AsyncSession, space_id: int) -> list[SpaceMember]:
    """Everyone on stage plus listeners with a pending request or invitation."""
    rows = await session.execute(
        select(SpaceMember)
        .where(
            SpaceMember.space_id == space_id,
            SpaceMember.removed.is_(False),
            or_(
                SpaceMember.role.in_(_ON_STAGE_VALUES),
                SpaceMember.stage_request != StageRequest.NONE.value,
            ),
        )
        .order_by(SpaceMember.joined_at, SpaceMember.id)
    )
    return list(rows.scalars())


async def present_listeners(
    session: AsyncSession, space_id: int, *, offset: int, limit: int
) -> tuple[list[SpaceMember], int]:
    where = [SpaceMember.space_id == space_id, *_present_listener()]
    total = int(
        await session.scalar(select(func.count()).select_from(SpaceMember).where(*where)) or 0
    )
    rows = await session.execute(
        select(SpaceMember)
        .where(*where)
        .order_by(SpaceMember.joined_at, SpaceMember.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), total


async def replay_published(session: AsyncSession, space_id: int) -> bool:
    published = await session.scalar(
        select(Recording.replay_published_at).where(Recording.space_id == space_id)
    )
    return published is not None


async def pins(session: AsyncSession, space_id: int) -> list[Pin]:
    rows = await session.execute(
        select(Pin).where(Pin.space_id == space_id).order_by(Pin.created_at, Pin.id)
    )
    return list(rows.scalars())


async def pin_count(session: AsyncSession, space_id: int) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Pin).where(Pin.space_id == space_id))
        or 0
    )


async def events_after(
    session: AsyncSession, space_id: int, after_seq: int
) -> list[tuple[int, str]] | None:
    """The stored changes after `after_seq`, or None when some of them are no longer kept."""
    oldest = await session.scalar(
        select(func.min(SpaceEvent.seq)).where(SpaceEvent.space_id == space_id)
    )
    latest = await session.scalar(select(Space.event_seq).where(Space.id == space_id))
    if latest is None or after_seq > latest:
        return None  # unknown space, or a seq this space never gave
    if after_seq == latest:
        return []
    if oldest is None or oldest > after_seq + 1:
        return None
    rows = await session.execute(
        select(SpaceEvent.seq, SpaceEvent.payload)
        .where(SpaceEvent.space_id == space_id, SpaceEvent.seq > after_seq)
        .order_by(SpaceEvent.seq)
    )
    return [(seq, payload) for seq, payload in rows.all()]


async def prune_events(session: AsyncSession, space_id: int, keep_after_seq: int) -> None:
    await session.execute(
        delete(SpaceEvent).where(SpaceEvent.space_id == space_id, SpaceEvent.seq <= keep_after_seq)
    )


async def spaces_in_state(
    session: AsyncSession, state: SpaceState, viewer_id: int | None, limit: int = 100
) -> list[Space]:
    """Spaces in `state`; those hosted by people the viewer follows first; hidden from people
    their host blocked."""
    query = select(Space).where(Space.state == state.value)
    if viewer_id is not None:
        blocked_me = select(Block.blocker_id).where(Block.blocked_id == viewer_id)
        query = query.where(Space.host_id.not_in(blocked_me))
        followed = (
            select(Follow.followee_id)
            .where(Follow.follower_id == viewer_id, Follow.followee_id == Space.host_id)
            .exists()
        )
        query = query.order_by(followed.desc())
    if state is SpaceState.SCHEDULED:
        query = query.order_by(Space.scheduled_for, Space.id)
    else:
        query = query.order_by(Space.started_at.desc(), Space.id.desc())
    return list((await session.execute(query.limit(limit))).scalars())


async def live_spaces_hosted_by(session: AsyncSession, host_id: int) -> list[Space]:
    rows = await session.execute(
        select(Space).where(
            Space.host_id == host_id,
            Space.state.in_([SpaceState.LIVE.value, SpaceState.SCHEDULED.value]),
        )
    )
    return list(rows.scalars())


async def spaces_past_host_grace(session: AsyncSession, absent_before: datetime) -> list[int]:
    rows = await session.execute(
        select(Space.id).where(
            and_(
                Space.state == SpaceState.LIVE.value,
                Space.host_absent_since.is_not(None),
                Space.host_absent_since <= absent_before,
            )
        )
    )
    return [space_id for (space_id,) in rows.all()]


async def recent_caption_lines(
    session: AsyncSession, space_id: int, count: int
) -> list[CaptionLine]:
    """The last `count` final caption lines of a space, oldest first."""
    if count <= 0:
        return []
    rows = (
        await session.execute(
            select(CaptionLine)
            .where(CaptionLine.space_id == space_id)
            .order_by(CaptionLine.number.desc())
            .limit(count)
        )
    ).scalars()
    return list(reversed(list(rows)))
