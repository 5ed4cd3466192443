"""Stage operations: seats move as Spaces users expect, and illegal moves say why."""

from __future__ import annotations

import pytest

from parley.domain import stage
from parley.domain.errors import Conflict, Forbidden, InvalidState
from parley.domain.space import SpeakerPolicy
from parley.domain.stage import Role, Seat, StageRequest

pytestmark = pytest.mark.unit

HOST = Seat(1, Role.HOST, muted=False)
COHOST = Seat(2, Role.COHOST, muted=False)
SPEAKER = Seat(3, Role.SPEAKER, muted=False)
LISTENER = Seat(4)
REQUESTER = Seat(5, stage_request=StageRequest.REQUESTED)
INVITEE = Seat(6, stage_request=StageRequest.INVITED)


def test_everyone_joins_muted() -> None:
    assert Seat(9).muted
    approved = stage.approve_request(HOST, REQUESTER, stage_count=1)
    assert approved.role is Role.SPEAKER and approved.muted
    assert approved.stage_request is StageRequest.NONE


@pytest.mark.parametrize(
    ("policy", "host_follows", "allowed"),
    [
        (SpeakerPolicy.EVERYONE, False, True),
        (SpeakerPolicy.FOLLOWED, True, True),
        (SpeakerPolicy.FOLLOWED, False, False),
        (SpeakerPolicy.INVITED, True, False),
    ],
)
def test_who_may_speak_is_enforced_on_requests(
    policy: SpeakerPolicy, host_follows: bool, allowed: bool
) -> None:
    if allowed:
        assert stage.request_to_speak(LISTENER, policy, host_follows_me=host_follows) == Seat(
            4, stage_request=StageRequest.REQUESTED
        )
    else:
        with pytest.raises(Forbidden):
            stage.request_to_speak(LISTENER, policy, host_follows_me=host_follows)


def test_request_withdraw_and_deny() -> None:
    requested = stage.request_to_speak(LISTENER, SpeakerPolicy.EVERYONE, host_follows_me=False)
    assert stage.withdraw_request(requested).stage_request is StageRequest.NONE
    assert stage.deny_request(COHOST, requested).stage_request is StageRequest.NONE
    with pytest.raises(InvalidState) as error:
        stage.withdraw_request(LISTENER)
    assert error.value.state == "none"
    with pytest.raises(InvalidState):
        stage.approve_request(HOST, LISTENER, stage_count=1)


def test_an_invited_listener_accepts_the_invitation_rather_than_requesting() -> None:
    with pytest.raises(InvalidState):
        stage.request_to_speak(INVITEE, SpeakerPolicy.EVERYONE, host_follows_me=False)


def test_invite_accept_decline() -> None:
    invited = stage.invite_to_speak(COHOST, LISTENER, stage_count=3)
    assert invited.stage_request is StageRequest.INVITED
    assert stage.accept_invitation(invited, stage_count=3).role is Role.SPEAKER
    assert stage.decline_invitation(invited).stage_request is StageRequest.NONE
    with pytest.raises(InvalidState):
        stage.invite_to_speak(HOST, invited, stage_count=3)
    with pytest.raises(InvalidState):
        stage.accept_invitation(LISTENER, stage_count=3)
    # Inviting someone who asked is fine: they just accept.
    assert stage.invite_to_speak(HOST, REQUESTER, stage_count=3).stage_request is (
        StageRequest.INVITED
    )


def test_the_stage_holds_thirteen() -> None:
    assert stage.STAGE_MAX == 13
    stage.approve_request(HOST, REQUESTER, stage_count=12)
    for attempt in (
        lambda: stage.approve_request(HOST, REQUESTER, stage_count=13),
        lambda: stage.accept_invitation(INVITEE, stage_count=13),
        lambda: stage.invite_to_speak(HOST, LISTENER, stage_count=13),
        lambda: stage.make_cohost(HOST, LISTENER, cohost_count=0, stage_count=13),
    ):
        with pytest.raises(Conflict) as error:
            attempt()
        assert error.value.rule == "stage_full"


