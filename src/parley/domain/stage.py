"""The stage: roles, seats and who may do what to whom.

A `Seat` is one member's place in a space. Every stage operation is a pure function from seats
(and the counts it needs) to the target's new seat; it raises `Forbidden` when the actor's role
does not allow it (who), `InvalidState` when a seat is not in a state the operation applies to
(when), and `Conflict` when a capacity would be exceeded.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from parley.domain.errors import Conflict, Forbidden, InvalidState
from parley.domain.space import SpeakerPolicy

STAGE_MAX = 13  # host and co-hosts included
COHOSTS_MAX = 2


class Role(enum.StrEnum):
    HOST = "host"
    COHOST = "cohost"
    SPEAKER = "speaker"
    LISTENER = "listener"


class StageRequest(enum.StrEnum):
    """A listener's way towards the stage: asked to speak, or invited to."""

    NONE = "none"
    REQUESTED = "requested"
    INVITED = "invited"


class StageAction(enum.StrEnum):
    # on oneself
    REQUEST = "request"
    WITHDRAW = "withdraw"
    ACCEPT = "accept"
    DECLINE = "decline"
    LEAVE_STAGE = "leave-stage"
    MUTE_SELF = "mute-self"
    UNMUTE_SELF = "unmute-self"
    REACT = "react"
    # moderation without a target seat
    PIN = "pin"
    UNPIN = "unpin"
    START_SPACE = "start"
    END_SPACE = "end"
    CANCEL_SPACE = "cancel"
    # on another member
    APPROVE = "approve"
    DENY = "deny"
    INVITE = "invite"
    MOVE_DOWN = "move-down"
    MUTE_OTHER = "mute"
    UNMUTE_OTHER = "unmute"
    REMOVE_USER = "remove"
    MAKE_COHOST = "make-cohost"
    REMOVE_COHOST = "remove-cohost"


ON_STAGE = frozenset({Role.HOST, Role.COHOST, Role.SPEAKER})
MODERATORS = frozenset({Role.HOST, Role.COHOST})
_RANK = {Role.HOST: 3, Role.COHOST: 2, Role.SPEAKER: 1, Role.LISTENER: 0}

# Which roles may act on themselves.
_SELF_ACTIONS: dict[StageAction, frozenset[Role]] = {
    StageAction.REQUEST: frozenset({Role.LISTENER}),
    StageAction.WITHDRAW: frozenset({Role.LISTENER}),
    StageAction.ACCEPT: frozenset({Role.LISTENER}),
    StageAction.DECLINE: frozenset({Role.LISTENER}),
    # The host cannot step down from the stage; they end the space instead.
    StageAction.LEAVE_STAGE: frozenset({Role.COHOST, Role.SPEAKER}),
    StageAction.MUTE_SELF: ON_STAGE,
    StageAction.UNMUTE_SELF: ON_STAGE,
    StageAction.REACT: frozenset(Role),
}
# Which roles may act on the space as a whole.
_SPACE_ACTIONS: dict[StageAction, frozenset[Role]] = {
    StageAction.PIN: MODERATORS,
    StageAction.UNPIN: MODERATORS,
    StageAction.START_SPACE: frozenset({Role.HOST}),
    StageAction.END_SPACE: frozenset({Role.HOST}),
    StageAction.CANCEL_SPACE: frozenset({Role.HOST}),
}
# Moderation of listeners towards the stage: any moderator, any listener.
_INVITATION_ACTIONS = frozenset({StageAction.APPROVE, StageAction.DENY, StageAction.INVITE})
# Moderation that needs the actor to outrank the target (a co-host cannot act on the host or
# on another co-host).
_OUTRANK_ACTIONS = frozenset(
    {StageAction.MOVE_DOWN, StageAction.MUTE_OTHER, StageAction.REMOVE_USER}
)
_HOST_ONLY_ON_OTHERS = frozenset({StageAction.MAKE_COHOST, StageAction.REMOVE_COHOST})


