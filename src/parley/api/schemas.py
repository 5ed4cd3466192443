"""Request and response bodies. Length and content rules live in domain/, checked by actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict

from parley.domain.space import SpeakerPolicy
from parley.domain.views import (
    ClipView,
    MemberView,
    PinView,
    Profile,
    RecordingView,
    ReplayView,
    SpaceView,
    UserBrief,
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignUpBody(Body):
    handle: str
    display_name: str
    password: str


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


class ReactionBody(Body):
    emoji: str


class PinBody(Body):
    text: str
    url: str | None = None


class UserOut(BaseModel):
    user: Profile


class UsersOut(BaseModel):
    users: list[UserBrief]


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
    me: MemberView | None


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


class Health(BaseModel):
    # "degraded": it serves, but a capability fell back (see media.unavailable).
    status: Literal["ok", "degraded"]
    version: str
    store: StoreHealth
    bus: StoreHealth
    media: MediaHealth


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
    # False when this node's WebRTC listeners are full: listen over HLS.
    webrtc: bool


class RecordingOut(BaseModel):
    recording: RecordingView


class ReplayOut(BaseModel):
    replay: ReplayView


class ClipOut(BaseModel):
    clip: ClipView
