"""Sharing (issue 13): reposting a space to one's followers (their home lists it with who shared
it, and the host is told), and what the embeddable player and oEmbed show of a space, a replay
or a clip: only what the space's public link shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete

from parley.actions import analytics, notify, recordings, spaces
from parley.actions.base import Services, change, locked_space
from parley.actions.spaces import SpacePage
from parley.domain import sharing as rules
from parley.domain.analytics import TallyKind
from parley.domain.errors import NotFound
from parley.domain.notify import Kind, dedupe_key, quoted
from parley.domain.space import SpaceState
from parley.domain.views import ClipView, SpaceView, UserBrief
from parley.store import repo, views
from parley.store import sharing as store
from parley.store.models import Repost, User

# Reposts and their undoing, per user: a person shares a few spaces an hour, not hundreds.
REPOST_BURST = 20.0
REPOST_RATE_PER_S = 0.2


def _take(services: Services, user_id: int) -> None:
    services.take("reposts", user_id, burst=REPOST_BURST, rate_per_s=REPOST_RATE_PER_S)


async def repost(services: Services, space_id: int, user_id: int) -> None:
    """Shares an upcoming or live space with the user's followers (their home, `home_shared`).
    The host is told, once per person who shares it (not of their own). Sharing again is a
    no-op."""
    _take(services, user_id)
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        rules.check_can_repost(
            SpaceState(space.state),
            blocked_either_way=await repo.blocked_either_way(unit.session, user_id, space.host_id),
        )
        if await store.reposted(unit.session, space_id, user_id):
            return
        unit.session.add(Repost(space_id=space_id, user_id=user_id, created_at=unit.now))
        if user_id == space.host_id:
            return
        await analytics.tally(unit, space_id, TallyKind.SHARE)
        sharer = await unit.session.get(User, user_id)
        assert sharer is not None
        await notify.tell(
            unit,
            space.host_id,
            kind=Kind.SHARED,
            dedupe_key=dedupe_key(Kind.SHARED, space_id, user_id),
            text=f"{sharer.display_name} shared {quoted(space.title)}",
            link=f"/s/{space_id}",
            actor_id=user_id,
            space_id=space_id,
        )


async def unrepost(services: Services, space_id: int, user_id: int) -> None:
    """Takes a repost back (none: a no-op). The host's notification stays, as a follow's does."""
    _take(services, user_id)
    async with change(services) as unit:
        if await repo.space(unit.session, space_id) is None:
            raise NotFound(f"no space {space_id}")
        await unit.session.execute(
            delete(Repost).where(Repost.space_id == space_id, Repost.user_id == user_id)
        )


async def reposted(services: Services, space_id: int, viewer_id: int | None) -> bool:
    """Whether the viewer shared the space (False for visitors)."""
    if viewer_id is None:
        return False
    async with services.store.read() as session:
        return await store.reposted(session, space_id, viewer_id)


@dataclass(frozen=True)
class SharedSpace:
    space: SpaceView
    # The newest few of the people the viewer follows who shared it.
    shared_by: list[UserBrief]
    # How many of the people the viewer follows shared it.
    shared_count: int


async def home_shared(services: Services, viewer_id: int) -> list[SharedSpace]:
    """Upcoming and live spaces the people the viewer follows shared, the latest shared first;
    none of a host, or shared by someone, the viewer blocked or who blocked the viewer."""
    async with services.store.read() as session:
        rows = await store.shared_with(session, viewer_id, limit=rules.HOME_SHARED_MAX)
        space_views = await views.space_views(session, [row.space for row in rows])
        ids = [row.space.id for row in rows]
        sharers = await store.sharers(session, viewer_id, ids, per_space=rules.SHARED_BY_SHOWN)
        sharer_ids = sorted({user_id for found in sharers.values() for user_id in found})
        users = await repo.users_by_id(session, sharer_ids)
    return [
        SharedSpace(
            space=view,
            shared_by=[views.user_brief(users[u]) for u in sharers.get(view.id, [])],
            shared_count=row.shared_count,
        )
        for view, row in zip(space_views, rows, strict=True)
    ]


# --- embeds ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Embeddable:
    """What an embed of a space, its replay or a clip shows: as its public page does."""

    kind: Literal["space", "replay", "clip"]
    title: str
    page: SpacePage
    # The page on this instance (the link out) and the player other sites frame.
    page_path: str
    embed_path: str
    clip: ClipView | None = None

    @property
    def host(self) -> UserBrief:
        return self.page.space.host


async def embeddable(services: Services, target: rules.EmbedTarget) -> Embeddable:
    """NotFound for a missing space, a replay not published, a clip gone or private. A space
    that ended with a published replay is embedded as its replay (as its link previews it)."""
    if target.kind == "clip":
        assert target.clip_id is not None
        clip, _ = await recordings.clip(services, target.clip_id, None)
        page = await spaces.get_space(services, clip.space_id, None)
        return Embeddable(
            kind="clip",
            title=f"Clip from “{clip.space_title}”",
            page=page,
            page_path=clip.page_url,
            embed_path=f"/embed/clips/{clip.id}",
            clip=clip,
        )
    assert target.space_id is not None
    space_id = target.space_id
    page = await spaces.get_space(services, space_id, None)
    to_replay = page.replay_published and (
        target.kind == "replay" or page.space.state is SpaceState.ENDED
    )
    if target.kind == "replay" and not to_replay:
        raise NotFound(f"space {space_id} has no published replay")
    if to_replay:
        return Embeddable(
            kind="replay",
            title=f"Replay: {page.space.title}",
            page=page,
            page_path=f"/s/{space_id}/replay",
            embed_path=f"/embed/s/{space_id}/replay",
        )
    return Embeddable(
        kind="space",
        title=page.space.title,
        page=page,
        page_path=f"/s/{space_id}",
        embed_path=f"/embed/s/{space_id}",
    )
