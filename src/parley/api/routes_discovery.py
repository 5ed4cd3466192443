"""Discovery: search people and spaces, recent replays, a person's spaces and follow lists.

All of it is public: a visitor (signed out) may call every route here. A signed-in viewer does
not see whoever they blocked or who blocked them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from parley.actions import discovery
from parley.actions.base import Services
from parley.api.auth import OptionalUserDep, ServicesDep
from parley.api.schemas import (
    HostedSpacesOut,
    PeopleOut,
    ReplaysOut,
    SpacesPageOut,
    UsersPageOut,
)
from parley.domain import search
from parley.store.models import User

router = APIRouter(prefix="/api")

Offset = Annotated[int, Query(ge=0, le=search.OFFSET_MAX)]
# Follow lists are read to their end (a key lookup per page), however long.
ListOffset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=search.PAGE_MAX)]
# Checked by the action (domain/search.py) after trimming, naming `q` and the rule broken.
SearchText = Annotated[str, Query(description="1-100 characters; case and accents are ignored")]


def _who(request: Request, viewer: User | None) -> int | str:
    """Whom the search rate limit counts: the user, or a visitor's client address."""
    if viewer is not None:
        return viewer.id
    return f"client:{request.client.host if request.client else 'unknown'}"


@router.get("/search/people", tags=["discovery"])
async def search_people(
    request: Request,
    services: ServicesDep,
    viewer: OptionalUserDep,
    q: SearchText,
    offset: Offset = 0,
    limit: Limit = search.PAGE_DEFAULT,
) -> PeopleOut:
    """People by handle or display name: the exact handle first, then handles and names that
    start with `q`, then the rest (the most followed first)."""
    page = await discovery.search_people(
        services,
        _who(request, viewer),
        viewer.id if viewer else None,
        q,
        offset=offset,
        limit=limit,
    )
    return PeopleOut(people=page.items, next_offset=page.next_offset)


@router.get("/search/spaces", tags=["discovery"])
async def search_spaces(
    request: Request,
    services: ServicesDep,
    viewer: OptionalUserDep,
    q: SearchText,
    offset: Offset = 0,
    limit: Limit = search.PAGE_DEFAULT,
) -> SpacesPageOut:
    """Spaces by title, topic or host: live, then upcoming, then ended ones whose replay is
    published (their replay at /api/spaces/{id}/replay). Canceled spaces never."""
    page = await discovery.search_spaces(
        services,
        _who(request, viewer),
        viewer.id if viewer else None,
        q,
        offset=offset,
        limit=limit,
    )
    return SpacesPageOut(spaces=page.items, next_offset=page.next_offset)


@router.get("/replays", tags=["discovery"])
async def replays(
    services: ServicesDep,
    viewer: OptionalUserDep,
    host: Annotated[str | None, Query(description="only this host's (a handle)")] = None,
    offset: Offset = 0,
    limit: Limit = search.PAGE_DEFAULT,
) -> ReplaysOut:
    """Published replays not yet past retention, the latest ended first."""
    page = await discovery.replays(
        services,
        viewer.id if viewer else None,
        host_handle=host,
        offset=offset,
        limit=limit,
    )
    return ReplaysOut(replays=page.items, next_offset=page.next_offset)


@router.get("/users/{handle}/spaces", tags=["discovery"])
async def hosted_spaces(
    handle: str, services: ServicesDep, viewer: OptionalUserDep
) -> HostedSpacesOut:
    """A person's live and upcoming spaces; their replays: /api/replays?host={handle}."""
    live, upcoming = await discovery.hosted_spaces(services, handle, viewer.id if viewer else None)
    return HostedSpacesOut(live=live, upcoming=upcoming)


@router.get("/users/{handle}/followers", tags=["social"])
async def followers(
    handle: str,
    services: ServicesDep,
    viewer: OptionalUserDep,
    offset: ListOffset = 0,
    limit: Limit = search.PAGE_DEFAULT,
) -> UsersPageOut:
    return await _follows(services, handle, viewer, of_followers=True, offset=offset, limit=limit)


@router.get("/users/{handle}/following", tags=["social"])
async def following(
    handle: str,
    services: ServicesDep,
    viewer: OptionalUserDep,
    offset: ListOffset = 0,
    limit: Limit = search.PAGE_DEFAULT,
) -> UsersPageOut:
    return await _follows(services, handle, viewer, of_followers=False, offset=offset, limit=limit)


async def _follows(
    services: Services,
    handle: str,
    viewer: User | None,
    *,
    of_followers: bool,
    offset: int,
    limit: int,
) -> UsersPageOut:
    viewer_id = viewer.id if viewer else None
    page = await discovery.follows(
        services, handle, viewer_id, of_followers=of_followers, offset=offset, limit=limit
    )
    return UsersPageOut(users=page.items, next_offset=page.next_offset)
