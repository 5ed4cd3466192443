"""Scheduled spaces (issue 13): "Remind me", edits and cancels told to those who asked, co-hosts
named ahead, the host's start reminder, and calendar files. The rules are domain/schedule.py's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions import fanout, notify
from parley.actions.base import Change, Services, change, locked_space
from parley.domain import schedule as rules
from parley.domain.errors import Blocked, Forbidden, NotFound
from parley.domain.events import MemberUpdated, SpaceUpdated
from parley.domain.moderation import check_hosting_allowed
from parley.domain.notify import Kind, dedupe_key, quoted
from parley.domain.space import SpaceState
from parley.domain.stage import Role, StageRequest
from parley.domain.views import MemberView, SpaceView
from parley.store import discovery, repo, views
from parley.store.models import Reminder, Space, SpaceMember, User

log = logging.getLogger(__name__)


async def _require_hosting(unit: Change, space: Space) -> None:
    """A host the moderators restricted from hosting does not work on a scheduled space (an edit
    and a co-host named tell people): they may only cancel it."""
    host = await unit.session.get(User, space.host_id)
    if host is not None:
        check_hosting_allowed(host.hosting_restricted_until, unit.now)


async def _host_name(session: AsyncSession, space: Space) -> str:
    host = await session.get(User, space.host_id)
    return host.display_name if host is not None else "The host"


async def _cohost_ids(session: AsyncSession, space: Space) -> list[int]:
    rows = await session.execute(
        select(SpaceMember.user_id).where(
            SpaceMember.space_id == space.id,
            SpaceMember.role == Role.COHOST.value,
            SpaceMember.removed.is_(False),
        )
    )
    return list(rows.scalars())


async def _tell_reminded_and_cohosts(unit: Change, space: Space, *, key: str, text: str) -> None:
    """Those who asked for a reminder (a fan-out: they may be many) and the named co-hosts
    (told now); one notification each under `key`, whoever is both."""
    for cohost_id in await _cohost_ids(unit.session, space):
        await notify.tell(
            unit,
            cohost_id,
            kind=Kind.REMINDER,
            dedupe_key=key,
            text=text,
            link=f"/s/{space.id}",
            actor_id=space.host_id,
            space_id=space.id,
        )
    await fanout.start_fanout(
        unit,
        kind=Kind.REMINDER,
        dedupe_key=key,
        text=text,
        link=f"/s/{space.id}",
        actor_id=space.host_id,
        space_id=space.id,
        audience=[fanout.REMINDED],
    )


# --- "Remind me" --------------------------------------------------------------------------------
async def set_reminder(services: Services, space_id: int, user_id: int, *, on: bool) -> None:
    """The viewer asks (`on`) or stops asking to be told when the space goes live (and of its
    changes before). Asking twice is asking once. The space is not locked: many people may ask
    at once, and a reminder that lands as the space starts or is canceled is harmless."""
    async with change(services) as unit:
        space = await repo.space(unit.session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        held = 0
        if on:
            held = int(
                await unit.session.scalar(
                    select(func.count())
                    .select_from(Reminder)
                    .join(Space, Space.id == Reminder.space_id)
                    .where(
                        Reminder.user_id == user_id,
                        Space.state == SpaceState.SCHEDULED.value,
                    )
                )
                or 0
            )
        rules.check_reminder(
            SpaceState(space.state),
            is_host=space.host_id == user_id,
            blocked_either_way=await repo.blocked_either_way(unit.session, space.host_id, user_id),
            held=held,
            adding=on,
        )
        if on:
            # Two requests at once (two tabs) insert one row.
            await unit.session.execute(
                repo.upsert(unit.session, Reminder)
                .values(space_id=space_id, user_id=user_id, created_at=unit.now)
                .on_conflict_do_nothing(index_elements=["space_id", "user_id"])
            )
        else:
            await unit.session.execute(
                delete(Reminder).where(Reminder.space_id == space_id, Reminder.user_id == user_id)
            )


@dataclass(frozen=True)
class ReminderState:
    # The viewer asked to be reminded.
    reminded: bool
    # How many asked: for the host and co-hosts only (None for others).
    reminders: int | None


async def reminder_state(
    session: AsyncSession, space: Space, viewer_id: int | None, viewer_role: str | None
) -> ReminderState:
    if viewer_id is None:
        return ReminderState(reminded=False, reminders=None)
    reminded = await session.get(Reminder, (space.id, viewer_id)) is not None
    count = None
    if viewer_id == space.host_id or viewer_role in (Role.HOST.value, Role.COHOST.value):
        count = int(
            await session.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.space_id == space.id)
            )
            or 0
        )
    return ReminderState(reminded=reminded, reminders=count)


# --- editing and canceling ----------------------------------------------------------------------
def queue_host_start(unit: Change, space: Space) -> None:
    """At the start time, the host is reminded to start (`host_start` checks it is still due)."""
    if space.scheduled_for is None:
        return
    starts_at = space.scheduled_for.astimezone(UTC)
    unit.enqueue(
        rules.HOST_START_JOB, at=starts_at, space_id=space.id, starts_at=starts_at.isoformat()
    )


async def edit_space(
    services: Services,
    space_id: int,
    actor_id: int,
    *,
    title: str | None,
    topics: list[str] | None,
    scheduled_for: datetime | None,
) -> SpaceView:
    """The host changes a scheduled space's title, topics or start time; those who asked for a
    reminder and the named co-hosts are told of it."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        if space.host_id != actor_id:
            raise Forbidden("only the host may edit this space")
        rules.require_scheduled(SpaceState(space.state), "edit")
        await _require_hosting(unit, space)
        assert space.scheduled_for is not None  # a scheduled space has its time
        old_title = space.title
        edit = rules.plan_edit(
            rules.Details(
                title=space.title, topics=list(space.topics), scheduled_for=space.scheduled_for
            ),
            title=title,
            topics=topics,
            scheduled_for=scheduled_for,
            now=unit.now,
        )
        if not edit.changed:
            return await views.space_view(unit.session, space)
        space.title = edit.details.title
        space.topics = edit.details.topics
        space.scheduled_for = edit.details.scheduled_for
        view = await views.space_view(unit.session, space)
        await unit.record(space, SpaceUpdated(space=view))
        if edit.moved:
            queue_host_start(unit, space)
        text = rules.edit_text(await _host_name(unit.session, space), old_title, edit)
        # Durable limits on telling everyone who asked (a host flipping a title must not ring
        # them again and again): a title or topics change once an hour per space, a new start
        # time once per hour and per time it moves to (a real move is always told).
        hour = unit.now.strftime("%Y%m%dT%H")
        key = (
            dedupe_key(
                Kind.REMINDER, "moved", space.id, edit.details.scheduled_for.isoformat(), hour
            )
            if edit.moved
            else dedupe_key(Kind.REMINDER, "edited", space.id, hour)
        )
        await _tell_reminded_and_cohosts(unit, space, key=key, text=text)
        return view


