"""When the server ends a live space on its own (issue 12: a space nobody runs must not stay live,
mixed, encoded and recorded, for ever).

Two rules, the first that applies wins:
- the host's grace: the host has been away (no room socket, no media session) for `host_grace_s`,
  whoever else is there; a host who never came is away from the start;
- the idle end: nobody at all is connected (members' sockets and media sessions, visitors) and
  the host has been away for `idle_space_end_s`. The store keeps when the host left, not when the
  last listener did, so the host's absence is the idle clock; it matters when the host's grace is
  the longer of the two.
"""

from __future__ import annotations

import enum
from datetime import datetime

from parley.domain.space import host_grace_expired


class EndReason(enum.StrEnum):
    HOST_GONE = "host_gone"  # the host did not come (back) within the grace period
    IDLE = "idle"  # nobody was there for the idle time


def server_end_reason(
    *,
    host_absent_since: datetime | None,
    connected: int,
    now: datetime,
    host_grace_s: float,
    idle_end_s: float,
) -> EndReason | None:
    """Why the server ends this live space now, or None to keep it. `connected`: the members
    with a socket or media session open, plus the visitors; `idle_end_s` 0 turns the idle end
    off."""
    if host_grace_expired(host_absent_since, now, host_grace_s):
        return EndReason.HOST_GONE
    if idle_end_s > 0 and connected == 0 and host_grace_expired(host_absent_since, now, idle_end_s):
        return EndReason.IDLE
    return None
