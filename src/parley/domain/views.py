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
    # Live captions of the stage (host and co-hosts turn them on and off), and the language
    # spoken (ISO 639-1), which the speech engine is told.
    captions: bool = False
    caption_language: str = "en"


class MemberView(View):
    user: UserBrief
    role: Role
    muted: bool
    stage_request: StageRequest
    connected: bool
    # Their audio reaches the server now: unmuting needs it, losing it mutes.
    mic_live: bool
    # Their words are captioned when captions are on (they may switch it off for their voice:
    # their speech then shows as speech without text).
    captioned: bool = True


class CaptionLineView(View):
    """One utterance of one stage member, live: partial lines while they talk (each replacing
    the last of the same `id`), then one final line when they pause."""

    # The utterance's number in its space: a partial and its final share it.
    id: int
    user_id: int
    # On the space's recording timeline (the replay's clock), in seconds.
    start_s: float
    end_s: float
    # None: this speaker's voice is not captioned (they switched it off): speech without text.
    text: str | None
    final: bool


class TranscriptLineView(View):
    id: int
    user: UserBrief
    start_s: float
    end_s: float
    text: str


class TranscriptView(View):
    space_id: int
    language: str
    lines: list[TranscriptLineView]
    # The viewer may download it as WebVTT, SRT or text (the host and everyone who spoke).
    downloadable: bool


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
    # The caption lines the clip spans, on the clip's own timeline (0 = its start).
    captions: list[TranscriptLineView] = []


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
    # The space was captioned: GET /api/spaces/{id}/transcript has its lines.
    has_transcript: bool = False


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
