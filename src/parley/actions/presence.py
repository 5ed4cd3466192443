"""Who is present in a room: each member's open connections (room sockets and media sessions),
counted per node under a lease so that a node's death takes its counts with it (issue 12), and
what presence changes (a host's absence starts the grace period, listeners are counted)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from parley.actions.base import Change, Services, change, locked_space
from parley.actions.spaces import present_member
from parley.domain.events import MemberUpdated
from parley.domain.space import SpaceState
from parley.domain.stage import Role, set_mic_live
from parley.store import repo, views
from parley.store.models import MemberConnection, Space, SpaceMember

log = logging.getLogger(__name__)


async def connect(services: Services, space_id: int, user_id: int) -> None:
    """A WebSocket of this member opened: they are present."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await present_member(unit.session, space_id, user_id)
        row.connections += 1
        await repo.count_connection(
            unit.session, space_id, user_id, services.settings.resolved_node_name, 1, unit.now
        )
        if row.connections == 1:
            await presence_changed(unit, space, row, present=True)


async def disconnect(services: Services, space_id: int, user_id: int) -> None:
    """A WebSocket of this member closed."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await repo.member(unit.session, space_id, user_id)
        if row is None or row.connections <= 0:
            return
        node = services.settings.resolved_node_name
        if not await repo.count_connection(unit.session, space_id, user_id, node, -1, unit.now):
            # This node's count was taken back (its lease ran out while it stalled): the sum no
            # longer holds this connection.
            return
        row.connections -= 1
        if row.connections == 0:
            await presence_changed(unit, space, row, present=False)


async def presence_changed(unit: Change, space: Space, row: SpaceMember, *, present: bool) -> None:
    if row.role == Role.HOST.value and space.state == SpaceState.LIVE.value:
        space.host_absent_since = None if present else unit.now
    seat = repo.seat_of(row)
    if seat.notable:
        await unit.record(space, MemberUpdated(member=await views.member_view(unit.session, row)))
    else:
        unit.listeners_changed(space.id)


async def forget_presence(services: Services) -> list[int]:
    """At the start of a node that is the only one (the in-process bus): nobody can be
    connected yet, so every count of open sockets and media sessions left by a crash is
    cleared, and each live space's host is absent from now (back within the grace period, or the
    space ends). No media session is open either: whoever was heard is not any more, so they are
    shown with the microphone off and muted (a changed seat each). Returns the live spaces. With
    several nodes each node's counts are its own (`expire_connections`)."""
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
        await unit.session.execute(delete(MemberConnection))
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


async def renew_connections(services: Services) -> None:
    """This node still holds the connections it counted (its lease, renewed a few times per
    `connection_lease_s`)."""
    async with change(services) as unit:
        await unit.session.execute(
            update(MemberConnection)
            .where(MemberConnection.node == services.settings.resolved_node_name)
            .values(renewed_at=unit.now)
        )


async def expire_connections(services: Services, *, node: str | None = None) -> list[int]:
    """Takes back the connections counted by nodes that stopped renewing them (killed, cut off):
    each member present only through such a node is absent from now (a host's grace period
    starts), and shown unheard. `node`: that node's counts at once (a node starting again under
    its old name). Returns the spaces whose presence changed."""
    settings = services.settings
    now = services.clock()
    query = select(MemberConnection)
    cutoff = now - timedelta(seconds=settings.connection_lease_s)
    if node is not None:
        query = query.where(MemberConnection.node == node)
    else:
        query = query.where(MemberConnection.renewed_at < cutoff)
    async with services.store.read() as session:
        stale = [
            (row.space_id, row.user_id, row.node)
            for row in (await session.execute(query)).scalars()
        ]
    changed: list[int] = []
    for space_id, user_id, stale_node in stale:
        async with change(services) as unit:
            space = await locked_space(unit, space_id)
            held = await unit.session.get(
                MemberConnection, (space_id, user_id, stale_node), with_for_update=True
            )
            if held is None:
                continue  # taken back by another node meanwhile
            if node is None and held.renewed_at >= cutoff:
                continue  # renewed meanwhile: its node lives
            await unit.session.delete(held)
            row = await repo.member(unit.session, space_id, user_id)
            if row is None or row.connections <= 0:
                continue
            row.connections = max(0, row.connections - held.connections)
            log.info(
                "space(%s) user %s: %d connection(s) of node %s taken back",
                space_id,
                user_id,
                held.connections,
                stale_node,
            )
            if row.connections == 0:
                if row.mic_live:
                    # Their media session was on that node: nobody hears them now.
                    repo.apply_seat(row, set_mic_live(repo.seat_of(row), live=False))
                await presence_changed(unit, space, row, present=False)
            changed.append(space_id)
    return changed
