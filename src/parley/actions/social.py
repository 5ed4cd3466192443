"""Follows and blocks."""

from __future__ import annotations

from sqlalchemy import delete

from parley.actions import analytics, audit, notify
from parley.actions.base import Services, change
from parley.domain import accounts as rules
from parley.domain.analytics import TallyKind
from parley.domain.errors import NotFound
from parley.domain.events import MemberRemoved
from parley.domain.notify import Kind, dedupe_key
from parley.domain.stage import Seat
from parley.store import repo
from parley.store.models import Block, Follow, User


async def follow(services: Services, follower_id: int, handle: str) -> None:
    async with change(services) as unit:
        target = await repo.user_by_handle(unit.session, handle)
        if target is None:
            raise NotFound(f"no user @{handle}")
        rules.check_can_follow(
            follower_id=follower_id,
            followee_id=target.id,
            blocked_either_way=await repo.blocked_either_way(unit.session, follower_id, target.id),
        )
        if not await repo.follows(unit.session, follower_id, target.id):
            unit.session.add(
                Follow(follower_id=follower_id, followee_id=target.id, created_at=unit.now)
            )
            await analytics.tally_if_live(unit, target.id, TallyKind.FOLLOWER)
            follower = await unit.session.get(User, follower_id)
            if follower is not None:
                await notify.tell(
                    unit,
                    target.id,
                    kind=Kind.FOLLOWER,
                    # Once per follower: unfollowing and following again rings nothing.
                    dedupe_key=dedupe_key(Kind.FOLLOWER, follower_id),
                    text=f"{follower.display_name} followed you",
                    link=f"/u/{follower.handle}",
                    actor_id=follower_id,
                )


async def unfollow(services: Services, follower_id: int, handle: str) -> None:
    async with change(services) as unit:
        target = await repo.user_by_handle(unit.session, handle)
        if target is None:
            raise NotFound(f"no user @{handle}")
        await unit.session.execute(
            delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == target.id)
        )


async def block(services: Services, blocker_id: int, handle: str) -> None:
    """Blocks: follows end both ways, and the blocked user leaves the blocker's spaces."""
    async with change(services) as unit:
        target = await repo.user_by_handle(unit.session, handle)
        if target is None:
            raise NotFound(f"no user @{handle}")
        rules.check_can_block(blocker_id=blocker_id, blocked_id=target.id)
        if await repo.blocks(unit.session, blocker_id, target.id):
            return
        unit.session.add(Block(blocker_id=blocker_id, blocked_id=target.id, created_at=unit.now))
        await unit.session.execute(
            delete(Follow).where(
                ((Follow.follower_id == blocker_id) & (Follow.followee_id == target.id))
                | ((Follow.follower_id == target.id) & (Follow.followee_id == blocker_id))
            )
        )
        for space in await repo.live_spaces_hosted_by(unit.session, blocker_id):
            locked = await repo.space(unit.session, space.id, lock=True)
            row = await repo.member(unit.session, space.id, target.id)
            if locked is None or row is None or row.removed:
                continue
            repo.apply_seat(row, Seat(user_id=target.id, removed=True))
            await unit.record(locked, MemberRemoved(user_id=target.id, reason="blocked"))
            # Removing someone from one's space is moderation: the space's log keeps it.
            await audit.write_by_id(
                unit,
                actor_id=blocker_id,
                actor_role="host",
                action="block",
                target_id=target.id,
                space_id=space.id,
            )


async def unblock(services: Services, blocker_id: int, handle: str) -> None:
    async with change(services) as unit:
        target = await repo.user_by_handle(unit.session, handle)
        if target is None:
            raise NotFound(f"no user @{handle}")
        await unit.session.execute(
            delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == target.id)
        )
