"""Host analytics (issue 14): writing the facts a node gathered, and reading the figures.

A node gathers listens and reactions in memory (room/listens.py) and writes them here in one
transaction every `analytics_flush_s`; interactions that are actions of their own (a request to
speak, a clip, a share, a follow) are counted in that action's transaction (`tally`). The figures
are computed from the facts by domain/analytics.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from parley.actions.base import Change, Services, change
from parley.domain import analytics as rules
from parley.domain import analytics_period as period
from parley.domain.analytics import SpaceAnalytics, Tally, TallyKind
from parley.domain.analytics_period import HostAnalytics
from parley.domain.errors import NotFound
from parley.domain.recordings import RecordingState
from parley.domain.space import SpaceState
from parley.domain.stage import Role
from parley.store import analytics as facts
from parley.store import repo, views
from parley.store.analytics import NewListen
from parley.store.models import Recording, Space


def lease_s(services: Services) -> float:
    """How long an open listen counts as still going without its node renewing it."""
    return 3 * services.settings.analytics_flush_s


async def record(
    services: Services,
    opened: Sequence[NewListen],
    ends: Sequence[tuple[int, datetime]],
    tallies: Sequence[tuple[int, Tally]],
) -> list[int]:
    """Writes what this node gathered since its last flush, and renews its open listens. The
    ids of the `opened` listens, in their order. Spaces deleted meanwhile lose theirs."""
    node = services.settings.resolved_node_name
    async with change(services) as unit:
        known = await _existing_spaces(
            unit, {listen.space_id for listen in opened} | {space_id for space_id, _ in tallies}
        )
        kept = [listen for listen in opened if listen.space_id in known]
        ids = await facts.insert_listens(unit.session, node, kept, unit.now)
        await facts.end_listens(unit.session, ends)
        await facts.renew_listens(unit.session, node, unit.now)
        await facts.add_tallies(
            unit.session, [(space_id, tally) for space_id, tally in tallies if space_id in known]
        )
    by_listen = iter(ids)
    return [next(by_listen) if listen.space_id in known else 0 for listen in opened]


async def _existing_spaces(unit: Change, space_ids: set[int]) -> set[int]:
    if not space_ids:
        return set()
    found = await unit.session.execute(select(Space.id).where(Space.id.in_(space_ids)))
    return set(found.scalars().all())


async def end_node_listens(services: Services) -> None:
    """At this node's start: what it left open (a crash, a kill) ended when last renewed."""
    async with change(services) as unit:
        await facts.end_node_listens(unit.session, services.settings.resolved_node_name)


async def tally(unit: Change, space_id: int, kind: TallyKind, key: str = "") -> None:
    """Counts one interaction in the causing action's transaction."""
    if unit.services.settings.analytics:
        await facts.add_tallies(unit.session, [(space_id, Tally(kind, key, 1))])


async def tally_if_live(unit: Change, host_id: int, kind: TallyKind) -> None:
    """Counts one interaction for the space the host is running now, if any (a follower
    gained while live)."""
    if not unit.services.settings.analytics:
        return
    live = await unit.session.execute(
        select(Space.id).where(Space.host_id == host_id, Space.state == SpaceState.LIVE.value)
    )
    for space_id in live.scalars().all():
        await tally(unit, space_id, kind)


async def replay_played(services: Services, space_id: int, viewer_id: int | None) -> None:
    """Someone started playing a space's published replay (its host's own plays are not
    counted). NotFound where there is no replay they may play."""
    async with change(services) as unit:
        space = await repo.space(unit.session, space_id)
        found = (
            await unit.session.execute(
                select(Recording.replay_published_at, Recording.state).where(
                    Recording.space_id == space_id
                )
            )
        ).first()
        # As GET /replay: published, and complete (a purged one is not).
        if (
            space is None
            or found is None
            or found.replay_published_at is None
            or found.state != RecordingState.COMPLETE.value
        ):
            raise NotFound(f"space {space_id} has no published replay")
        if viewer_id != space.host_id:
            await tally(unit, space_id, TallyKind.REPLAY_PLAY)


