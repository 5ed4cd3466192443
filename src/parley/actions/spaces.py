"""A space's lifecycle, joining, presence, discovery and the room snapshot."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions import fanout, schedule
from parley.actions.base import Change, Services, change, locked_space
from parley.bus.channels import space_changed_notice, space_live_notice
from parley.domain import space as rules
from parley.domain.accounts import check_host_eligibility
from parley.domain.errors import (
    Blocked,
    DomainError,
    Forbidden,
    InvalidState,
    NotFound,
    Removed,
)
from parley.domain.events import Snapshot, SpaceUpdated
from parley.domain.idle import EndReason, server_end_reason
from parley.domain.moderation import check_hosting_allowed
from parley.domain.notify import Kind, dedupe_key
from parley.domain.space import SpaceState, SpaceTransition, SpeakerPolicy
from parley.domain.stage import (
    Role,
    StageAction,
    StageRequest,
    require_space_action,
)
from parley.domain.views import MemberView, SpaceView
from parley.domain.visitors import open_to_visitors, public_stage
from parley.store import repo, views
from parley.store.models import Space, SpaceMember, User

log = logging.getLogger(__name__)


async def _check_live_spaces_per_host(unit: Change, host_id: int) -> None:
    """Before a space of `host_id` goes live. The host's row is locked first, so two creates or
    starts of one host at once are counted one after the other (PostgreSQL; SQLite writes one
    at a time anyway); FOR NO KEY UPDATE leaves the rows that merely refer to the user alone."""
    limit = unit.services.settings.max_live_spaces_per_host
    if limit <= 0:
        return
    await unit.session.execute(
        select(User.id).where(User.id == host_id).with_for_update(key_share=True)
    )
    live = await unit.session.execute(
        select(Space.id)
        .where(Space.host_id == host_id, Space.state == SpaceState.LIVE.value)
        .order_by(Space.started_at.desc(), Space.id.desc())
    )
    rules.check_live_spaces_per_host(list(live.scalars()), limit)


async def present_member(session: AsyncSession, space_id: int, user_id: int) -> SpaceMember:
    """The caller's membership; they must have joined and not been removed."""
    row = await repo.member(session, space_id, user_id)
    if row is None:
        raise Forbidden("join the space first")
    if row.removed:
        raise Removed("you were removed from this space")
    return row


async def tell_live(unit: Change, space: Space) -> None:
    """The host's followers and those who asked to be reminded hear that it is live: a fan-out
    stored with the change, told in the background (the request answers at once)."""
    host = await unit.session.get(User, space.host_id)
    name = host.display_name if host is not None else "Someone"
    await fanout.start_fanout(
        unit,
        kind=Kind.LIVE,
        dedupe_key=dedupe_key(Kind.LIVE, space.id),
        text=f"{name} is live: {space.title}",
        link=f"/s/{space.id}",
        actor_id=space.host_id,
        space_id=space.id,
        audience=[fanout.FOLLOWERS, fanout.REMINDED],
    )


async def create_space(
    services: Services,
    host_id: int,
    *,
    title: str,
    topics: list[str],
    speaker_policy: SpeakerPolicy,
    scheduled_for: datetime | None,
    record: bool = True,
    accounts_required: bool = False,
    captions: bool = False,
    caption_language: str = "",
) -> SpaceView:
    """`caption_language` is checked by the caller (actions/captions.py); empty: the
    instance's default."""
    title = rules.check_title(title)
    topics = rules.check_topics(topics)
    now = services.clock()
    if scheduled_for is not None:
        scheduled_for = rules.check_schedule(scheduled_for, now)
    async with change(services) as unit:
        host_user = await unit.session.get(User, host_id)
        if host_user is not None:
            check_hosting_allowed(host_user.hosting_restricted_until, unit.now)
        check_host_eligibility(
            follower_count=await repo.follower_count(unit.session, host_id),
            min_followers_to_host=services.settings.min_followers_to_host,
        )
        live = scheduled_for is None
        if live:
            await _check_live_spaces_per_host(unit, host_id)
        space = Space(
            host_id=host_id,
            title=title,
            topics=topics,
            speaker_policy=speaker_policy.value,
            state=(SpaceState.LIVE if live else SpaceState.SCHEDULED).value,
            scheduled_for=scheduled_for,
            started_at=unit.now if live else None,
            ended_at=None,
            created_at=unit.now,
            event_seq=0,
            # The host has the grace period to open the room, as after a drop.
            host_absent_since=unit.now if live else None,
            record=record,
            accounts_required=accounts_required,
            captions=captions,
            caption_language=caption_language or services.settings.caption_language,
        )
        unit.session.add(space)
        await unit.session.flush()
        unit.session.add(
            SpaceMember(
                space_id=space.id,
                user_id=host_id,
                role=Role.HOST.value,
                muted=True,
                stage_request=StageRequest.NONE.value,
                removed=False,
                connections=0,
                joined_at=unit.now,
            )
        )
        await unit.session.flush()
        if live:
            unit.outbox.append(space_live_notice(space.id))
            await tell_live(unit, space)
        else:
            schedule.queue_host_start(unit, space)
        view = await views.space_view(unit.session, space)
        unit.outbox.append(space_changed_notice(view))
        return view


