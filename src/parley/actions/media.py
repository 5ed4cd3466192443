"""Who may publish and listen: the checks behind WHIP and WHEP. They only read."""

from __future__ import annotations

from parley.actions.base import Services
from parley.actions.spaces import present_member
from parley.domain.errors import NotFound
from parley.domain.space import SpaceState, require_live
from parley.domain.stage import require_can_publish
from parley.store import repo


async def check_publish(services: Services, space_id: int, user_id: int) -> tuple[bool, int]:
    """Returns whether their audio may be mixed now (unmuted), and the space's seq then."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        seat = repo.seat_of(await present_member(session, space_id, user_id))
        require_live(SpaceState(space.state), "publish audio")
        require_can_publish(seat)
        return not seat.muted, space.event_seq


async def check_listen(services: Services, space_id: int, user_id: int) -> tuple[bool, int]:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        await present_member(session, space_id, user_id)
        require_live(SpaceState(space.state), "listen")
        return False, space.event_seq
