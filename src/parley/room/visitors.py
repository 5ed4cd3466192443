"""This node's visitors (people without an account with the room's socket open): the caps on
their sockets, and their count, which reaches the listener count everyone sees through one row
per space and node in the store (actions/visitors.py).

The count is written when it changed, at most once per `presence_interval_s` per space however
many visitors come and go (a burst of visitors costs one write, not one per socket, and never
takes the space's row lock), and the rows are renewed as a lease: every node drops the rows a
crashed node stopped renewing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from parley.actions import visitors
from parley.actions.base import Services
from parley.domain.visitors import VisitorTally

log = logging.getLogger(__name__)


class VisitorPresence:
    def __init__(self, services: Services, presence_changed: Callable[[int], None]) -> None:
        self.services = services
        self.node = services.settings.resolved_node_name
        self.tally = VisitorTally(
            per_address=services.settings.visitor_sockets_per_address,
            per_space=services.settings.visitors_per_space,
        )
        self._presence_changed = presence_changed
        self._dirty: set[int] = set()

    # --- the sockets -------------------------------------------------------------------------
    def admit(self, space_id: int, address: str, *, elsewhere: int) -> None:
        """A visitor socket opens (RateLimited past the address's cap, AtCapacity past the
        space's)."""
        self.tally.admit(space_id, address, elsewhere=elsewhere)
        self._dirty.add(space_id)

    def check_listen(self, space_id: int, address: str, *, elsewhere: int) -> None:
        """A visitor asks for the space's listen answer (AtCapacity when the space is full for
        visitors and this address holds none of its sockets here)."""
        self.tally.check_listen(space_id, address, elsewhere=elsewhere)

    def leave(self, space_id: int, address: str) -> None:
        self.tally.leave(space_id, address)
        self._dirty.add(space_id)

    # --- the loops (room/runtime.py runs them) -------------------------------------------------
    async def flush(self) -> None:
        """Writes the counts that changed, then lets the room's presence message tell them."""
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return
        counts = {space_id: self.tally.count(space_id) for space_id in dirty}
        try:
            await visitors.count(self.services, self.node, counts)
        except BaseException:
            self._dirty |= dirty  # written at the next flush
            raise
        for space_id in dirty:
            self._presence_changed(space_id)

    async def renew(self) -> None:
        """Renews this node's lease on its counts, and drops the counts whose lease ran out."""
        await visitors.renew(self.services, self.node)
        for space_id in await visitors.expire(self.services):
            log.info("space(%s) dropped the visitors of a node gone silent", space_id)
            self._presence_changed(space_id)

    async def forget(self) -> None:
        """At start: what a crash of this node left counted under its name is void."""
        for space_id in await visitors.forget(self.services, self.node):
            self._presence_changed(space_id)
