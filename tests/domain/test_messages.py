"""Direct messages and invitations (issue 13): who may write to whom, what a message may say, who
may invite, and what accepting an invitation to speak does to the invitee's seat."""

from __future__ import annotations

import pytest

from parley.domain import messages as rules
from parley.domain.errors import Blocked, Forbidden, Invalid, InvalidState, Removed
from parley.domain.messages import DmPolicy, InviteRole, Refusal
from parley.domain.space import SpaceState
from parley.domain.stage import STAGE_MAX, Role, Seat, StageRequest

pytestmark = pytest.mark.unit

HOST = Seat(1, Role.HOST)
COHOST = Seat(2, Role.COHOST)
SPEAKER = Seat(3, Role.SPEAKER)
LISTENER = Seat(4)


@pytest.mark.parametrize(
    ("policy", "follows", "blocked", "wrote", "expected"),
    [
        (DmPolicy.EVERYONE, False, False, False, None),
        (DmPolicy.FOLLOWING, True, False, False, None),
        (DmPolicy.FOLLOWING, False, False, False, Refusal.NOT_FOLLOWED),
        (DmPolicy.NOBODY, True, False, False, Refusal.DM_CLOSED),
        (DmPolicy.EVERYONE, True, True, False, Refusal.BLOCKED),
        # Someone who wrote to you may be answered, whatever your policy; never through a block.
        (DmPolicy.NOBODY, False, False, True, None),
        (DmPolicy.FOLLOWING, False, False, True, None),
        (DmPolicy.EVERYONE, False, True, True, Refusal.BLOCKED),
    ],
)
def test_who_may_message_whom(
    policy: DmPolicy, follows: bool, blocked: bool, wrote: bool, expected: Refusal | None
) -> None:
    assert (
        rules.may_message(
            sender_id=1,
            recipient_id=2,
            dm_policy=policy,
            recipient_follows_sender=follows,
            blocked_either_way=blocked,
            recipient_wrote_to_sender=wrote,
        )
        is expected
    )


def test_nobody_messages_themselves() -> None:
    refusal = rules.may_message(
        sender_id=1,
        recipient_id=1,
        dm_policy=DmPolicy.EVERYONE,
        recipient_follows_sender=True,
        blocked_either_way=False,
    )
    assert refusal is Refusal.SELF
    with pytest.raises(Invalid) as error:
        rules.require_may_message(refusal)
    assert error.value.field == "handle"


def test_refusals_raise_what_the_api_answers() -> None:
    rules.require_may_message(None)
    with pytest.raises(Blocked):
        rules.require_may_message(Refusal.BLOCKED)
    with pytest.raises(Forbidden, match="only from people they follow"):
        rules.require_may_message(Refusal.NOT_FOLLOWED)
    assert all(rules.explain(refusal) for refusal in Refusal)


def test_message_text() -> None:
    assert rules.check_message_text("  hello\r\nthere  ", has_space=False) == "hello\nthere"
    assert rules.check_message_text("e\u0301", has_space=False) == "\u00e9"  # NFC
    assert rules.check_message_text("", has_space=True) == ""
    assert len(rules.check_message_text("x" * rules.TEXT_MAX, has_space=False)) == rules.TEXT_MAX
    for text, rule in [
        ("", "min_length"),
        ("   \n ", "min_length"),
        ("x" * (rules.TEXT_MAX + 1), "max_length"),
        ("bell\u0007", "control_character"),
        ("hidden\u200bword", "invisible_character"),
        ("\u202eevil", "invisible_character"),
    ]:
        with pytest.raises(Invalid) as error:
            rules.check_message_text(text, has_space=False)
        assert (error.value.field, error.value.rule) == ("text", rule)


def test_invitees_are_counted_and_named_once() -> None:
    assert rules.check_invitees(["ann", "@Bob", "ANN", "bob"]) == ["ann", "Bob"]
    with pytest.raises(Invalid) as error:
        rules.check_invitees([])
    assert error.value.rule == "min_items"
    with pytest.raises(Invalid) as error:
        rules.check_invitees([f"u{i}" for i in range(rules.INVITEES_MAX + 1)])
    assert (error.value.field, error.value.rule) == ("handles", "max_items")
    assert len(rules.check_invitees([f"u{i}" for i in range(rules.INVITEES_MAX)])) == 20


@pytest.mark.parametrize(
    ("inviter", "allowed"),
    [
        (Role.HOST, True),
        (Role.COHOST, True),
        (Role.SPEAKER, False),
        (Role.LISTENER, False),
        (None, False),
    ],
)
def test_only_host_and_cohosts_invite(inviter: Role | None, allowed: bool) -> None:
    for state in (SpaceState.SCHEDULED, SpaceState.LIVE):
        if allowed:
            rules.require_may_invite(inviter, state)
        else:
            with pytest.raises(Forbidden):
                rules.require_may_invite(inviter, state)