# --- reading ---------------------------------------------------------------------------------


def _window(space: Space, now: datetime) -> tuple[datetime, datetime] | None:
    if space.started_at is None:
        return None
    return space.started_at, space.ended_at or now


async def space_analytics(services: Services, space_id: int, viewer_id: int) -> SpaceAnalytics:
    """A space's figures, for its host and co-hosts."""
    now = services.clock()
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        member = await repo.member(session, space_id, viewer_id)
        rules.require_viewer(
            is_host=space.host_id == viewer_id,
            role=Role(member.role) if member is not None and not member.removed else None,
        )
        view = await views.space_view(session, space)
        window = _window(space, now)
        figures = None
        speakers = []
        if window is not None:
            listens = (await facts.listens_of(session, [space_id], now, lease_s(services)))[
                space_id
            ]
            tallies = (await facts.tallies_of(session, [space_id]))[space_id]
            # Pure work over every listen of the space: off the event loop.
            figures = await asyncio.to_thread(
                rules.space_figures,
                listens,
                tallies,
                start=window[0],
                end=window[1],
                host_id=space.host_id,
            )
            people = await repo.users_by_id(session, [line.user_id for line in figures.talk])
            speakers = [
                views.user_brief(people[line.user_id])
                for line in figures.talk
                if line.user_id in people
            ]
    return SpaceAnalytics(
        space=view,
        live=space.state == SpaceState.LIVE.value,
        figures=figures,
        speakers=speakers,
    )


async def host_analytics(
    services: Services, host_id: int, start: datetime, end: datetime
) -> HostAnalytics:
    """A host's spaces that started in [start, end), against the period before."""
    period.check_period(start, end)
    now = services.clock()
    before_start, before_end = period.previous_period(start, end)
    async with services.store.read() as session:
        found = await session.execute(
            select(Space)
            .where(
                Space.host_id == host_id,
                Space.started_at.is_not(None),
                Space.started_at >= before_start,
                Space.started_at < end,
            )
            .order_by(Space.started_at.desc())
        )
        spaces = list(found.scalars().all())
        ids = [space.id for space in spaces]
        listens = await facts.listens_of(session, ids, now, lease_s(services))
        tallies = await facts.tallies_of(session, ids)
    hosted = [
        period.HostedSpace(
            space_id=space.id,
            start=space.started_at,
            end=space.ended_at or max(now, space.started_at),
            listens=listens[space.id],
            tallies=tallies[space.id],
        )
        for space in spaces
        if space.started_at is not None
    ]
    # Pure work over every listen of the period: off the event loop.
    summaries = await asyncio.to_thread(
        lambda: {one.space_id: period.summarize(one, host_id=host_id) for one in hosted}
    )
    current = [space for space in spaces if space.started_at and space.started_at >= start]
    previous = [space for space in spaces if space.started_at and space.started_at < start]
    now_figures = period.period_figures(
        (summaries[space.id] for space in current), start=start, end=end
    )
    before_figures = period.period_figures(
        (summaries[space.id] for space in previous), start=before_start, end=before_end
    )
    rows = [
        period.SpaceRow(
            space_id=space.id,
            title=space.title,
            started_at=space.started_at,
            ended_at=space.ended_at,
            unique_listeners=summaries[space.id].unique_listeners,
            unique_visitors=summaries[space.id].unique_visitors,
            peak_listeners=summaries[space.id].peak_listeners,
            average_listening_s=summaries[space.id].average_listening_s,
            total_interactions=summaries[space.id].interactions.total,
        )
        for space in current
        if space.started_at is not None
    ]
    return HostAnalytics(
        current=now_figures,
        previous=before_figures,
        changes=period.compare(now_figures, before_figures),
        spaces=rows,
    )


def period_of_days(now: datetime, days: int) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now