async def tell_canceled(unit: Change, space: Space) -> None:
    """Called by actions/spaces.py as the host cancels (in that change)."""
    name = await _host_name(unit.session, space)
    await _tell_reminded_and_cohosts(
        unit,
        space,
        key=dedupe_key(Kind.REMINDER, "canceled", space.id),
        text=f"{name} canceled {quoted(space.title)}",
    )


# --- co-hosts named ahead -----------------------------------------------------------------------
async def _user(session: AsyncSession, handle: str) -> User:
    user = await repo.user_by_handle(session, handle)
    if user is None:
        raise NotFound(f"no user @{handle}")
    return user


async def _host_seat(unit: Change, space: Space, actor_id: int) -> SpaceMember:
    row = await repo.member(unit.session, space.id, actor_id)
    if row is None or row.role != Role.HOST.value:
        raise Forbidden("only the host may name co-hosts")
    return row


async def name_cohost(services: Services, space_id: int, actor_id: int, handle: str) -> MemberView:
    """The host names someone co-host of a scheduled space: they are told, and hold the role
    when it starts (their membership is made now, as a co-host's)."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        host_row = await _host_seat(unit, space, actor_id)
        rules.require_scheduled(SpaceState(space.state), "name co-hosts")
        await _require_hosting(unit, space)
        target = await _user(unit.session, handle)
        row = await repo.member(unit.session, space_id, target.id)
        if row is not None and row.role == Role.COHOST.value:
            return await views.member_view(unit.session, row)  # named already
        new = rules.name_cohost(
            repo.seat_of(host_row),
            repo.seat_of(row) if row is not None else None,
            target_id=target.id,
            cohost_count=await repo.cohost_count(unit.session, space_id),
            stage_count=await repo.stage_count(unit.session, space_id),
            blocked_either_way=await repo.blocked_either_way(
                unit.session, space.host_id, target.id
            ),
        )
        if row is None:
            row = SpaceMember(
                space_id=space_id,
                user_id=target.id,
                role=new.role.value,
                muted=True,
                stage_request=StageRequest.NONE.value,
                removed=False,
                connections=0,
                joined_at=unit.now,
            )
            unit.session.add(row)
            await unit.session.flush()
        repo.apply_seat(row, new)
        view = await views.member_view(unit.session, row)
        await unit.record(space, MemberUpdated(member=view))
        unit.listeners_changed(space_id)
        name = await _host_name(unit.session, space)
        await notify.tell(
            unit,
            target.id,
            kind=Kind.REMINDER,
            # Once per space and person: naming, un-naming and naming again is not a way to
            # ring someone's phone again and again.
            dedupe_key=dedupe_key(Kind.REMINDER, "cohost", space.id, target.id),
            text=f"{name} named you co-host of {quoted(space.title)}",
            link=f"/s/{space.id}",
            actor_id=space.host_id,
            space_id=space.id,
        )
        return view


async def unname_cohost(
    services: Services, space_id: int, actor_id: int, handle: str
) -> MemberView | None:
    """The host takes back a co-host named ahead; None: they were not one."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        host_row = await _host_seat(unit, space, actor_id)
        rules.require_scheduled(SpaceState(space.state), "name co-hosts")
        target = await _user(unit.session, handle)
        row = await repo.member(unit.session, space_id, target.id)
        if row is None or row.role != Role.COHOST.value:
            return None
        new = rules.unname_cohost(repo.seat_of(host_row), repo.seat_of(row))
        repo.apply_seat(row, new)
        view = await views.member_view(unit.session, row)
        await unit.record(space, MemberUpdated(member=view))
        unit.listeners_changed(space_id)
        return view


