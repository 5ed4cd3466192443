"""What clients see of users, spaces, members and pins: one shape for REST and WebSocket."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from parley.domain.pins import PinKind
from parley.domain.recordings import RecordingState
from parley.domain.space import SpaceState, SpeakerPolicy
from parley.domain.stage import Role, StageRequest


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserBrief(View):
    id: int
    handle: str
    display_name: str
    # The profile picture (a 256 px square) at its current version; None: show initials.
    avatar_url: str | None


class Profile(UserBrief):
    bio: str
    follower_count: int
    following_count: int
    followed_by_me: bool
    follows_me: bool
    blocked_by_me: bool
    is_me: bool


class SpaceView(View):
    id: int
    title: str
    topics: list[str]
    speaker_policy: SpeakerPolicy
    state: SpaceState
    host: UserBrief
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    listener_count: int
    stage_count: int
    # The host's choice: a replay of the recording may be offered.
    record: bool
    # The host's choice: only people with an account may listen (else visitors may too, where
    # the instance lets them).
    accounts_required: bool


class MemberView(View):
    user: UserBrief
    role: Role
    muted: bool
    stage_request: StageRequest
    connected: bool
    # Their audio reaches the server now: unmuting needs it, losing it mutes.
    mic_live: bool


class PinView(View):
    id: int
    kind: PinKind
    text: str
    url: str | None
    created_at: datetime


class RecordingView(View):
    state: RecordingState
    started_at: datetime
    ended_at: datetime | None
    duration_s: float
    bytes: int
    download_url: str
    expires_at: datetime | None
    replay_published: bool


class ClipView(View):
    # The clip's unguessable public id (its links carry it).
    id: str
    space_id: int
    space_title: str
    created_by: UserBrief
    start_s: float
    duration_s: float
    created_at: datetime
    audio_url: str
    page_url: str


class MarkerView(View):
    """Where the speaker changed, on the replay's timeline."""

    at_s: float
    user: UserBrief


class ListenerCountView(View):
    at_s: float
    count: int


class ReplayView(View):
    space: SpaceView
    duration_s: float
    playlist_url: str
    published: bool
    markers: list[MarkerView]
    listener_counts: list[ListenerCountView]


class PersonView(View):
    """A person as search shows them."""

    user: UserBrief
    bio: str
    follower_count: int
    # The viewer follows them (false for visitors).
    followed_by_me: bool


class ReplaySummary(View):
    """A published replay in a list (home, a profile): GET /api/spaces/{id}/replay plays it."""

    space: SpaceView
    duration_s: float
    published_at: datetime
    # When retention deletes it.
    expires_at: datetime
