"""Direct messages and invitations by message (issue 13): who may write to whom, what a message
may say, who may invite to a space and what accepting an invitation does to the invitee's seat.
No I/O.

An invitation is a message that carries a space and the role offered (`listen` or `speak`). It
obeys the recipient's `dm_policy` like any message: a host cannot reach through "nobody" by
inviting (otherwise an invitation would be the way to spam people who closed their inbox).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import Field

from parley.domain import stage
from parley.domain.errors import (
    Blocked,
    Conflict,
    Forbidden,
    Invalid,
    InvalidState,
    RateLimited,
    Removed,
)
from parley.domain.space import SpaceState
from parley.domain.text import check_text
from parley.domain.views import SpaceView, UserBrief, View

TEXT_MAX = 1000
# Handles one invitation call names at most.
INVITEES_MAX = 20
# Messages of a conversation per page; conversations the inbox lists.
PAGE_SIZE = 50
CONVERSATIONS_SHOWN = 50
# Messages (invitations included) one person sends in a day, over every node: the per-node
# token buckets alone let a sender store messages without end, as many times over as there are
# nodes.
MESSAGES_PER_DAY_MAX = 1000
MESSAGES_DAY = timedelta(days=1)
# The spaces one may invite to (and accept an invitation to).
INVITABLE = frozenset({SpaceState.SCHEDULED, SpaceState.LIVE})


class DmPolicy(enum.StrEnum):
    """Who may message a user (their choice, PATCH /api/notifications/settings)."""

    EVERYONE = "everyone"
    # Only the people they follow.
    FOLLOWING = "following"
    NOBODY = "nobody"


class InviteRole(enum.StrEnum):
    LISTEN = "listen"
    SPEAK = "speak"


class Refusal(enum.StrEnum):
    """Why a message cannot go to someone: stable codes (the thread's `cannot_send_reason`, an
    invitation's `refused[].reason`)."""

    SELF = "self"
    BLOCKED = "blocked"
    # The recipient takes messages from nobody.
    DM_CLOSED = "dm_closed"
    # The recipient takes messages only from people they follow.
    NOT_FOLLOWED = "not_followed"
    UNKNOWN_USER = "unknown_user"
    # Invitations only.
    ALREADY_ON_STAGE = "already_on_stage"
    REMOVED = "removed_from_space"
    HOST_BLOCKED = "blocked_by_host"
    # An invitation to this space and role waits for their answer already.
    ALREADY_INVITED = "already_invited"
    # The inviter sent too many invitations: the rest wait (429 when none could go).
    RATE_LIMITED = "rate_limited"


_EXPLAINED = {
    Refusal.SELF: "you cannot message yourself",
    Refusal.BLOCKED: "messages cannot pass between you: one of you blocked the other",
    Refusal.DM_CLOSED: "this person does not take direct messages",
    Refusal.NOT_FOLLOWED: "this person takes direct messages only from people they follow",
    Refusal.UNKNOWN_USER: "there is no such user",
    Refusal.ALREADY_ON_STAGE: "this person is already on the stage of this space",
    Refusal.REMOVED: "this person was removed from this space",
    Refusal.HOST_BLOCKED: "the host of this space has blocked this person",
    Refusal.ALREADY_INVITED: "this person has an invitation to this space waiting already",
    Refusal.RATE_LIMITED: "too many invitations: try again in a moment",
}


def explain(refusal: Refusal) -> str:
    return _EXPLAINED[refusal]


def may_message(
    *,
    sender_id: int,
    recipient_id: int,
    dm_policy: DmPolicy,
    recipient_follows_sender: bool,
    blocked_either_way: bool,
    recipient_wrote_to_sender: bool = False,
) -> Refusal | None:
    """None when `sender_id` may message `recipient_id`, else why not. A block either way
    refuses everything. Someone who wrote to you may always be answered (as on the big
    platforms): the policy keeps strangers out, not the people one started talking to."""
    if sender_id == recipient_id:
        return Refusal.SELF
    if blocked_either_way:
        return Refusal.BLOCKED
    if recipient_wrote_to_sender:
        return None
    if dm_policy is DmPolicy.NOBODY:
        return Refusal.DM_CLOSED
    if dm_policy is DmPolicy.FOLLOWING and not recipient_follows_sender:
        return Refusal.NOT_FOLLOWED
    return None


def require_may_message(refusal: Refusal | None) -> None:
    """The refusal as the error a single send raises (403)."""
    if refusal is Refusal.SELF:
        raise Invalid("handle", "self", explain(refusal))
    if refusal is Refusal.BLOCKED:
        raise Blocked(explain(refusal))
    if refusal is not None:
        raise Forbidden(explain(refusal))


def check_message_text(text: str, *, has_space: bool) -> str:
    """The text as stored: 1 to TEXT_MAX characters once checked and trimmed; a message that
    carries a space card (an invitation, a shared space) may have none."""
    text = check_text("text", text, multiline=True)
    if not text and not has_space:
        raise Invalid("text", "min_length", "must not be empty")
    if len(text) > TEXT_MAX:
        raise Invalid("text", "max_length", f"must be at most {TEXT_MAX} characters")
    return text


def check_daily_messages(oldest_of_last_max: datetime | None, now: datetime) -> None:
    """RateLimited when the sender's last MESSAGES_PER_DAY_MAX messages were all sent within
    the day (`oldest_of_last_max`: the oldest of them, None when they sent fewer)."""
    if oldest_of_last_max is None or oldest_of_last_max <= now - MESSAGES_DAY:
        return
    wait_s = (oldest_of_last_max + MESSAGES_DAY - now).total_seconds()
    raise RateLimited(
        f"at most {MESSAGES_PER_DAY_MAX} messages a day: try again later",
        retry_after_s=max(1.0, wait_s),
    )


def check_invitees(handles: Sequence[str]) -> list[str]:
    """The handles to invite: 1 to INVITEES_MAX, each once (handles are case-insensitive), in
    the order sent."""
    if not handles:
        raise Invalid("handles", "min_items", "name at least one person to invite")
    if len(handles) > INVITEES_MAX:
        raise Invalid("handles", "max_items", f"at most {INVITEES_MAX} people per invitation")
    seen: set[str] = set()
    unique: list[str] = []
    for handle in handles:
        handle = handle.strip().removeprefix("@")
        if handle.lower() not in seen:
            seen.add(handle.lower())
            unique.append(handle)
    return unique


def require_may_invite(inviter: stage.Role | None, state: SpaceState) -> None:
    """Only the host or a co-host invites (the stage's own invite rule, domain/stage.py), and
    only to a space that is scheduled or live."""
    if inviter is None or not stage.may(inviter, stage.StageAction.INVITE, stage.Role.LISTENER):
        role = inviter.value if inviter is not None else "non-member"
        raise Forbidden(f"a {role} may not invite people to this space: only its host and co-hosts")
    if state not in INVITABLE:
        raise InvalidState(f"cannot invite to a space that is {state.value}", state=state.value)


def invitee_refusal(seat: stage.Seat | None, role: InviteRole) -> Refusal | None:
    """Why `seat`'s holder cannot be invited (None: they can). Nobody is invited to a stage they
    are on, or to listen where they already speak."""
    if seat is None:
        return None
    if seat.removed:
        return Refusal.REMOVED
    if seat.on_stage:
        return Refusal.ALREADY_ON_STAGE
    return None


def require_may_accept(
    *,
    user_id: int,
    recipient_id: int,
    invite_role: InviteRole | None,
    accepted: bool,
    state: SpaceState | None,
) -> None:
    """Only the recipient accepts an invitation, once, while its space is scheduled or live."""
    if user_id != recipient_id:
        raise Forbidden("only the person invited may accept an invitation")
    if invite_role is None or state is None:
        raise InvalidState("this message is not an invitation", state="message")
    if accepted:
        raise InvalidState("this invitation was already accepted", state="accepted")
    if state not in INVITABLE:
        raise InvalidState(f"cannot accept: the space is {state.value}", state=state.value)


def seat_after_accepting_speak(
    me: stage.Seat, inviter: stage.Seat, *, stage_count: int, live: bool
) -> stage.Seat | None:
    """The invitee's seat once they accept an invitation to speak; None: their seat does not
    change (the acceptance is only recorded).

    It is the stage's own invitation, made and accepted at once (domain/stage.py
    `invite_to_speak`, `accept_invitation`): the invitation holds only while its sender is still
    a host or co-host, and the stage limit holds. A full stage in a live space leaves them a
    listener with their hand raised, for a host to bring up when there is room; in a scheduled
    space (where nobody asks yet) it only records the acceptance.
    """
    if me.removed:
        raise Removed("you were removed from this space")
    if not stage.may(inviter.role, stage.StageAction.INVITE, stage.Role.LISTENER):
        raise Forbidden(
            "this invitation no longer holds: its sender is no longer a host or co-host here"
        )
    if me.on_stage:
        return None
    try:
        invited = me
        if me.stage_request is not stage.StageRequest.INVITED:
            invited = stage.invite_to_speak(inviter, me, stage_count=stage_count)
        return stage.accept_invitation(invited, stage_count=stage_count)
    except Conflict as full:
        if full.rule != "stage_full":
            raise
        if not live:
            return None
        return replace(me, stage_request=stage.StageRequest.REQUESTED)


# --- what clients see ---------------------------------------------------------------------------
class InvitationView(View):
    role: InviteRole
    accepted: bool


class MessageView(View):
    """One message, as a conversation lists it and both sides' sockets get it (`message`)."""

    id: int
    sender: UserBrief
    recipient: UserBrief
    text: str
    created_at: datetime
    # The recipient has read it (opened the conversation).
    read: bool
    # A space card: a shared space, or the space of an invitation.
    space: SpaceView | None
    invitation: InvitationView | None


class ConversationView(View):
    with_: UserBrief = Field(serialization_alias="with")
    last: MessageView
    # Messages from them the viewer has not read.
    unread: int


class ThreadView(View):
    with_: UserBrief = Field(serialization_alias="with")
    # Oldest first; the page before the oldest: `before_id` = its id.
    messages: list[MessageView]
    can_send: bool
    # Why not (a Refusal code), when `can_send` is false.
    cannot_send_reason: Refusal | None
