"""Visitors: people without an account who open a space's link. Pure rules: who may listen
without an account, what of a room a visitor's socket carries, and how many visitor sockets a
node takes.

A visitor sees the public room: the space, who is on stage (names, roles, muted), the pins, the
listener count, reactions and speaking levels. Never the listeners, their requests or
invitations, nor anything about themselves (`me` is null).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

from parley.domain.errors import AtCapacity, NotAuthenticated, RateLimited
from parley.domain.events import (
    Hidden,
    MemberRemoved,
    MemberUpdated,
    Reactions,
    ServerMessage,
    Snapshot,
    SpaceUpdated,
)
from parley.domain.space import SpaceState
from parley.domain.stage import ON_STAGE, StageRequest
from parley.domain.views import MemberView, SpaceView

K = TypeVar("K")

NEEDS_ACCOUNT = "this space needs an account: sign in to listen"
FULL = "this space is full for visitors: sign in to listen"
_OVER = (SpaceState.ENDED, SpaceState.CANCELED)


def open_to_visitors(*, instance_allows: bool, accounts_required: bool) -> bool:
    """Whether people without an account may listen: the instance lets them
    (PARLEY_VISITORS_CAN_LISTEN) and the host did not ask for accounts."""
    return instance_allows and not accounts_required


def require_open_to_visitors(*, instance_allows: bool, accounts_required: bool) -> None:
    if not open_to_visitors(instance_allows=instance_allows, accounts_required=accounts_required):
        raise NotAuthenticated(NEEDS_ACCOUNT)


def public_member(member: MemberView) -> MemberView:
    """A stage member as a visitor sees them: a pending request or invitation is not shown."""
    if member.stage_request is StageRequest.NONE:
        return member
    return member.model_copy(update={"stage_request": StageRequest.NONE})


def public_stage(members: Iterable[MemberView]) -> list[MemberView]:
    """Who is on stage, as anyone may see it."""
    return [public_member(member) for member in members if member.role in ON_STAGE]


class VisitorClose(enum.Enum):
    """Why a visitor's socket closes after a message."""

    ENDED = "ended"  # the space ended or was canceled
    NEEDS_ACCOUNT = "needs_account"  # the host now asks for accounts
    NOT_LIVE = "not_live"  # the space has not started: its room opens to visitors once live


def room_refusal(state: SpaceState) -> VisitorClose | None:
    """Why a visitor's socket may not open in a space in this state, if it may not: only a live
    space's room takes visitors. A scheduled one's would count them in its `listener_count`
    (shown on cards, in the feed and in link previews) before anyone can listen; a page learns
    that it went live from the public feed."""
    if state in _OVER:
        return VisitorClose.ENDED
    if state is not SpaceState.LIVE:
        return VisitorClose.NOT_LIVE
    return None


class PublicRoom:
    """What one visitor's socket carries, message by message, in `seq` order.

    It remembers who is on stage as this socket last showed it, since a listener's change means
    something to a visitor only when that listener has just left the stage; every other change
    about listeners becomes `hidden` (its seq only).
    """

    def __init__(self, on_stage: Iterable[int] = ()) -> None:
        self.on_stage: set[int] = set(on_stage)

    def start(self, snapshot: Snapshot) -> Snapshot:
        """The visitor's snapshot: the stage only, and no `me`."""
        members = public_stage(snapshot.members)
        self.on_stage = {member.user.id for member in members}
        return snapshot.model_copy(update={"members": members, "me": None})

    def see(self, message: ServerMessage) -> ServerMessage:
        """The message as this visitor receives it: the same object when it is public as it is
        (the caller then sends the published text unchanged)."""
        if isinstance(message, Snapshot):
            return self.start(message)
        if isinstance(message, MemberUpdated):
            return self._member_updated(message)
        if isinstance(message, MemberRemoved):
            if message.user_id in self.on_stage:
                self.on_stage.discard(message.user_id)
                return message
            return Hidden(seq=message.seq)
        if isinstance(message, Reactions):
            by = [entry for entry in message.by if entry.user_id in self.on_stage]
            if len(by) == len(message.by):
                return message
            return message.model_copy(update={"by": by})
        return message

    def _member_updated(self, message: MemberUpdated) -> ServerMessage:
        member = message.member
        user_id = member.user.id
        if member.role in ON_STAGE:
            self.on_stage.add(user_id)
            shown = public_member(member)
            return message if shown is member else message.model_copy(update={"member": shown})
        if user_id in self.on_stage:
            # Off the stage: a visitor learns that much, and nothing of what they do next.
            self.on_stage.discard(user_id)
            shown = public_member(member)
            return message if shown is member else message.model_copy(update={"member": shown})
        return Hidden(seq=message.seq)

    @staticmethod
    def closing(message: ServerMessage) -> VisitorClose | None:
        """Whether the socket closes once this (already shown) message is sent."""
        space: SpaceView | None = None
        if isinstance(message, Snapshot | SpaceUpdated):
            space = message.space
        if space is None:
            return None
        if space.state in _OVER:
            return VisitorClose.ENDED
        if space.accounts_required:
            return VisitorClose.NEEDS_ACCOUNT
        return None


class VisitorTally:
    """This node's open visitor sockets, by space and by client address, with their caps: at
    most `per_address` sockets from one address on this node, and `per_space` visitors in one
    space over every node (`elsewhere`: those the other nodes count)."""

    def __init__(self, *, per_address: int, per_space: int) -> None:
        self.per_address = per_address
        self.per_space = per_space
        self.by_space: Counter[int] = Counter()
        self.by_address: Counter[str] = Counter()
        self.by_space_and_address: Counter[tuple[int, str]] = Counter()

    def admit(self, space_id: int, address: str, *, elsewhere: int) -> None:
        if self.by_address[address] >= self.per_address:
            raise RateLimited(
                f"at most {self.per_address} visitor sockets from one address", retry_after_s=60
            )
        if self.full(space_id, elsewhere=elsewhere):
            raise AtCapacity(FULL)
        self.by_space[space_id] += 1
        self.by_address[address] += 1
        self.by_space_and_address[space_id, address] += 1

    def check_listen(self, space_id: int, address: str, *, elsewhere: int) -> None:
        """A visitor may have the space's listen answer (its HLS link): AtCapacity once the space
        has `per_space` visitors, as for a socket, so the link is not a way around the cap.
        Unless this address has a visitor socket open in the space on this node: that visitor
        is one of those counted (the web client opens its socket before it asks to listen), and
        the last one let in must be able to listen too."""
        if (space_id, address) in self.by_space_and_address:
            return
        if self.full(space_id, elsewhere=elsewhere):
            raise AtCapacity(FULL)

    def full(self, space_id: int, *, elsewhere: int) -> bool:
        return self.by_space[space_id] + elsewhere >= self.per_space

    def leave(self, space_id: int, address: str) -> None:
        _decrement(self.by_space, space_id)
        _decrement(self.by_address, address)
        _decrement(self.by_space_and_address, (space_id, address))

    def count(self, space_id: int) -> int:
        return self.by_space.get(space_id, 0)


def _decrement(counter: Counter[K], key: K) -> None:
    if counter[key] <= 1:
        counter.pop(key, None)
    else:
        counter[key] -= 1
