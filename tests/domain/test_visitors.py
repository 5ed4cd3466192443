"""What a visitor (no account) sees of a room, who may listen without an account, and the caps
on visitor sockets: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.domain.errors import AtCapacity, NotAuthenticated, RateLimited
from parley.domain.events import (
    Hidden,
    Levels,
    MemberRemoved,
    MemberUpdated,
    PinAdded,
    Ping,
    Presence,
    ReactionBy,
    Reactions,
    Snapshot,
    SpaceUpdated,
)
from parley.domain.space import SpaceState, SpeakerPolicy
from parley.domain.stage import Role, StageRequest
from parley.domain.views import MemberView, PinView, SpaceView, UserBrief
from parley.domain.visitors import (
    FULL,
    NEEDS_ACCOUNT,
    PublicRoom,
    VisitorClose,
    VisitorTally,
    open_to_visitors,
    require_open_to_visitors,
    room_refusal,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def member(
    user_id: int, role: Role = Role.LISTENER, request: StageRequest = StageRequest.NONE
) -> MemberView:
    return MemberView(
        user=UserBrief(
            id=user_id, handle=f"u{user_id}", display_name=f"User {user_id}", avatar_url=None
        ),
        role=role,
        muted=True,
        stage_request=request,
        connected=True,
        mic_live=False,
    )


def space(state: SpaceState = SpaceState.LIVE, *, accounts_required: bool = False) -> SpaceView:
    return SpaceView(
        id=1,
        title="Room",
        topics=[],
        speaker_policy=SpeakerPolicy.EVERYONE,
        state=state,
        host=member(1).user,
        scheduled_for=None,
        started_at=NOW,
        ended_at=None,
        created_at=NOW,
        listener_count=0,
        stage_count=1,
        record=True,
        accounts_required=accounts_required,
    )


HOST = member(1, Role.HOST)
SPEAKER = member(2, Role.SPEAKER)
REQUESTER = member(3, request=StageRequest.REQUESTED)
INVITEE = member(4, request=StageRequest.INVITED)


def snapshot() -> Snapshot:
    return Snapshot(
        seq=7,
        space=space(),
        members=[HOST, SPEAKER, REQUESTER, INVITEE],
        pins=[PinView(id=1, kind="link", text="t", url="https://x.example", created_at=NOW)],
        listener_count=12,
        me=REQUESTER,
    )


def test_the_snapshot_shows_the_stage_and_no_one_else() -> None:
    room = PublicRoom()
    public = room.start(snapshot())
    assert [m.user.id for m in public.members] == [1, 2]
    assert public.me is None
    assert public.seq == 7 and public.listener_count == 12 and len(public.pins) == 1
    assert room.on_stage == {1, 2}


def test_requests_and_invitations_of_listeners_are_hidden_with_their_seq() -> None:
    room = PublicRoom()
    room.start(snapshot())
    for shown in (
        member(5, request=StageRequest.REQUESTED),
        member(5),  # withdrawn
        member(6, request=StageRequest.INVITED),
        member(6),  # declined
    ):
        assert room.see(MemberUpdated(seq=8, member=shown)) == Hidden(seq=8)
    assert room.see(MemberRemoved(seq=9, user_id=5, reason="removed")) == Hidden(seq=9)


def test_the_stage_moving_is_shown() -> None:
    room = PublicRoom()
    room.start(snapshot())
    up = MemberUpdated(seq=8, member=member(3, Role.SPEAKER))
    assert room.see(up) is up
    assert 3 in room.on_stage
    down = MemberUpdated(seq=9, member=member(3))
    assert room.see(down) is down  # off the stage: the visitor drops them
    assert 3 not in room.on_stage
    # What they do next as a listener is theirs.
    assert room.see(MemberUpdated(seq=10, member=member(3, request=StageRequest.REQUESTED))) == (
        Hidden(seq=10)
    )
    removed = MemberRemoved(seq=11, user_id=2, reason="removed")
    assert room.see(removed) is removed and room.on_stage == {1}


def test_a_stage_member_never_shows_a_pending_request() -> None:
    room = PublicRoom()
    odd = MemberUpdated(seq=2, member=member(2, Role.SPEAKER, StageRequest.INVITED))
    shown = room.see(odd)
    assert isinstance(shown, MemberUpdated) and shown.member.stage_request is StageRequest.NONE


def test_reactions_name_only_the_stage() -> None:
    room = PublicRoom()
    room.start(snapshot())
    mixed = Reactions(
        window_ms=100,
        counts={"👋": 2},
        by=[ReactionBy(user_id=1, emoji="👋"), ReactionBy(user_id=3, emoji="👋")],
    )
    shown = room.see(mixed)
    assert isinstance(shown, Reactions)
    assert shown.counts == {"👋": 2} and [b.user_id for b in shown.by] == [1]
    stage_only = Reactions(window_ms=100, counts={"🔥": 1}, by=[ReactionBy(user_id=2, emoji="🔥")])
    assert room.see(stage_only) is stage_only


@pytest.mark.parametrize(
    "message",
    [
        Presence(listener_count=3),
        Levels(levels={"1": 0.5}),
        Ping(),
        PinAdded(seq=8, pin=PinView(id=2, kind="post", text="hi", url=None, created_at=NOW)),
        SpaceUpdated(seq=8, space=space()),
    ],
)
def test_public_messages_pass_as_published(message: object) -> None:
    room = PublicRoom()
    room.start(snapshot())
    assert room.see(message) is message  # type: ignore[arg-type]


def test_the_socket_closes_when_the_space_ends_or_needs_accounts() -> None:
    for state in (SpaceState.ENDED, SpaceState.CANCELED):
        ended = SpaceUpdated(seq=9, space=space(state))
        assert PublicRoom.closing(ended) is VisitorClose.ENDED
    closed = SpaceUpdated(seq=9, space=space(accounts_required=True))
    assert PublicRoom.closing(closed) is VisitorClose.NEEDS_ACCOUNT
    assert PublicRoom.closing(SpaceUpdated(seq=9, space=space())) is None
    assert PublicRoom.closing(Presence(listener_count=1)) is None


@pytest.mark.parametrize(
    ("state", "refusal"),
    [
        (SpaceState.LIVE, None),
        # Counted in a scheduled space's listener_count, a visitor could inflate it: not yet.
        (SpaceState.SCHEDULED, VisitorClose.NOT_LIVE),
        (SpaceState.ENDED, VisitorClose.ENDED),
        (SpaceState.CANCELED, VisitorClose.ENDED),
    ],
)
def test_a_visitor_room_opens_only_while_the_space_is_live(
    state: SpaceState, refusal: VisitorClose | None
) -> None:
    assert room_refusal(state) is refusal


@pytest.mark.parametrize(
    ("instance", "accounts", "open_"),
    [(True, False, True), (True, True, False), (False, False, False), (False, True, False)],
)
def test_who_may_listen_without_an_account(instance: bool, accounts: bool, open_: bool) -> None:
    assert open_to_visitors(instance_allows=instance, accounts_required=accounts) is open_
    if open_:
        require_open_to_visitors(instance_allows=instance, accounts_required=accounts)
    else:
        with pytest.raises(NotAuthenticated, match=NEEDS_ACCOUNT):
            require_open_to_visitors(instance_allows=instance, accounts_required=accounts)


def test_visitor_sockets_are_capped_per_address_and_per_space() -> None:
    tally = VisitorTally(per_address=2, per_space=3)
    tally.admit(1, "a", elsewhere=0)
    tally.admit(1, "a", elsewhere=0)
    with pytest.raises(RateLimited):
        tally.admit(2, "a", elsewhere=0)
    tally.admit(1, "b", elsewhere=0)
    with pytest.raises(AtCapacity):
        tally.admit(1, "c", elsewhere=0)
    assert tally.count(1) == 3
    # The other nodes' visitors count against the space's cap.
    with pytest.raises(AtCapacity):
        tally.admit(2, "c", elsewhere=3)
    tally.leave(1, "a")
    tally.admit(1, "c", elsewhere=0)
    for address in ("a", "b", "c"):
        tally.leave(1, address)
    assert tally.count(1) == 0 and not tally.by_address and not tally.by_space


def test_a_full_space_gives_its_listen_answer_only_to_the_visitors_it_counts() -> None:
    tally = VisitorTally(per_address=5, per_space=2)
    tally.check_listen(1, "c", elsewhere=0)  # a socket is not needed to listen
    tally.admit(1, "a", elsewhere=0)
    tally.check_listen(1, "c", elsewhere=0)
    tally.admit(1, "b", elsewhere=0)
    # Full: no listen answer for anyone else, so the HLS link does not get around the cap...
    with pytest.raises(AtCapacity, match=FULL):
        tally.check_listen(1, "c", elsewhere=0)
    # ...but those counted in it listen, the last let in too.
    tally.check_listen(1, "a", elsewhere=0)
    tally.check_listen(1, "b", elsewhere=0)
    # A socket in another space does not count, nor does one that closed.
    tally.admit(2, "c", elsewhere=0)
    with pytest.raises(AtCapacity):
        tally.check_listen(1, "c", elsewhere=0)
    tally.leave(1, "b")
    tally.check_listen(1, "c", elsewhere=0)
    with pytest.raises(AtCapacity):
        tally.check_listen(1, "c", elsewhere=1)  # the other nodes' visitors count too
    with pytest.raises(AtCapacity):
        tally.check_listen(3, "c", elsewhere=2)
    tally.leave(1, "a")
    tally.leave(2, "c")
    assert not tally.by_space and not tally.by_address and not tally.by_space_and_address