async def _transition(
    services: Services, space_id: int, actor_id: int | None, action: SpaceTransition
) -> SpaceView:
    """`actor_id` None is the server itself (domain/idle.py: the host's grace period ran out, or
    nobody was there for the idle time), checked again here under the space's lock."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        if actor_id is None:
            reason = await _server_end_reason(unit.session, space, unit.now, services)
            if reason is None:
                raise InvalidState("the host or someone else is back", state=space.state)
            log.info("space(%s) ended by the server: %s", space_id, _END_REASONS[reason])
        else:
            actor = await repo.member(unit.session, space_id, actor_id)
            if actor is None or actor.role != Role.HOST.value:
                raise Forbidden(f"only the host may {action.value} this space")
            require_space_action(repo.seat_of(actor), StageAction(action.value))
        state = rules.transition(SpaceState(space.state), action)
        if action is SpaceTransition.START:
            host_user = await unit.session.get(User, space.host_id)
            if host_user is not None:
                check_hosting_allowed(host_user.hosting_restricted_until, unit.now)
            await _check_live_spaces_per_host(unit, space.host_id)
        space.state = state.value
        if action is SpaceTransition.START:
            space.started_at = unit.now
            host = await repo.member(unit.session, space_id, space.host_id)
            space.host_absent_since = None if host and host.connections > 0 else unit.now
            unit.outbox.append(space_live_notice(space.id))
            await tell_live(unit, space)
        else:
            space.ended_at = unit.now
            space.host_absent_since = None
        if action is SpaceTransition.CANCEL:
            # Those who asked for a reminder and the co-hosts named ahead.
            await schedule.tell_canceled(unit, space)
        view = await views.space_view(unit.session, space)
        await unit.record(space, SpaceUpdated(space=view))
        return view


async def start_space(services: Services, space_id: int, actor_id: int) -> SpaceView:
    return await _transition(services, space_id, actor_id, SpaceTransition.START)


async def end_space(services: Services, space_id: int, actor_id: int | None) -> SpaceView:
    return await _transition(services, space_id, actor_id, SpaceTransition.END)


async def cancel_space(services: Services, space_id: int, actor_id: int) -> SpaceView:
    return await _transition(services, space_id, actor_id, SpaceTransition.CANCEL)


async def join_space(services: Services, space_id: int, user_id: int) -> MemberView:
    """Enters the room as a listener (or comes back in one's old seat)."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await repo.member(unit.session, space_id, user_id)
        if row is not None and row.removed:
            raise Removed("you were removed from this space")
        if await repo.blocks(unit.session, space.host_id, user_id):
            raise Blocked("the host has blocked you")
        rules.require_joinable(SpaceState(space.state))
        if row is None:
            row = SpaceMember(
                space_id=space_id,
                user_id=user_id,
                role=Role.LISTENER.value,
                muted=True,
                stage_request=StageRequest.NONE.value,
                removed=False,
                connections=0,
                joined_at=unit.now,
            )
            unit.session.add(row)
            await unit.session.flush()
        return await views.member_view(unit.session, row)


@dataclass(frozen=True)
class SpacePage:
    """A space as its link shows it to anyone, and the viewer's membership (None for visitors)."""

    space: SpaceView
    me: MemberView | None
    # Who is on stage (public: names, roles, muted), in the order they joined.
    stage: list[MemberView]
    replay_published: bool
    # People without an account may listen (the instance lets them, the host did not ask for
    # accounts).
    open_to_visitors: bool
    # The viewer asked to be reminded; how many asked (host and co-hosts only, else None).
    reminded: bool = False
    reminders: int | None = None


async def get_space(services: Services, space_id: int, viewer_id: int | None) -> SpacePage:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        me = await repo.member(session, space_id, viewer_id) if viewer_id is not None else None
        notable = await views.member_views(session, await repo.notable_members(session, space_id))
        reminder = await schedule.reminder_state(
            session, space, viewer_id, me.role if me is not None else None
        )
        return SpacePage(
            space=await views.space_view(session, space),
            me=await views.member_view(session, me) if me is not None else None,
            stage=public_stage(notable),
            replay_published=await repo.replay_published(session, space_id),
            open_to_visitors=open_to_visitors(
                instance_allows=services.settings.visitors_can_listen,
                accounts_required=space.accounts_required,
            ),
            reminded=reminder.reminded,
            reminders=reminder.reminders,
        )


async def set_accounts_required(
    services: Services, space_id: int, actor_id: int, *, accounts_required: bool
) -> SpaceView:
    """The host's choice: whether people without an account may listen. Visitors' sockets close
    when it turns on (their current HLS links last until they expire)."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        if space.host_id != actor_id:
            raise Forbidden("only the host may change who may listen")
        rules.require_joinable(SpaceState(space.state))
        if space.accounts_required == accounts_required:
            return await views.space_view(unit.session, space)
        space.accounts_required = accounts_required
        view = await views.space_view(unit.session, space)
        await unit.record(space, SpaceUpdated(space=view))
        return view


async def discover(services: Services, state: SpaceState, viewer_id: int | None) -> list[SpaceView]:
    async with services.store.read() as session:
        spaces = await repo.spaces_in_state(session, state, viewer_id)
        return await views.space_views(session, spaces)


async def snapshot(services: Services, space_id: int, viewer_id: int | None) -> Snapshot:
    """The whole room in one consistent read, numbered with its last change (`viewer_id` None:
    a visitor's, whose `me` is null; domain/visitors.py makes it public)."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        members = await views.member_views(session, await repo.notable_members(session, space_id))
        me = await repo.member(session, space_id, viewer_id) if viewer_id is not None else None
        return Snapshot(
            seq=space.event_seq,
            space=await views.space_view(session, space),
            members=members,
            pins=[views.pin_view(pin) for pin in await repo.pins(session, space_id)],
            listener_count=await repo.listener_count(session, space_id),
            me=await views.member_view(session, me) if me is not None else None,
            captions=[
                views.caption_line_view(row)
                for row in await repo.recent_caption_lines(
                    session, space_id, services.settings.caption_lines_in_snapshot
                )
            ],
        )


async def changes_after(
    services: Services, space_id: int, after_seq: int
) -> list[tuple[int, str]] | None:
    async with services.store.read() as session:
        return await repo.events_after(session, space_id, after_seq)


async def listeners(
    services: Services, space_id: int, viewer_id: int, *, offset: int, limit: int
) -> tuple[list[MemberView], int]:
    """Who is listening, for those in the room (as on Spaces: the listeners' faces are public to
    the people in it, who are seen there too): not for someone who never joined, was removed, or
    was blocked by the host (a block leaves a scheduled space's membership in place)."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        if await repo.blocks(session, space.host_id, viewer_id):
            raise Blocked("the host has blocked you")
        await present_member(session, space_id, viewer_id)
        rows, total = await repo.present_listeners(session, space_id, offset=offset, limit=limit)
        return await views.member_views(session, rows), total


_END_REASONS = {
    EndReason.HOST_GONE: "the host did not come (back) in time",
    EndReason.IDLE: "nobody was there for the idle time",
}


async def _connected(session: AsyncSession, space_ids: list[int]) -> dict[int, int]:
    """Per space: its members with a room socket or media session open, and its visitors."""
    if not space_ids:
        return {}
    rows = await session.execute(
        select(SpaceMember.space_id, func.count())
        .where(SpaceMember.space_id.in_(space_ids), SpaceMember.connections > 0)
        .group_by(SpaceMember.space_id)
    )
    counts = {space_id: int(count) for space_id, count in rows.all()}
    for space_id, visitors in (await repo.visitor_counts(session, space_ids)).items():
        counts[space_id] = counts.get(space_id, 0) + visitors
    return counts


def _end_reason(
    services: Services, space: Space, connected: dict[int, int], now: datetime
) -> EndReason | None:
    if space.state != SpaceState.LIVE.value:
        return None
    return server_end_reason(
        host_absent_since=space.host_absent_since,
        connected=connected.get(space.id, 0),
        now=now,
        host_grace_s=services.settings.host_grace_s,
        idle_end_s=services.settings.idle_space_end_s,
    )


async def _server_end_reason(
    session: AsyncSession, space: Space, now: datetime, services: Services
) -> EndReason | None:
    return _end_reason(services, space, await _connected(session, [space.id]), now)


async def end_abandoned_spaces(services: Services) -> list[int]:
    """Ends the live spaces the server ends on its own (domain/idle.py): the host gone longer
    than the grace period, or nobody there for the idle time."""
    settings = services.settings
    # Both rules need the host away at least this long: the spaces to look at.
    away_s = settings.host_grace_s
    if settings.idle_space_end_s > 0:
        away_s = min(away_s, settings.idle_space_end_s)
    now = services.clock()
    async with services.store.read() as session:
        candidates = await repo.spaces_past_host_grace(session, now - timedelta(seconds=away_s))
        if not candidates:
            return []
        found = await session.execute(select(Space).where(Space.id.in_(candidates)))
        connected = await _connected(session, candidates)
        due = [
            space.id
            for space in found.scalars()
            if _end_reason(services, space, connected, now) is not None
        ]
    ended: list[int] = []
    for space_id in due:
        try:
            await end_space(services, space_id, None)
            ended.append(space_id)
        except DomainError:
            pass  # another node ended it first, or someone came back meanwhile
    return ended