# --- the host's start reminder ------------------------------------------------------------------
async def host_start(services: Services, space_id: int, starts_at: str) -> bool:
    """The job at a scheduled space's start time: the host is told to start it, if it is still
    scheduled for that time (a job queued before an edit moved it, or before a cancel, does
    nothing). Whether the host was told."""
    due_at = datetime.fromisoformat(starts_at)
    async with change(services) as unit:
        space = await repo.space(unit.session, space_id)
        if space is None or not rules.host_start_due(
            SpaceState(space.state), space.scheduled_for, due_at
        ):
            log.info("space(%s) start reminder for %s: no longer due", space_id, starts_at)
            return False
        return await notify.tell(
            unit,
            space.host_id,
            kind=Kind.REMINDER,
            dedupe_key=dedupe_key(Kind.REMINDER, "start", space.id, due_at.isoformat()),
            text=f"It's time to start {quoted(space.title)}",
            link=f"/s/{space.id}",
            space_id=space.id,
        )


# --- calendar files -----------------------------------------------------------------------------
def _site_host(services: Services, site_url: str | None) -> str:
    public = services.settings.public_url or site_url or ""
    return urlsplit(public).hostname or "parley"


async def _entries(session: AsyncSession, spaces: list[Space]) -> list[rules.CalendarEntry]:
    hosts = await repo.users_by_id(session, [space.host_id for space in spaces])
    entries = []
    for space in spaces:
        starts_at = space.started_at or space.scheduled_for or space.created_at
        host = hosts[space.host_id]
        entries.append(
            rules.CalendarEntry(
                space_id=space.id,
                title=space.title,
                topics=list(space.topics),
                host_name=host.display_name,
                host_handle=host.handle,
                state=SpaceState(space.state),
                starts_at=starts_at,
                sequence=space.event_seq,
                created_at=space.created_at,
            )
        )
    return entries


async def space_calendar(
    services: Services,
    space_id: int,
    viewer_id: int | None,
    *,
    time_zone: str,
    site_url: str | None,
) -> bytes:
    """One space as a calendar file (a canceled one: CANCELLED, so a calendar that has it
    strikes it out)."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        if viewer_id is not None and await repo.blocked_either_way(
            session, space.host_id, viewer_id
        ):
            raise Blocked("you and the host have blocked one another")
        entries = await _entries(session, [space])
    return rules.calendar_file(
        entries,
        time_zone=time_zone,
        site_url=site_url,
        site_host=_site_host(services, site_url),
        now=services.clock(),
    )


async def host_calendar(
    services: Services,
    handle: str,
    viewer_id: int | None,
    *,
    time_zone: str,
    site_url: str | None,
) -> bytes:
    """A host's live and upcoming spaces, a feed calendars subscribe to (webcal://)."""
    async with services.store.read() as session:
        host = await _user(session, handle)
        spaces = await discovery.hosted_live_and_upcoming(session, host.id, viewer_id)
        entries = await _entries(session, spaces)
    return rules.calendar_file(
        entries,
        time_zone=time_zone,
        site_url=site_url,
        site_host=_site_host(services, site_url),
        now=services.clock(),
        name=f"{host.display_name} (@{host.handle}) on Parley",
    )
