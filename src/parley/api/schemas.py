"""Request and response bodies. Length and content rules live in domain/, checked by actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from parley.domain.errors import Invalid
from parley.domain.moderation import Decision, InstanceRole
from parley.domain.space import SpeakerPolicy
from parley.domain.text import check_no_surrogates
from parley.domain.views import (
    AccountView,
    AuditEntryView,
    ClipView,
    InviteView,
    MemberView,
    MyReportView,
    NoticeView,
    PersonView,
    PinView,
    Profile,
    RecordingView,
    ReplaySummary,
    ReplayView,
    ReportView,
    SanctionView,
    SpaceView,
    TranscriptView,
    UserBrief,
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _unicode_text(cls, value: object, info: ValidationInfo) -> object:
        """Every string of every body is Unicode text: a JSON "\\ud800" escape decodes to a lone
        surrogate, which neither the database nor a response can encode (a 500 before, issue
        12), and which no field means. Checked here, once for every field, passwords and handles
        included; what else text may contain is the domain's (domain/text.py)."""
        field = info.field_name or "body"
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    check_no_surrogates(field, text)
                except Invalid as invalid:
                    raise PydanticCustomError("surrogate", invalid.detail) from None
        return value


class SignUpBody(Body):
    handle: str
    display_name: str
    password: str
    # Needed when the instance is invite-only (PARLEY_SIGNUP_MODE=invite).
    invite_code: str | None = Field(default=None, max_length=64)


class SignInBody(Body):
    handle: str
    password: str


class ProfilePatch(Body):
    display_name: str | None = None
    bio: str | None = None


class TokenBody(Body):
    name: str


class CreateSpaceBody(Body):
    title: str
    topics: list[str] = []
    speaker_policy: SpeakerPolicy = SpeakerPolicy.EVERYONE
    scheduled_for: datetime | None = None
    # Offer a replay of the recording afterwards (the mix is recorded either way while the
    # instance records spaces; this decides whether it may be published).
    record: bool = True
    # Only people with an account may listen (else visitors may too, where the instance lets).
    accounts_required: bool = False
    # Live captions from the start, in this language (ISO 639-1; null: the instance's default).
    captions: bool = False
    caption_language: str | None = Field(default=None, max_length=8)


class SpacePatch(Body):
    """Changes to a space (scheduled or live); a field left out stays as it is.
    `accounts_required`: the host's; `captions`, `caption_language`: the host's or a co-host's."""

    accounts_required: bool | None = None
    captions: bool | None = None
    caption_language: str | None = Field(default=None, max_length=8)
    # A scheduled space's details (the host's; domain/schedule.py): those who asked for a
    # reminder and the named co-hosts are told.
    title: str | None = None
    topics: list[str] | None = None
    scheduled_for: datetime | None = None


class CaptionedBody(Body):
    """A member lets their own words be captioned (true) or not (false)."""

    captioned: StrictBool


class ReactionBody(Body):
    emoji: str


class PinBody(Body):
    text: str
    url: str | None = None


class UserOut(BaseModel):
    user: Profile
    # A new account that waits for an admin's approval (PARLEY_SIGNUP_MODE=approval): no
    # session was opened.
    pending_approval: bool = False
    # One's own instance role (member, moderator, admin): GET /api/me only.
    role: str | None = None


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: datetime


class TokensOut(BaseModel):
    tokens: list[TokenInfo]


class NewTokenOut(TokenInfo):
    token: str


class SpaceOut(BaseModel):
    space: SpaceView


class SpaceWithMeOut(BaseModel):
    space: SpaceView
    # The viewer's membership; null for visitors and for people who have not joined.
    me: MemberView | None
    # Who is on stage (public: anyone may see it), in the order they joined.
    stage: list[MemberView]
    # A replay is published: GET /api/spaces/{id}/replay, the page /s/{id}/replay.
    replay_published: bool
    # People without an account may listen (the instance lets them and the host did not ask for
    # accounts).
    open_to_visitors: bool
    # The viewer asked to be reminded when it goes live (PUT /api/spaces/{id}/reminder).
    reminded: bool = False
    # How many asked: shown to the host and co-hosts only (null for everyone else).
    reminders: int | None = None
    # The viewer shared it with their followers (PUT /api/spaces/{id}/repost).
    reposted: bool = False


class SpacesOut(BaseModel):
    spaces: list[SpaceView]


class MemberOut(BaseModel):
    member: MemberView


class ListenersOut(BaseModel):
    listeners: list[MemberView]
    total: int


class PinOut(BaseModel):
    pin: PinView


class StoreHealth(BaseModel):
    backend: str
    version: str


class MediaHealth(BaseModel):
    """The media engine's use of library internals (media/internals.py): each capability this
    aiortc/aioice/PyAV could not give, with what it missed; it runs on the stock path instead."""

    versions: str
    unavailable: dict[str, str]


