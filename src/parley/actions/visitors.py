"""Visitors (people without an account): whether they may listen to a space and open its room,
the public room they see, and their count, which each node keeps in the store under a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from parley.actions import spaces
from parley.actions.base import Services, change
from parley.domain.errors import NotFound
from parley.domain.events import Snapshot
from parley.domain.space import SpaceState, require_live
from parley.domain.visitors import PublicRoom, require_open_to_visitors
from parley.store import repo


@dataclass(frozen=True)
class RoomAccess:
    state: SpaceState
    # Visitors of the space counted by the other nodes (for the per-space cap).
    visitors_elsewhere: int


async def check_room(services: Services, space_id: int, node: str) -> RoomAccess:
    """A visitor may open the space's room: it exists and is open to visitors."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        require_open_to_visitors(
            instance_allows=services.settings.visitors_can_listen,
            accounts_required=space.accounts_required,
        )
        elsewhere = await repo.visitor_counts(session, [space_id], except_node=node)
        return RoomAccess(SpaceState(space.state), elsewhere.get(space_id, 0))


async def check_listen(services: Services, space_id: int, node: str) -> int:
    """A visitor may listen now: the room is open to them and the space live. Returns the space's
    visitors counted by the other nodes (the caller checks the per-space cap with its own)."""
    access = await check_room(services, space_id, node)
    require_live(access.state, "listen")
    return access.visitors_elsewhere


async def snapshot(services: Services, space_id: int, room: PublicRoom) -> Snapshot:
    """The public room now, numbered like a member's snapshot; `room` starts from it."""
    return room.start(await spaces.snapshot(services, space_id, None))


# --- the count, one row per space and node -----------------------------------------------------
async def count(services: Services, node: str, counts: dict[int, int]) -> None:
    """Writes this node's visitor counts of these spaces (0 removes the row)."""
    async with change(services) as unit:
        for space_id, visitors in sorted(counts.items()):
            if await repo.space(unit.session, space_id) is not None:
                await repo.set_visitors(unit.session, space_id, node, visitors, unit.now)


async def renew(services: Services, node: str) -> None:
    """Renews the lease of this node's counts."""
    async with change(services) as unit:
        await repo.renew_visitors(unit.session, node, unit.now)


async def expire(services: Services) -> list[int]:
    """Drops the counts of nodes that stopped renewing them (crashed); the spaces they were in."""
    lease = timedelta(seconds=services.settings.visitor_lease_s)
    async with change(services) as unit:
        return await repo.drop_visitors(unit.session, renewed_before=unit.now - lease)


async def forget(services: Services, node: str) -> list[int]:
    """At a node's start: it has no visitors yet, whatever a crash left counted under its name."""
    async with change(services) as unit:
        return await repo.drop_visitors(unit.session, node=node)
