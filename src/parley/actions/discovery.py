"""Finding people, spaces and replays: search, recent replays, a person's spaces. Read-only.

Everything here is public information, so visitors (signed out) may ask too; a signed-in viewer
never sees people, or the spaces and replays of hosts, they blocked or who blocked them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions.base import Services
from parley.domain import recordings as recording_rules
from parley.domain import search
from parley.domain.errors import NotFound
from parley.domain.space import SpaceState
from parley.domain.views import PersonView, ReplaySummary, SpaceView, UserBrief
from parley.store import discovery, repo, views
from parley.store.models import Recording, Space, User

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next page starts; None on the last one.
    next_offset: int | None


def _page(rows: list[T], offset: int, limit: int) -> tuple[list[T], int | None]:
    return rows[:limit], search.next_offset(offset, limit, len(rows))


def _take_search(services: Services, who: int | str) -> None:
    settings = services.settings
    services.take(
        "searches", who, burst=settings.search_burst, rate_per_s=settings.search_rate_per_s
    )


async def search_people(
    services: Services, who: int | str, viewer_id: int | None, q: str, *, offset: int, limit: int
) -> Page[PersonView]:
    """People whose handle or display name contains `q` (folded: case and accents aside).
    `who` is whom the rate limit counts: the user, or the visitor's client."""
    folded = search.check_query(q)
    _take_search(services, who)
    async with services.store.read() as session:
        rows, next_offset = _page(
            await discovery.people(session, folded, viewer_id, offset=offset, limit=limit),
            offset,
            limit,
        )
        followed = await discovery.followed_among(session, viewer_id, [u.id for u, _ in rows])
    return Page(
        [
            PersonView(
                user=views.user_brief(user),
                bio=user.bio,
                follower_count=followers,
                followed_by_me=user.id in followed,
            )
            for user, followers in rows
        ],
        next_offset,
    )


async def search_spaces(
    services: Services, who: int | str, viewer_id: int | None, q: str, *, offset: int, limit: int
) -> Page[SpaceView]:
    """Live, upcoming and replayable spaces whose title, topics or host match `q`."""
    folded = search.check_query(q)
    _take_search(services, who)
    async with services.store.read() as session:
        found = await discovery.spaces(
            session,
            folded,
            viewer_id,
            now=services.clock(),
            retention_days=services.settings.retention_days,
            offset=offset,
            limit=limit,
        )
        rows, next_offset = _page(found, offset, limit)
        return Page(await views.space_views(session, rows), next_offset)


async def _user(session: AsyncSession, handle: str) -> User:
    user = await repo.user_by_handle(session, handle)
    if user is None:
        raise NotFound(f"no user @{handle}")
    return user


async def replays(
    services: Services,
    viewer_id: int | None,
    *,
    host_handle: str | None = None,
    offset: int,
    limit: int,
) -> Page[ReplaySummary]:
    """Published replays still kept, the latest ended first: everyone's, or one host's."""
    days = services.settings.retention_days
    async with services.store.read() as session:
        host_id = (await _user(session, host_handle)).id if host_handle is not None else None
        found = await discovery.replays(
            session,
            viewer_id,
            host_id=host_id,
            now=services.clock(),
            retention_days=days,
            offset=offset,
            limit=limit,
        )
        rows, next_offset = _page(found, offset, limit)
        return Page(await _summaries(session, rows, days), next_offset)


async def _summaries(
    session: AsyncSession, rows: list[tuple[Space, Recording]], retention_days: int
) -> list[ReplaySummary]:
    space_views = await views.space_views(session, [space for space, _ in rows])
    summaries = []
    for view, (_, recording) in zip(space_views, rows, strict=True):
        # replay_available() selected only complete, published recordings.
        assert recording.ended_at is not None
        assert recording.replay_published_at is not None
        summaries.append(
            ReplaySummary(
                space=view,
                duration_s=recording.duration_ms / 1000,
                published_at=recording.replay_published_at,
                expires_at=recording_rules.expires_at(recording.ended_at, retention_days),
            )
        )
    return summaries


async def hosted_spaces(
    services: Services, handle: str, viewer_id: int | None
) -> tuple[list[SpaceView], list[SpaceView]]:
    """A person's live and upcoming spaces (for their profile)."""
    async with services.store.read() as session:
        host = await _user(session, handle)
        found = await views.space_views(
            session, await discovery.hosted_live_and_upcoming(session, host.id, viewer_id)
        )
    return (
        [space for space in found if space.state is SpaceState.LIVE],
        [space for space in found if space.state is SpaceState.SCHEDULED],
    )


async def follows(
    services: Services,
    handle: str,
    viewer_id: int | None,
    *,
    of_followers: bool,
    offset: int,
    limit: int,
) -> Page[UserBrief]:
    """A person's followers (or the people they follow), the latest first, as the viewer may
    see them: not those they blocked or who blocked them."""
    async with services.store.read() as session:
        user = await _user(session, handle)
        found = await discovery.follows_page(
            session, user.id, viewer_id, of_followers=of_followers, offset=offset, limit=limit
        )
    rows, next_offset = _page(found, offset, limit)
    return Page([views.user_brief(row) for row in rows], next_offset)
