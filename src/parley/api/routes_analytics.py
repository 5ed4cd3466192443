"""Host analytics (issue 14, docs/analytics.md): a space's figures for its host and co-hosts, a
host's figures over a period against the period before, both as JSON and CSV; and the replay
plays the web client reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from parley.actions import analytics
from parley.api.auth import OptionalUserDep, ServicesDep, UserDep, client_address
from parley.api.schemas import Id
from parley.domain.analytics import SpaceAnalytics
from parley.domain.analytics_csv import host_csv, space_csv
from parley.domain.analytics_period import HostAnalytics, check_days
from parley.domain.errors import Invalid
from parley.media import urls
from parley.room.runtime import RoomRuntime

router = APIRouter(tags=["analytics"])

CSV = "text/csv; charset=utf-8"


class SpaceAnalyticsOut(BaseModel):
    analytics: SpaceAnalytics


class HostAnalyticsOut(BaseModel):
    analytics: HostAnalytics


def _limit(services: ServicesDep, user_id: int, *, heavy: bool) -> None:
    # A live page refreshes its figures every few seconds; a period reads many spaces.
    if heavy:
        services.take("host analytics", user_id, burst=10, rate_per_s=0.2)
    else:
        services.take("space analytics", user_id, burst=30, rate_per_s=1.0)


async def _space(services: ServicesDep, space_id: int, user_id: int) -> SpaceAnalytics:
    _limit(services, user_id, heavy=False)
    return await analytics.space_analytics(services, space_id, user_id)


@router.get("/api/spaces/{space_id}/analytics")
async def space_analytics(space_id: Id, services: ServicesDep, user: UserDep) -> SpaceAnalyticsOut:
    """The space's figures (its host and co-hosts only; 403 for others): live while it runs,
    final once it ended. Aggregates only: never who listened how long."""
    return SpaceAnalyticsOut(analytics=await _space(services, space_id, user.id))


@router.get(
    "/api/spaces/{space_id}/analytics.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {}}}},
)
async def space_analytics_csv(space_id: Id, services: ServicesDep, user: UserDep) -> Response:
    """The same figures as CSV: `section,key,value`, one row per figure or chart point."""
    found = await _space(services, space_id, user.id)
    return Response(
        space_csv(found),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="space-{space_id}-analytics.csv"'},
    )


Day = Annotated[date | None, Query(description="A UTC day (YYYY-MM-DD); with `end`")]


def _period(
    services: ServicesDep, days: int, start: date | None, end: date | None
) -> tuple[datetime, datetime]:
    if start is None and end is None:
        return analytics.period_of_days(services.clock(), days)
    if start is None or end is None:
        raise Invalid("start" if start is None else "end", "together", "give start and end")
    check_days(start, end)
    # Whole UTC days, the end day included.
    return (
        datetime.combine(start, time(), UTC),
        datetime.combine(end, time(), UTC) + timedelta(days=1),
    )


async def _host(
    services: ServicesDep, user_id: int, days: int, start: date | None, end: date | None
) -> HostAnalytics:
    _limit(services, user_id, heavy=True)
    period_start, period_end = _period(services, days, start, end)
    return await analytics.host_analytics(services, user_id, period_start, period_end)


Days = Annotated[int, Query(ge=1, le=366, description="The last this many days (default 28)")]


@router.get("/api/me/analytics")
async def host_analytics(
    services: ServicesDep, user: UserDep, days: Days = 28, start: Day = None, end: Day = None
) -> HostAnalyticsOut:
    """Your spaces that started in the period (the last `days`, or `start` to `end`), their
    figures together, and the same for the period of the same length just before."""
    return HostAnalyticsOut(analytics=await _host(services, user.id, days, start, end))


@router.get(
    "/api/me/analytics.csv", response_class=Response, responses={200: {"content": {CSV: {}}}}
)
async def host_analytics_csv(
    services: ServicesDep, user: UserDep, days: Days = 28, start: Day = None, end: Day = None
) -> Response:
    """Your spaces of the period as CSV, one row per space."""
    found = await _host(services, user.id, days, start, end)
    # The period in the name: two downloads do not overwrite each other.
    first = found.current.start.date().isoformat()
    last = (found.current.end - timedelta(microseconds=1)).date().isoformat()
    name = f"parley-analytics-{first}-to-{last}.csv"
    return Response(
        host_csv(found),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/api/spaces/{space_id}/replay/plays", status_code=status.HTTP_204_NO_CONTENT)
async def replay_played(
    space_id: Id, request: Request, services: ServicesDep, viewer: OptionalUserDep
) -> Response:
    """The web client started playing the space's published replay: counted for the host's
    analytics once per listener and half hour."""
    if viewer is None:
        holder = urls.visitor_holder(client_address(request), services.settings.media_url_secret)
    else:
        holder = urls.user_holder(viewer.id)
    services.take("replay plays", holder, burst=10, rate_per_s=1 / 60)
    runtime: RoomRuntime = request.app.state.room
    if runtime.listens.first_play(space_id, holder):
        try:
            await analytics.replay_played(services, space_id, viewer.id if viewer else None)
        except Exception:
            runtime.listens.forget_play(space_id, holder)
            raise
    return Response(status_code=status.HTTP_204_NO_CONTENT)
