"""The facts of host analytics in the store (issue 14): listens and tallies. Inside a caller's
transaction; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.domain.analytics import Arrival, Listen, ListenPath, Tally, TallyKind, effective_end
from parley.store import repo
from parley.store.models import AnalyticsNode, ListenFact, SpaceTally

_LISTENS = cast(Table, ListenFact.__table__)
_TALLIES = cast(Table, SpaceTally.__table__)


@dataclass(frozen=True, slots=True)
class NewListen:
    space_id: int
    listener: str
    path: ListenPath
    arrival: Arrival | None
    started_at: datetime
    # Set when it ended before it was first written (a short visit).
    ended_at: datetime | None = None


async def insert_listens(
    session: AsyncSession, node: str, listens: Sequence[NewListen], now: datetime
) -> list[int]:
    """Writes the listens; their ids, in the order given."""
    if not listens:
        return []
    rows = [
        {
            "space_id": listen.space_id,
            "listener": listen.listener,
            "path": listen.path.value,
            "arrival": listen.arrival.value if listen.arrival else None,
            "node": node,
            "started_at": listen.started_at,
            "last_seen_at": listen.ended_at or now,
            "ended_at": listen.ended_at,
        }
        for listen in listens
    ]
    # executemany with RETURNING, the ids sorted as the rows (SQLAlchemy's insertmanyvalues).
    result = await session.execute(
        select(ListenFact.id).from_statement(
            _LISTENS.insert().returning(ListenFact.id, sort_by_parameter_order=True)
        ),
        rows,
    )
    return list(result.scalars().all())


async def end_listens(session: AsyncSession, ends: Sequence[tuple[int, datetime]]) -> None:
    if not ends:
        return
    await session.execute(
        update(_LISTENS)
        .where(_LISTENS.c.id == bindparam("listen_id"))
        .values(ended_at=bindparam("ended"), last_seen_at=bindparam("ended")),
        [{"listen_id": listen_id, "ended": ended} for listen_id, ended in ends],
    )


async def renew_listens(session: AsyncSession, node: str, now: datetime) -> None:
    """The node still holds its open listens: one row, however many they are."""
    statement = repo.upsert(session, AnalyticsNode).values(node=node, renewed_at=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["node"], set_={"renewed_at": statement.excluded.renewed_at}
        )
    )


async def end_node_listens(session: AsyncSession, node: str) -> None:
    """A node starting again under its name: the listens it left open ended when it was last
    heard of (its lease's last renewal, or the listen's own last write if later)."""
    renewed = await session.scalar(
        select(AnalyticsNode.renewed_at).where(AnalyticsNode.node == node)
    )
    open_listens = (ListenFact.node == node) & ListenFact.ended_at.is_(None)
    if renewed is not None:
        await session.execute(
            update(ListenFact)
            .where(open_listens, ListenFact.last_seen_at <= renewed)
            .values(ended_at=renewed)
        )
    await session.execute(
        update(ListenFact).where(open_listens).values(ended_at=ListenFact.last_seen_at)
    )


async def add_tallies(session: AsyncSession, tallies: Sequence[tuple[int, Tally]]) -> None:
    """Adds to the counts (creating those not there yet)."""
    if not tallies:
        return
    statement = repo.upsert(session, SpaceTally)
    statement = statement.on_conflict_do_update(
        index_elements=["space_id", "kind", "key"],
        set_={"amount": _TALLIES.c.amount + statement.excluded.amount},
    )
    await session.execute(
        statement,
        [
            {
                "space_id": space_id,
                "kind": tally.kind.value,
                "key": tally.key,
                "amount": tally.amount,
            }
            # One order on every node: two nodes' upserts never lock rows crosswise.
            for space_id, tally in sorted(
                tallies, key=lambda item: (item[0], item[1].kind.value, item[1].key)
            )
        ],
    )


async def listens_of(
    session: AsyncSession, space_ids: Sequence[int], now: datetime, lease_s: float
) -> dict[int, list[Listen]]:
    found: dict[int, list[Listen]] = {space_id: [] for space_id in space_ids}
    if not space_ids:
        return found
    rows = await session.execute(
        select(
            ListenFact.space_id,
            ListenFact.listener,
            ListenFact.path,
            ListenFact.arrival,
            ListenFact.started_at,
            ListenFact.last_seen_at,
            ListenFact.ended_at,
            AnalyticsNode.renewed_at,
        )
        .outerjoin(AnalyticsNode, AnalyticsNode.node == ListenFact.node)
        .where(ListenFact.space_id.in_(space_ids))
    )
    for space_id, listener, path, arrival, started, written, ended, renewed in rows.all():
        # An open listen lives on its node's lease.
        last_seen = max(written, renewed) if renewed is not None else written
        found[space_id].append(
            Listen(
                listener=listener,
                path=ListenPath(path),
                arrival=Arrival(arrival) if arrival else None,
                start=started,
                end=effective_end(ended, last_seen, now, lease_s),
            )
        )
    return found


async def tallies_of(session: AsyncSession, space_ids: Sequence[int]) -> dict[int, list[Tally]]:
    found: dict[int, list[Tally]] = {space_id: [] for space_id in space_ids}
    if not space_ids:
        return found
    rows = await session.execute(
        select(SpaceTally.space_id, SpaceTally.kind, SpaceTally.key, SpaceTally.amount).where(
            SpaceTally.space_id.in_(space_ids)
        )
    )
    for space_id, kind, key, amount in rows.all():
        found[space_id].append(Tally(TallyKind(kind), key, amount))
    return found
