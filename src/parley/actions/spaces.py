"""A space's lifecycle, joining, presence, discovery and the room snapshot."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions.base import Change, Services, change
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
from parley.domain.events import MemberUpdated, Snapshot, SpaceUpdated
from parley.domain.space import SpaceState, SpaceTransition, SpeakerPolicy
from parley.domain.stage import (
    Role,
    StageAction,
    StageRequest,
    require_space_action,
    set_mic_live,
)
from parley.domain.views import MemberView, SpaceView
from parley.domain.visitors import open_to_visitors, public_stage
from parley.store import repo, views
from parley.store.models import Space, SpaceMember

log = logging.getLogger(__name__)


async def locked_space(unit: Change, space_id: int) -> Space:
    space = await repo.space(unit.session, space_id, lock=True)
    if space is None:
        raise NotFound(f"no space {space_id}")
    return space


async def present_member(session: AsyncSession, space_id: int, user_id: int) -> SpaceMember:
    """The caller's membership; they must have joined and not been removed."""
    row = await repo.member(session, space_id, user_id)
    if row is None:
        raise Forbidden("join the space first")
    if row.removed:
        raise Removed("you were removed from this space")
    return row


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
        check_host_eligibility(
            follower_count=await repo.follower_count(unit.session, host_id),
            min_followers_to_host=services.settings.min_followers_to_host,
        )
        live = scheduled_for is None
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
        view = await views.space_view(unit.session, space)
        unit.outbox.append(space_changed_notice(view))
        return view


async def _transition(
    services: Services, space_id: int, actor_id: int | None, action: SpaceTransition
) -> SpaceView:
    """`actor_id` None is the server itself (the host's grace period ran out)."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        if actor_id is None and not rules.host_grace_expired(
            space.host_absent_since, unit.now, services.settings.host_grace_s
        ):
            raise InvalidState("the host is back", state=space.state)
        if actor_id is not None:
            actor = await repo.member(unit.session, space_id, actor_id)
            if actor is None or actor.role != Role.HOST.value:
                raise Forbidden(f"only the host may {action.value} this space")
            require_space_action(repo.seat_of(actor), StageAction(action.value))
        space.state = rules.transition(SpaceState(space.state), action).value
        if action is SpaceTransition.START:
            space.started_at = unit.now
            host = await repo.member(unit.session, space_id, space.host_id)
            space.host_absent_since = None if host and host.connections > 0 else unit.now
            unit.outbox.append(space_live_notice(space.id))
        else:
            space.ended_at = unit.now
            space.host_absent_since = None
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


async def connect(services: Services, space_id: int, user_id: int) -> None:
    """A WebSocket of this member opened: they are present."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await present_member(unit.session, space_id, user_id)
        row.connections += 1
        if row.connections == 1:
            await _presence_changed(unit, space, row, present=True)


async def disconnect(services: Services, space_id: int, user_id: int) -> None:
    """A WebSocket of this member closed."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await repo.member(unit.session, space_id, user_id)
        if row is None or row.connections <= 0:
            return
        row.connections -= 1
        if row.connections == 0:
            await _presence_changed(unit, space, row, present=False)


async def _presence_changed(unit: Change, space: Space, row: SpaceMember, *, present: bool) -> None:
    if row.role == Role.HOST.value and space.state == SpaceState.LIVE.value:
        space.host_absent_since = None if present else unit.now
    seat = repo.seat_of(row)
    if seat.notable:
        await unit.record(space, MemberUpdated(member=await views.member_view(unit.session, row)))
    else:
        unit.listeners_changed(space.id)


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


async def get_space(services: Services, space_id: int, viewer_id: int | None) -> SpacePage:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        me = await repo.member(session, space_id, viewer_id) if viewer_id is not None else None
        notable = await views.member_views(session, await repo.notable_members(session, space_id))
        return SpacePage(
            space=await views.space_view(session, space),
            me=await views.member_view(session, me) if me is not None else None,
            stage=public_stage(notable),
            replay_published=await repo.replay_published(session, space_id),
            open_to_visitors=open_to_visitors(
                instance_allows=services.settings.visitors_can_listen,
                accounts_required=space.accounts_required,
            ),
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
    services: Services, space_id: int, *, offset: int, limit: int
) -> tuple[list[MemberView], int]:
    async with services.store.read() as session:
        if await repo.space(session, space_id) is None:
            raise NotFound(f"no space {space_id}")
        rows, total = await repo.present_listeners(session, space_id, offset=offset, limit=limit)
        return await views.member_views(session, rows), total


async def end_abandoned_spaces(services: Services) -> list[int]:
    """Ends the live spaces whose host has been gone longer than the grace period."""
    cutoff = services.clock() - timedelta(seconds=services.settings.host_grace_s)
    async with services.store.read() as session:
        space_ids = await repo.spaces_past_host_grace(session, cutoff)
    ended: list[int] = []
    for space_id in space_ids:
        try:
            await end_space(services, space_id, None)
            ended.append(space_id)
            log.info("space(%s) ended: the host did not come back in time", space_id)
        except DomainError:
            pass  # another node ended it first
    return ended


async def forget_presence(services: Services) -> list[int]:
    """At the start of a node that is the only one (the in-process bus): nobody can be
    connected yet, so every count of open sockets and media sessions left by a crash is
    cleared, and each live space's host is absent from now (back within the grace period, or the
    space ends). No media session is open either: whoever was heard is not any more, so they are
    shown with the microphone off and muted (a changed seat each). Returns the live spaces. With
    several nodes a node's own counts cannot be told apart from the others' (docs/architecture.md,
    known limits)."""
    async with change(services) as unit:
        live = (
            (
                await unit.session.execute(
                    select(Space).where(Space.state == SpaceState.LIVE.value).with_for_update()
                )
            )
            .scalars()
            .all()
        )
        await unit.session.execute(
            update(SpaceMember).where(SpaceMember.connections > 0).values(connections=0)
        )
        for space in live:
            if space.host_absent_since is None:
                space.host_absent_since = unit.now
            heard = await unit.session.execute(
                select(SpaceMember).where(
                    SpaceMember.space_id == space.id, SpaceMember.mic_live.is_(True)
                )
            )
            for row in heard.scalars().all():
                repo.apply_seat(row, set_mic_live(repo.seat_of(row), live=False))
                view = await views.member_view(unit.session, row)
                await unit.record(space, MemberUpdated(member=view))
        return [space.id for space in live]
