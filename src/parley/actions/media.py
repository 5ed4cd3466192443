"""Who may publish and listen: the checks behind WHIP and WHEP. They only read."""

from __future__ import annotations

from parley.actions.base import Services
from parley.actions.spaces import present_member
from parley.domain.errors import DomainError, NotFound
from parley.domain.moderation import in_force
from parley.domain.space import SpaceState, require_live
from parley.domain.stage import require_can_publish
from parley.domain.visitors import require_open_to_visitors
from parley.store import repo
from parley.store.models import User


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


async def may_keep_hearing(services: Services, space_id: int, user_id: int | None) -> bool:
    """Whether a live link given out earlier still serves its holder (the app's /hls route, issue
    12): a member not removed (a block removes them from the blocker's live spaces,
    actions/social.py), or for a visitor (None) a space still open to visitors. Not whether the
    space is still live: the end of its playlist may still be fetched."""
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            return False
        if user_id is None:
            try:
                require_open_to_visitors(
                    instance_allows=services.settings.visitors_can_listen,
                    accounts_required=space.accounts_required,
                )
            except DomainError:
                return False
            return True
        row = await repo.member(session, space_id, user_id)
        if row is None or row.removed:
            return False
        # A suspended account's links stop at once too.
        user = await session.get(User, user_id)
        return user is not None and not in_force(user.suspended_until, services.clock())
