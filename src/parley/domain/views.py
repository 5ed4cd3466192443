"""What clients see of users, spaces, members and pins: one shape for REST and WebSocket."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from parley.domain.pins import PinKind
from parley.domain.recordings import ClipVisibility, RecordingState
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
    # Public, or its clipper's alone (its space ended and the replay is not published).
    visibility: ClipVisibility
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


# --- trust and safety ---------------------------------------------------------------------------
class AuditEntryView(View):
    id: int
    created_at: datetime
    actor_id: int | None
    actor_handle: str | None
    # host, cohost (in their space), moderator, admin, or system (the server itself).
    actor_role: str
    action: str
    target_user_id: int | None
    target_handle: str | None
    space_id: int | None
    report_id: int | None
    reason: str


class SanctionView(View):
    id: int
    kind: str
    reason: str
    created_at: datetime
    # None: for good.
    ends_at: datetime | None
    lifted_at: datetime | None
    in_force: bool


class EvidenceLine(View):
    """A caption line of the reported moment."""

    speaker: str
    start_s: float
    end_s: float
    text: str | None


class Evidence(View):
    """What a report carries, gathered when it was made."""

    space_title: str | None = None
    space_state: str | None = None
    host_handle: str | None = None
    # The reported member's role in the space then (host, cohost, speaker, listener).
    member_role: str | None = None
    captions: list[EvidenceLine] = []
    # The reported user's sanctions and how many reports named them before this one.
    history: list[SanctionView] = []
    earlier_reports: int = 0
    # The recording around the moment, kept with the report until it is closed.
    audio_url: str | None = None
    audio_start_s: float | None = None
    audio_duration_s: float | None = None
    # A reported direct message (issue 13), as it was when reported.
    message_id: int | None = None
    message_text: str | None = None
    message_sent_at: datetime | None = None
    message_space_id: int | None = None


class ReportView(View):
    """A report as the instance's moderators see it (the reporter sees MyReportView)."""

    id: int
    kind: str
    state: str
    reason: str
    note: str
    created_at: datetime
    closed_at: datetime | None
    outcome: str | None
    reporter: UserBrief | None
    target: UserBrief | None
    space_id: int | None
    moment_s: float | None
    evidence: Evidence


class MyReportView(View):
    """A report as its reporter sees it: what they reported and what came of it."""

    id: int
    kind: str
    state: str
    reason: str
    created_at: datetime
    outcome: str | None
    space_id: int | None
    target: UserBrief | None


class NoticeView(View):
    id: int
    kind: str
    text: str
    report_id: int | None
    created_at: datetime
    read: bool


class AccountView(View):
    """An account as the admin desk sees it."""

    user: UserBrief
    role: str
    state: str
    created_at: datetime
    suspended_until: datetime | None
    hosting_restricted_until: datetime | None


class InviteView(View):
    code: str
    created_at: datetime
    expires_at: datetime | None
    max_uses: int
    uses: int


class NotificationView(View):
    """One thing the user was told (domain/notify.py), as the bell lists it and the user's
    socket pushes it."""

    id: int
    kind: str
    text: str
    # Where it leads in the web client (a path of this instance).
    link: str
    actor: UserBrief | None
    space_id: int | None
    created_at: datetime
    read: bool


class NotificationSettingsView(View):
    """A user's choices: channels per kind, quiet hours, time zone, email, who may message."""

    channels: dict[str, list[str]]
    quiet_start: str | None
    quiet_end: str | None
    time_zone: str
    email: str | None
    # Its owner followed the link sent to it: only then does email go there.
    email_confirmed: bool = False
    # The instance sends email at all (an SMTP server is set).
    email_available: bool
    push_subscriptions: int
    dm_policy: str