def test_at_most_two_cohosts_and_only_the_host_appoints_them() -> None:
    assert stage.make_cohost(HOST, SPEAKER, cohost_count=1, stage_count=5).role is Role.COHOST
    with pytest.raises(Conflict) as error:
        stage.make_cohost(HOST, SPEAKER, cohost_count=2, stage_count=5)
    assert error.value.rule == "cohosts_full"
    with pytest.raises(Forbidden):
        stage.make_cohost(COHOST, SPEAKER, cohost_count=1, stage_count=5)
    with pytest.raises(InvalidState):
        stage.make_cohost(HOST, COHOST, cohost_count=1, stage_count=5)
    # A listener made co-host comes up to the stage, muted.
    up = stage.make_cohost(HOST, REQUESTER, cohost_count=0, stage_count=5)
    assert (up.role, up.muted, up.stage_request) == (Role.COHOST, True, StageRequest.NONE)
    assert stage.remove_cohost(HOST, COHOST).role is Role.SPEAKER
    with pytest.raises(InvalidState):
        stage.remove_cohost(HOST, SPEAKER)


def test_leaving_and_moving_down_return_to_the_audience_muted() -> None:
    for seat in (stage.leave_stage(SPEAKER), stage.leave_stage(COHOST)):
        assert (seat.role, seat.muted) == (Role.LISTENER, True)
    with pytest.raises(Forbidden):
        stage.leave_stage(HOST)
    assert stage.move_down(COHOST, SPEAKER).role is Role.LISTENER
    assert stage.move_down(HOST, COHOST).role is Role.LISTENER
    with pytest.raises(Forbidden):
        stage.move_down(COHOST, Seat(7, Role.COHOST))
    with pytest.raises(InvalidState):
        stage.move_down(HOST, LISTENER)


def test_muting() -> None:
    assert stage.set_own_mute(SPEAKER, muted=True).muted
    assert not stage.set_own_mute(
        Seat(3, Role.SPEAKER, muted=True, mic_live=True), muted=False
    ).muted
    assert stage.mute_other(COHOST, SPEAKER).muted
    with pytest.raises(Forbidden):
        stage.mute_other(SPEAKER, Seat(8, Role.SPEAKER))
    with pytest.raises(Forbidden):
        stage.mute_other(COHOST, HOST)
    with pytest.raises(InvalidState):
        stage.mute_other(HOST, LISTENER)
    with pytest.raises(Forbidden):
        stage.set_own_mute(LISTENER, muted=False)


def test_unmuting_needs_audio_reaching_the_server() -> None:
    """Nobody is shown unmuted while none of their audio reaches the server."""
    silent = Seat(3, Role.SPEAKER, muted=True, mic_live=False)
    with pytest.raises(InvalidState) as refused:
        stage.set_own_mute(silent, muted=False)
    assert refused.value.state == "mic_off"
    assert stage.set_own_mute(silent, muted=True) == silent  # muting needs no audio


def test_audio_arriving_and_lost() -> None:
    on_air = Seat(3, Role.SPEAKER, muted=False, mic_live=True)
    lost = stage.set_mic_live(on_air, live=False)
    assert lost.muted and not lost.mic_live  # losing the audio mutes
    heard = stage.set_mic_live(Seat(3, Role.SPEAKER, muted=True), live=True)
    assert heard.mic_live and heard.muted  # arriving audio never unmutes by itself
    assert stage.set_mic_live(heard, live=True) == heard


@pytest.mark.parametrize("actor", [HOST, COHOST, SPEAKER, LISTENER])
def test_nobody_unmutes_someone_else(actor: Seat) -> None:
    with pytest.raises(Forbidden):
        stage.unmute_other(actor, Seat(3, Role.SPEAKER, muted=True))


def test_removal() -> None:
    removed = stage.remove_from_space(COHOST, SPEAKER)
    assert removed.removed and removed.role is Role.LISTENER
    with pytest.raises(Forbidden):
        stage.remove_from_space(COHOST, HOST)
    with pytest.raises(Forbidden):
        stage.remove_from_space(SPEAKER, LISTENER)


def test_notable_seats_are_on_stage_or_on_their_way() -> None:
    assert HOST.notable and SPEAKER.notable and REQUESTER.notable and INVITEE.notable
    assert not LISTENER.notable


def test_errors_name_the_roles() -> None:
    with pytest.raises(Forbidden, match="a speaker may not approve a listener"):
        stage.approve_request(SPEAKER, REQUESTER, stage_count=3)
