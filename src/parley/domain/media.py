"""Rules of WebRTC sessions (WHIP to publish, WHEP to listen) per user. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from parley.domain.errors import RateLimited

SessionKind = Literal["whip", "whep"]
_KIND_NAMES: dict[SessionKind, str] = {"whep": "listening", "whip": "publishing"}


class TooManySessions(RateLimited):
    """The user holds as many WebRTC sessions as they may: one ends (its DELETE, or a connection
    that never came up expires) before another opens."""

    code = "too_many_sessions"


@dataclass(frozen=True)
class SessionCaps:
    # Sessions of one kind of one user in one space: one, and one more during a reconnect.
    per_user_space: int
    # All sessions of one user on the node.
    per_user: int


def check_session_caps(
    kind: SessionKind,
    space_id: int,
    user_id: int,
    held: Iterable[tuple[SessionKind, int, int]],
    caps: SessionCaps,
    *,
    retry_after_s: float,
) -> None:
    """Refuses one more session of `user_id` when `held` (kind, space, user of each session open
    or being opened) already holds their share. `retry_after_s`: when an unconnected one will
    have expired."""
    mine = [(k, s) for k, s, u in held if u == user_id]
    in_space = sum(1 for k, s in mine if k == kind and s == space_id)
    if in_space >= caps.per_user_space:
        raise TooManySessions(
            f"you already have {in_space} {_KIND_NAMES[kind]} sessions in this space (at most "
            f"{caps.per_user_space}, rule per_user_space): end one with DELETE on its URL",
            retry_after_s=retry_after_s,
        )
    if len(mine) >= caps.per_user:
        raise TooManySessions(
            f"you already have {len(mine)} audio sessions on this server (at most "
            f"{caps.per_user}, rule per_user): end one with DELETE on its URL",
            retry_after_s=retry_after_s,
        )
