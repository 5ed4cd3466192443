"""Scheduled spaces (issue 13): "Remind me", co-hosts named ahead, calendar files. Edits go
through PATCH /api/spaces/{id} (routes_spaces.py), cancels through its /cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from parley.actions import schedule
from parley.api.auth import OptionalUserDep, ServicesDep, UserDep, client_address
from parley.api.pages import site_url
from parley.api.schemas import Id, MemberOut
from parley.domain import schedule as rules

router = APIRouter(prefix="/api", tags=["scheduling"])

Handle = Annotated[str, Path(min_length=1, max_length=64)]
TimeZone = Annotated[str | None, Query(max_length=64, description="An IANA time zone (UTC)")]

CALENDAR_TYPE = "text/calendar; charset=utf-8"


@router.put("/spaces/{space_id}/reminder", status_code=status.HTTP_204_NO_CONTENT)
async def add_reminder(space_id: Id, services: ServicesDep, user: UserDep) -> None:
    """Remind me when this scheduled space goes live (and tell me if it changes)."""
    services.take("reminders", user.id, burst=30.0, rate_per_s=0.5)
    await schedule.set_reminder(services, space_id, user.id, on=True)


@router.delete("/spaces/{space_id}/reminder", status_code=status.HTTP_204_NO_CONTENT)
async def remove_reminder(space_id: Id, services: ServicesDep, user: UserDep) -> None:
    services.take("reminders", user.id, burst=30.0, rate_per_s=0.5)
    await schedule.set_reminder(services, space_id, user.id, on=False)


@router.put("/spaces/{space_id}/cohosts/{handle}")
async def name_cohost(
    space_id: Id, handle: Handle, services: ServicesDep, user: UserDep
) -> MemberOut:
    """The host names a co-host of a scheduled space ahead (at most 2): they are told, and hold
    the role when it starts."""
    services.take("cohost names", user.id, burst=10.0, rate_per_s=0.2)
    return MemberOut(member=await schedule.name_cohost(services, space_id, user.id, handle))


@router.delete("/spaces/{space_id}/cohosts/{handle}", status_code=status.HTTP_204_NO_CONTENT)
async def unname_cohost(space_id: Id, handle: Handle, services: ServicesDep, user: UserDep) -> None:
    services.take("cohost names", user.id, burst=10.0, rate_per_s=0.2)
    await schedule.unname_cohost(services, space_id, user.id, handle)


def _calendar_response(body: bytes, filename: str | None) -> Response:
    headers = {"Cache-Control": "private, max-age=300"}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=CALENDAR_TYPE, headers=headers)


def _who(request: Request, viewer: OptionalUserDep) -> int | str:
    return viewer.id if viewer is not None else client_address(request)


@router.get(
    "/spaces/{space_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def space_calendar(
    space_id: Id,
    request: Request,
    services: ServicesDep,
    viewer: OptionalUserDep,
    tz: TimeZone = None,
) -> Response:
    """The space as a calendar file (one VEVENT; CANCELLED once canceled), its times in `tz`."""
    services.take("calendars", _who(request, viewer), burst=30.0, rate_per_s=1.0)
    body = await schedule.space_calendar(
        services,
        space_id,
        viewer.id if viewer is not None else None,
        time_zone=rules.check_calendar_zone(tz),
        site_url=site_url(request),
    )
    return _calendar_response(body, f"space-{space_id}.ics")


@router.get(
    "/users/{handle}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def host_calendar(
    handle: Handle,
    request: Request,
    services: ServicesDep,
    viewer: OptionalUserDep,
    tz: TimeZone = None,
) -> Response:
    """A host's live and upcoming spaces as a calendar feed (subscribe with webcal://)."""
    services.take("calendars", _who(request, viewer), burst=30.0, rate_per_s=1.0)
    body = await schedule.host_calendar(
        services,
        handle,
        viewer.id if viewer is not None else None,
        time_zone=rules.check_calendar_zone(tz),
        site_url=site_url(request),
    )
    return _calendar_response(body, None)
