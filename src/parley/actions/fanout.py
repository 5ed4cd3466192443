"""Telling many (issue 13): a fan-out tells a host's followers and a space's reminded people in
batches, in a background job, not in the request. Each batch's notifications commit with the
fan-out's cursor; the fan-out is claimed while a job runs it and released after each batch, so a
job cut short (a restart, a node killed) is taken up where it stopped by the next one, and the
notifications' unique `(user_id, dedupe_key)` makes a batch run twice insert nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, union, update

from parley.actions import notify
from parley.actions.base import Change, Services, change
from parley.domain.notify import Kind
from parley.store.models import Fanout, Follow, Reminder

log = logging.getLogger(__name__)

# A fan-out's audiences: a person's followers (its actor's), a space's reminded people.
FOLLOWERS = "followers"
REMINDED = "reminded"
# The fan-out job's name (jobs/queue.py).
FANOUT_JOB = "notify.fanout"


async def start_fanout(
    unit: Change,
    *,
    kind: Kind,
    dedupe_key: str,
    text: str,
    link: str,
    actor_id: int | None,
    space_id: int | None,
    audience: list[str],
) -> None:
    """Tells many in the background: the fan-out is stored with the caller's change (so it
    happens if and only if the change commits) and its job starts after the commit."""
    fanout = Fanout(
        kind=kind.value,
        dedupe_key=dedupe_key,
        actor_id=actor_id,
        space_id=space_id,
        text=text,
        link=link,
        audience=audience,
        cursor=0,
        told=0,
        created_at=unit.now,
        claimed_until=None,
        done_at=None,
    )
    unit.session.add(fanout)
    await unit.session.flush()
    unit.enqueue(FANOUT_JOB, fanout_id=fanout.id)


def _next_audience(fanout: Fanout, after: int, limit: int) -> Any:
    """The next `limit` user ids of the fan-out's audience after `after`, in order, or None
    for no audience. Each part is cut to `limit` before the union: the union then sorts at
    most a few batches, not every follower left at every batch."""
    parts: list[Any] = []
    if FOLLOWERS in fanout.audience and fanout.actor_id is not None:
        parts.append(
            select(Follow.follower_id.label("user_id"))
            .where(Follow.followee_id == fanout.actor_id, Follow.follower_id > after)
            .order_by(Follow.follower_id)
            .limit(limit)
        )
    if REMINDED in fanout.audience and fanout.space_id is not None:
        parts.append(
            select(Reminder.user_id.label("user_id"))
            .where(Reminder.space_id == fanout.space_id, Reminder.user_id > after)
            .order_by(Reminder.user_id)
            .limit(limit)
        )
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    # Each part as a subquery: SQLite takes no ORDER BY/LIMIT inside a compound SELECT.
    audience = union(*(select(part.subquery().c.user_id) for part in parts)).subquery()
    return select(audience.c.user_id).order_by(audience.c.user_id).limit(limit)


async def run_fanout(services: Services, fanout_id: int) -> None:
    """The fan-out job: claims the fan-out, then tells its audience batch by batch, each batch
    with its cursor in one transaction. Another job (a retry, a sweep, another node) finds it
    claimed and leaves it; once the claim runs out (its runner died) the next takes it up."""
    settings = services.settings
    claim = timedelta(seconds=settings.fanout_claim_s)
    while True:
        async with change(services) as unit:
            claimed = await unit.session.scalar(
                update(Fanout)
                .where(
                    Fanout.id == fanout_id,
                    Fanout.done_at.is_(None),
                    or_(Fanout.claimed_until.is_(None), Fanout.claimed_until < unit.now),
                )
                .values(claimed_until=unit.now + claim)
                .returning(Fanout.id)
            )
            if claimed is None:
                return
        async with change(services) as unit:
            fanout = await unit.session.get(Fanout, fanout_id)
            if fanout is None or fanout.done_at is not None:
                return
            audience = _next_audience(fanout, fanout.cursor, settings.fanout_batch)
            user_ids: list[int] = []
            if audience is not None:
                user_ids = list((await unit.session.execute(audience)).scalars())
            recipients = await notify.recipients(unit.session, user_ids, fanout.actor_id)
            fanout.told += await notify.store(
                unit,
                recipients,
                kind=Kind(fanout.kind),
                dedupe_key=fanout.dedupe_key,
                text=fanout.text,
                link=fanout.link,
                actor_id=fanout.actor_id,
                space_id=fanout.space_id,
            )
            if len(user_ids) < settings.fanout_batch:
                fanout.done_at = unit.now
                fanout.claimed_until = None
                log.info("fanout(%s) done: %d told", fanout_id, fanout.told)
            else:
                fanout.cursor = user_ids[-1]
                # Released: the loop claims it again at once, unless a stop came between.
                fanout.claimed_until = None
            done = fanout.done_at is not None
        if done:
            return


async def sweep_fanouts(services: Services, *, only_node_starting: bool = False) -> int:
    """Every minute: fan-outs not done and not claimed (their job was lost with a node, or never
    enqueued) get a job again. How many.

    `only_node_starting`: the sweep of the only node (no Redis) as it starts, before its job
    workers do: nothing runs fan-outs yet, so every claim is void (a crash left it), and the
    fan-outs cut short go on at once rather than after the next minute and their claim."""
    now = services.clock()
    unfinished: ColumnElement[bool] = Fanout.done_at.is_(None)
    if not only_node_starting:
        unfinished = unfinished & (
            or_(Fanout.claimed_until.is_(None), Fanout.claimed_until < now)
            & (Fanout.created_at < now - timedelta(seconds=5))
        )
    if only_node_starting:
        async with change(services) as unit:
            await unit.session.execute(update(Fanout).where(unfinished).values(claimed_until=None))
    async with services.store.read() as session:
        stalled = list((await session.execute(select(Fanout.id).where(unfinished))).scalars())
    if services.jobs is not None:
        for fanout_id in stalled:
            await services.jobs.enqueue(FANOUT_JOB, fanout_id=fanout_id)
    return len(stalled)