def may(actor: Role, action: StageAction, target: Role | None = None) -> bool:
    """The role x action (x target role) permission matrix."""
    if action in _SELF_ACTIONS:
        return target is None and actor in _SELF_ACTIONS[action]
    if action in _SPACE_ACTIONS:
        return target is None and actor in _SPACE_ACTIONS[action]
    if target is None:
        return False
    if action is StageAction.UNMUTE_OTHER:
        return False  # only a speaker unmutes themselves
    if action in _INVITATION_ACTIONS:
        return actor in MODERATORS and target is Role.LISTENER
    if action in _OUTRANK_ACTIONS:
        return actor in MODERATORS and _RANK[actor] > _RANK[target]
    if action in _HOST_ONLY_ON_OTHERS:
        return actor is Role.HOST and target is not Role.HOST
    raise AssertionError(f"unclassified action {action}")  # pragma: no cover


def require(actor: Role, action: StageAction, target: Role | None = None) -> None:
    if not may(actor, action, target):
        on = f" a {target.value}" if target is not None else ""
        raise Forbidden(f"a {actor.value} may not {action.value}{on}")


@dataclass(frozen=True, slots=True)
class Seat:
    user_id: int
    role: Role = Role.LISTENER
    muted: bool = True
    stage_request: StageRequest = StageRequest.NONE
    removed: bool = False
    # Audio of this member reaches the server now (their publishing session delivers it).
    mic_live: bool = False

    @property
    def on_stage(self) -> bool:
        return self.role in ON_STAGE

    @property
    def notable(self) -> bool:
        """On stage or on the way there: the members a room snapshot lists one by one."""
        return self.on_stage or self.stage_request is not StageRequest.NONE


def _require_request(seat: Seat, expected: StageRequest, doing: str) -> None:
    if seat.stage_request is not expected:
        raise InvalidState(
            f"cannot {doing}: the stage request is {seat.stage_request.value}",
            state=seat.stage_request.value,
        )


def _require_room_on_stage(stage_count: int) -> None:
    if stage_count >= STAGE_MAX:
        raise Conflict(f"the stage is full ({STAGE_MAX} people)", rule="stage_full")


def _to_stage(seat: Seat) -> Seat:
    # Everyone joins the stage muted.
    return replace(seat, role=Role.SPEAKER, muted=True, stage_request=StageRequest.NONE)


def _to_audience(seat: Seat) -> Seat:
    return replace(seat, role=Role.LISTENER, muted=True, stage_request=StageRequest.NONE)


def request_to_speak(me: Seat, policy: SpeakerPolicy, *, host_follows_me: bool) -> Seat:
    require(me.role, StageAction.REQUEST)
    if policy is SpeakerPolicy.INVITED:
        raise Forbidden("only people the host invites can speak in this space")
    if policy is SpeakerPolicy.FOLLOWED and not host_follows_me:
        raise Forbidden("only people the host follows can ask to speak in this space")
    if me.stage_request is StageRequest.INVITED:
        raise InvalidState(
            "you are already invited to speak: accept the invitation", state="invited"
        )
    return replace(me, stage_request=StageRequest.REQUESTED)


def withdraw_request(me: Seat) -> Seat:
    require(me.role, StageAction.WITHDRAW)
    _require_request(me, StageRequest.REQUESTED, "withdraw")
    return replace(me, stage_request=StageRequest.NONE)


def approve_request(actor: Seat, target: Seat, *, stage_count: int) -> Seat:
    require(actor.role, StageAction.APPROVE, target.role)
    _require_request(target, StageRequest.REQUESTED, "approve")
    _require_room_on_stage(stage_count)
    return _to_stage(target)


def deny_request(actor: Seat, target: Seat) -> Seat:
    require(actor.role, StageAction.DENY, target.role)
    _require_request(target, StageRequest.REQUESTED, "deny")
    return replace(target, stage_request=StageRequest.NONE)