class CaptionsHealth(BaseModel):
    """This node's live captions (null before its first captioned space loads the engine)."""

    engine: str | None
    spaces: int
    # How far the captions run behind the speech (s): the oldest final line waiting for the
    # engine, or the pipeline's own lag behind the media clock. It grows when the machine
    # cannot keep up (partial lines are dropped first).
    backlog_s: float
    queued_finals: int
    queued_partials: int
    finals: int
    partials: int
    dropped_partials: int


class Health(BaseModel):
    # "degraded": it serves, but a capability fell back (see media.unavailable).
    status: Literal["ok", "degraded"]
    version: str
    store: StoreHealth
    bus: StoreHealth
    media: MediaHealth
    captions: CaptionsHealth | None = None


# Identifiers fit the store's 32-bit integer keys; larger ones are refused as input errors.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


class ClipBody(Body):
    # 1 to 30 s (domain/recordings.py checks it).
    duration_s: float = 30.0
    # Where the clip starts in the recording; none: the last `duration_s` (of a live space).
    start_s: float | None = None


class ListenOut(BaseModel):
    hls_url: str
    hls_expires_at: datetime
    # The link's life in seconds from this answer (short for live links, issue 12): a client
    # whose clock is off still renews in time.
    hls_expires_in_s: int
    # A captioned space: the same audio with its live captions as a WebVTT subtitles rendition
    # (a multivariant playlist, RFC 8216 EXT-X-MEDIA TYPE=SUBTITLES), for players that show
    # subtitles (Safari, VLC, hls.js); null otherwise.
    hls_captions_url: str | None = None
    # False when this node's WebRTC listeners are full: listen over HLS.
    webrtc: bool


class RecordingOut(BaseModel):
    recording: RecordingView


class ReplayOut(BaseModel):
    replay: ReplayView


class ClipOut(BaseModel):
    clip: ClipView


class UsersPageOut(BaseModel):
    users: list[UserBrief]
    # Where the next page starts (?offset=); null on the last page.
    next_offset: int | None


class PeopleOut(BaseModel):
    people: list[PersonView]
    next_offset: int | None


class SpacesPageOut(BaseModel):
    spaces: list[SpaceView]
    next_offset: int | None


class ReplaysOut(BaseModel):
    replays: list[ReplaySummary]
    next_offset: int | None


class HostedSpacesOut(BaseModel):
    live: list[SpaceView]
    upcoming: list[SpaceView]


class CaptionsInfoOut(BaseModel):
    """What this server's live captions offer (the create form's choices)."""

    engine: str
    default_language: str
    # ISO 639-1 codes.
    languages: list[str]


class TranscriptOut(BaseModel):
    transcript: TranscriptView


# --- trust and safety ---------------------------------------------------------------------------
class ReportBody(Body):
    kind: Literal["user", "space", "moment", "message"]
    # The instance's list (GET /api/reports/reasons).
    reason: str = Field(max_length=40)
    note: str = Field(default="", max_length=4000)
    user_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    space_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    # A moment of a replay, on its timeline (seconds); a live space's moment is now.
    at_s: float | None = Field(default=None, ge=0, le=86400 * 7)
    # A direct message received (kind "message").
    message_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class ReasonsOut(BaseModel):
    reasons: list[str]


class MyReportsOut(BaseModel):
    reports: list[MyReportView]


class NoticesOut(BaseModel):
    notices: list[NoticeView]
    unread: int


class NoticesReadBody(Body):
    # The notices read (none: all of them).
    ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None = Field(
        default=None, max_length=500
    )


class ReportOut(BaseModel):
    report: ReportView


class ReportsOut(BaseModel):
    reports: list[ReportView]


class DecisionBody(Body):
    decision: Decision
    reason: str = Field(default="", max_length=4000)
    # warn: the message the user gets.
    message: str = Field(default="", max_length=4000)
    # suspend, restrict_hosting: how long (none: for good, admins only).
    days: float | None = Field(default=None, gt=0, le=3650)
    pin_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    clip_id: str | None = Field(default=None, max_length=32)


class WarnBody(Body):
    message: str = Field(max_length=4000)


class SanctionBody(Body):
    days: float | None = Field(default=None, gt=0, le=3650)
    reason: str = Field(default="", max_length=4000)


class LiftBody(Body):
    kind: Literal["suspended", "hosting_restricted"]


class RoleBody(Body):
    role: InstanceRole
    reason: str = Field(default="", max_length=4000)


class ReasonBody(Body):
    reason: str = Field(default="", max_length=4000)


class AccountOut(BaseModel):
    account: AccountView


class AccountsOut(BaseModel):
    accounts: list[AccountView]


class HistoryOut(BaseModel):
    account: AccountView
    sanctions: list[SanctionView]


class AuditOut(BaseModel):
    entries: list[AuditEntryView]


class InviteBody(Body):
    count: int = Field(default=1, ge=1, le=100)
    max_uses: int = Field(default=1, ge=1, le=1000)
    days: float | None = Field(default=7, gt=0, le=365)


class InvitesOut(BaseModel):
    invites: list[InviteView]
    signup_mode: str