@pytest.mark.parametrize("state", [SpaceState.ENDED, SpaceState.CANCELED])
def test_no_invitation_to_a_finished_space(state: SpaceState) -> None:
    with pytest.raises(InvalidState) as error:
        rules.require_may_invite(Role.HOST, state)
    assert error.value.state == state.value


def test_who_cannot_be_invited() -> None:
    assert rules.invitee_refusal(None, InviteRole.SPEAK) is None
    assert rules.invitee_refusal(LISTENER, InviteRole.LISTEN) is None
    assert rules.invitee_refusal(SPEAKER, InviteRole.SPEAK) is Refusal.ALREADY_ON_STAGE
    assert rules.invitee_refusal(COHOST, InviteRole.LISTEN) is Refusal.ALREADY_ON_STAGE
    assert rules.invitee_refusal(Seat(9, removed=True), InviteRole.LISTEN) is Refusal.REMOVED


def test_accepting_is_the_recipients_once_while_scheduled_or_live() -> None:
    ok = {
        "user_id": 5,
        "recipient_id": 5,
        "invite_role": InviteRole.SPEAK,
        "accepted": False,
        "state": SpaceState.LIVE,
    }
    rules.require_may_accept(**ok)  # type: ignore[arg-type]
    rules.require_may_accept(**{**ok, "state": SpaceState.SCHEDULED})  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        rules.require_may_accept(**{**ok, "user_id": 6})  # type: ignore[arg-type]
    for change, state in [
        ({"accepted": True}, "accepted"),
        ({"invite_role": None, "state": None}, "message"),
        ({"state": SpaceState.ENDED}, "ended"),
        ({"state": SpaceState.CANCELED}, "canceled"),
    ]:
        with pytest.raises(InvalidState) as error:
            rules.require_may_accept(**{**ok, **change})  # type: ignore[arg-type]
        assert error.value.state == state


def test_accepting_to_speak_brings_a_listener_on_stage_muted() -> None:
    for me in (Seat(5), Seat(5, stage_request=StageRequest.REQUESTED)):
        for inviter in (HOST, COHOST):
            new = rules.seat_after_accepting_speak(me, inviter, stage_count=3, live=True)
            assert new is not None
            assert (new.role, new.muted, new.stage_request) == (
                Role.SPEAKER,
                True,
                StageRequest.NONE,
            )
    # Invited in the room already: the same invitation, accepted.
    invited = Seat(5, stage_request=StageRequest.INVITED)
    new = rules.seat_after_accepting_speak(invited, HOST, stage_count=3, live=True)
    assert new is not None and new.role is Role.SPEAKER


def test_a_full_stage_raises_the_hand_in_a_live_space_and_only_records_a_scheduled_one() -> None:
    new = rules.seat_after_accepting_speak(Seat(5), HOST, stage_count=STAGE_MAX, live=True)
    assert new == Seat(5, stage_request=StageRequest.REQUESTED)
    assert (
        rules.seat_after_accepting_speak(Seat(5), HOST, stage_count=STAGE_MAX, live=False) is None
    )
    held = rules.seat_after_accepting_speak(Seat(5), HOST, stage_count=1, live=False)
    assert held is not None and held.role is Role.SPEAKER


def test_an_invitation_to_speak_holds_while_its_sender_moderates() -> None:
    for inviter in (SPEAKER, LISTENER, Seat(1, Role.LISTENER)):
        with pytest.raises(Forbidden, match="no longer"):
            rules.seat_after_accepting_speak(Seat(5), inviter, stage_count=2, live=True)
    with pytest.raises(Removed):
        rules.seat_after_accepting_speak(Seat(5, removed=True), HOST, stage_count=2, live=True)
    # Already on stage: nothing changes.
    assert rules.seat_after_accepting_speak(SPEAKER, HOST, stage_count=2, live=True) is None


def test_a_report_of_a_message_names_only_the_message() -> None:
    from parley.domain.moderation import ReportKind, check_report_target

    check_report_target(
        ReportKind.MESSAGE, user_id=None, space_id=None, reporter_id=1, message_id=3
    )
    for kind, user_id, space_id, message_id, field in [
        (ReportKind.MESSAGE, None, None, None, "message_id"),
        (ReportKind.MESSAGE, 2, None, 3, "user_id"),
        (ReportKind.MESSAGE, None, 5, 3, "space_id"),
        (ReportKind.USER, 2, None, 3, "message_id"),
    ]:
        with pytest.raises(Invalid) as refused:
            check_report_target(
                kind, user_id=user_id, space_id=space_id, reporter_id=1, message_id=message_id
            )
        assert refused.value.field == field


def test_a_day_of_messages_is_capped() -> None:
    from datetime import UTC, datetime, timedelta

    from parley.domain.errors import RateLimited

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    rules.check_daily_messages(None, now)  # fewer than the cap sent, ever
    rules.check_daily_messages(now - rules.MESSAGES_DAY, now)  # the oldest is a day old
    with pytest.raises(RateLimited) as limited:
        rules.check_daily_messages(now - timedelta(hours=23), now)
    assert limited.value.retry_after_s == pytest.approx(3600)