def invite_to_speak(actor: Seat, target: Seat, *, stage_count: int) -> Seat:
    require(actor.role, StageAction.INVITE, target.role)
    if target.stage_request is StageRequest.INVITED:
        raise InvalidState("that listener is already invited", state="invited")
    _require_room_on_stage(stage_count)
    return replace(target, stage_request=StageRequest.INVITED)


def accept_invitation(me: Seat, *, stage_count: int) -> Seat:
    require(me.role, StageAction.ACCEPT)
    _require_request(me, StageRequest.INVITED, "accept")
    _require_room_on_stage(stage_count)
    return _to_stage(me)


def decline_invitation(me: Seat) -> Seat:
    require(me.role, StageAction.DECLINE)
    _require_request(me, StageRequest.INVITED, "decline")
    return replace(me, stage_request=StageRequest.NONE)


def leave_stage(me: Seat) -> Seat:
    require(me.role, StageAction.LEAVE_STAGE)
    return _to_audience(me)


def move_down(actor: Seat, target: Seat) -> Seat:
    require(actor.role, StageAction.MOVE_DOWN, target.role)
    if not target.on_stage:
        raise InvalidState("that member is not on stage", state=target.role.value)
    return _to_audience(target)


def set_own_mute(me: Seat, *, muted: bool) -> Seat:
    require(me.role, StageAction.MUTE_SELF if muted else StageAction.UNMUTE_SELF)
    if not muted and not me.mic_live:
        # Nobody is shown unmuted while none of their audio reaches the server.
        raise InvalidState(
            "your microphone is not connected: turn it on, then unmute", state="mic_off"
        )
    return replace(me, muted=muted)


def set_mic_live(me: Seat, *, live: bool) -> Seat:
    """The server started or stopped receiving the member's audio. Losing it mutes them: the
    room never shows someone unmuted whom nobody can hear."""
    if live:
        return replace(me, mic_live=True)
    return replace(me, mic_live=False, muted=True)


def mute_other(actor: Seat, target: Seat) -> Seat:
    require(actor.role, StageAction.MUTE_OTHER, target.role)
    if not target.on_stage:
        raise InvalidState("that member is not on stage", state=target.role.value)
    return replace(target, muted=True)


def unmute_other(actor: Seat, target: Seat) -> Seat:
    require(actor.role, StageAction.UNMUTE_OTHER, target.role)  # always refuses
    raise AssertionError("unreachable")  # pragma: no cover


def make_cohost(actor: Seat, target: Seat, *, cohost_count: int, stage_count: int) -> Seat:
    """The host makes a member a co-host; a listener comes up to the stage with it."""
    require(actor.role, StageAction.MAKE_COHOST, target.role)
    if target.role is Role.COHOST:
        raise InvalidState("that member is already a co-host", state="cohost")
    if cohost_count >= COHOSTS_MAX:
        raise Conflict(f"a space has at most {COHOSTS_MAX} co-hosts", rule="cohosts_full")
    if not target.on_stage:
        _require_room_on_stage(stage_count)
        return replace(target, role=Role.COHOST, muted=True, stage_request=StageRequest.NONE)
    return replace(target, role=Role.COHOST)


def remove_cohost(actor: Seat, target: Seat) -> Seat:
    """The co-host stays on stage as a speaker."""
    require(actor.role, StageAction.REMOVE_COHOST, target.role)
    if target.role is not Role.COHOST:
        raise InvalidState("that member is not a co-host", state=target.role.value)
    return replace(target, role=Role.SPEAKER)


def remove_from_space(actor: Seat, target: Seat) -> Seat:
    require(actor.role, StageAction.REMOVE_USER, target.role)
    return replace(_to_audience(target), removed=True)


def require_can_publish(seat: Seat) -> None:
    """Only the stage publishes audio; what anyone else sends is never mixed."""
    if not seat.on_stage:
        raise Forbidden(f"a {seat.role.value} cannot publish audio: only the stage speaks")


def require_space_action(actor: Seat, action: StageAction) -> None:
    require(actor.role, action)
