"""What clients see of users, spaces, members and pins: one shape for REST and WebSocket."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from parley.domain.pins import PinKind
from parley.domain.space import SpaceState, SpeakerPolicy
from parley.domain.stage import Role, StageRequest


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserBrief(View):
    id: int
    handle: str
    display_name: str


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


class MemberView(View):
    user: UserBrief
    role: Role
    muted: bool
    stage_request: StageRequest
    connected: bool


class PinView(View):
    id: int
    kind: PinKind
    text: str
    url: str | None
    created_at: datetime
