"""Moving people on and off the stage, muting, co-hosts and removal."""

from __future__ import annotations

import enum

from parley.actions import analytics, audit
from parley.actions.base import Services, change, locked_space
from parley.actions.spaces import present_member
from parley.domain import stage as rules
from parley.domain.analytics import TallyKind
from parley.domain.errors import NotFound
from parley.domain.events import MemberRemoved, MemberUpdated
from parley.domain.space import SpaceState, SpeakerPolicy, require_live
from parley.domain.views import MemberView
from parley.store import repo, views


class SelfVerb(enum.StrEnum):
    REQUEST = "request"
    WITHDRAW = "withdraw"
    ACCEPT = "accept"
    DECLINE = "decline"
    LEAVE_STAGE = "leave-stage"
    MUTE = "mute"
    UNMUTE = "unmute"


class MemberVerb(enum.StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    INVITE = "invite"
    MOVE_DOWN = "move-down"
    MUTE = "mute"
    UNMUTE = "unmute"
    REMOVE = "remove"
    MAKE_COHOST = "make-cohost"
    REMOVE_COHOST = "remove-cohost"


# What a host or co-host does to someone else that the space's moderation log keeps.
MODERATION_VERBS = frozenset(
    {
        MemberVerb.MOVE_DOWN,
        MemberVerb.MUTE,
        MemberVerb.REMOVE,
        MemberVerb.MAKE_COHOST,
        MemberVerb.REMOVE_COHOST,
    }
)


async def act_on_self(
    services: Services, space_id: int, user_id: int, verb: SelfVerb
) -> MemberView:
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await present_member(unit.session, space_id, user_id)
        require_live(SpaceState(space.state), verb.value)
        me = repo.seat_of(row)
        match verb:
            case SelfVerb.REQUEST:
                new = rules.request_to_speak(
                    me,
                    SpeakerPolicy(space.speaker_policy),
                    host_follows_me=await repo.follows(unit.session, space.host_id, user_id),
                )
            case SelfVerb.WITHDRAW:
                new = rules.withdraw_request(me)
            case SelfVerb.ACCEPT:
                stage_count = await repo.stage_count(unit.session, space_id)
                new = rules.accept_invitation(me, stage_count=stage_count)
            case SelfVerb.DECLINE:
                new = rules.decline_invitation(me)
            case SelfVerb.LEAVE_STAGE:
                new = rules.leave_stage(me)
            case SelfVerb.MUTE | SelfVerb.UNMUTE:
                new = rules.set_own_mute(me, muted=verb is SelfVerb.MUTE)
        view_before = await views.member_view(unit.session, row)
        if new == me:
            return view_before  # nothing changed: no event
        repo.apply_seat(row, new)
        view = await views.member_view(unit.session, row)
        await unit.record(space, MemberUpdated(member=view))
        if new.on_stage != me.on_stage:
            unit.listeners_changed(space_id)
        if verb is SelfVerb.REQUEST:
            await analytics.tally(unit, space_id, TallyKind.REQUEST)
        return view


async def act_on_member(
    services: Services, space_id: int, actor_id: int, target_id: int, verb: MemberVerb
) -> MemberView:
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        actor_row = await present_member(unit.session, space_id, actor_id)
        target_row = await repo.member(unit.session, space_id, target_id)
        if target_row is None or target_row.removed:
            raise NotFound(f"user {target_id} is not in this space")
        require_live(SpaceState(space.state), verb.value)
        actor, target = repo.seat_of(actor_row), repo.seat_of(target_row)
        match verb:
            case MemberVerb.APPROVE:
                stage_count = await repo.stage_count(unit.session, space_id)
                new = rules.approve_request(actor, target, stage_count=stage_count)
            case MemberVerb.DENY:
                new = rules.deny_request(actor, target)
            case MemberVerb.INVITE:
                stage_count = await repo.stage_count(unit.session, space_id)
                new = rules.invite_to_speak(actor, target, stage_count=stage_count)
            case MemberVerb.MOVE_DOWN:
                new = rules.move_down(actor, target)
            case MemberVerb.MUTE:
                new = rules.mute_other(actor, target)
            case MemberVerb.UNMUTE:
                new = rules.unmute_other(actor, target)
            case MemberVerb.REMOVE:
                new = rules.remove_from_space(actor, target)
            case MemberVerb.MAKE_COHOST:
                new = rules.make_cohost(
                    actor,
                    target,
                    cohost_count=await repo.cohost_count(unit.session, space_id),
                    stage_count=await repo.stage_count(unit.session, space_id),
                )
            case MemberVerb.REMOVE_COHOST:
                new = rules.remove_cohost(actor, target)
        if new == target:
            return await views.member_view(unit.session, target_row)
        repo.apply_seat(target_row, new)
        if verb in MODERATION_VERBS:
            await audit.write_by_id(
                unit,
                actor_id=actor_id,
                actor_role=actor_row.role,
                action=verb.value.replace("-", "_"),
                target_id=target_id,
                space_id=space_id,
            )
        view = await views.member_view(unit.session, target_row)
        if new.removed:
            await unit.record(space, MemberRemoved(user_id=target_id, reason="removed"))
        else:
            await unit.record(space, MemberUpdated(member=view))
        if new.on_stage != target.on_stage or new.removed:
            unit.listeners_changed(space_id)
        return view


async def set_mic_live(
    services: Services, space_id: int, user_id: int, *, live: bool, unmute: bool = False
) -> MemberView | None:
    """The server started (`live`) or stopped receiving the member's audio. Losing it mutes them.
    `unmute` (a broadcasting tool's `?unmute=true`) unmutes them once their audio arrives, as
    their own unmute would; its refusal is raised. None: the member or the space is gone, so
    there is nothing to show (a session outliving its space ends with it)."""
    async with change(services) as unit:
        space = await repo.space(unit.session, space_id, lock=True)
        row = await repo.member(unit.session, space_id, user_id)
        if space is None or row is None or row.removed:
            return None
        if SpaceState(space.state) is not SpaceState.LIVE:
            return None
        me = repo.seat_of(row)
        new = rules.set_mic_live(me, live=live)
        if live and unmute:
            new = rules.set_own_mute(new, muted=False)
        if new == me:
            return None
        repo.apply_seat(row, new)
        view = await views.member_view(unit.session, row)
        await unit.record(space, MemberUpdated(member=view))
        return view
