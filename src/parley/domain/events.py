"""Typed messages of the live room WebSocket (docs/websocket.md).

State changes carry `seq`, allocated in the action's transaction; ephemeral messages
(presence, reactions, ping) carry `seq = None` and are never replayed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from parley.domain.views import (
    CaptionLineView,
    MemberView,
    NotificationView,
    PinView,
    SpaceView,
)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)
    seq: int | None = None


class Snapshot(Event):
    type: Literal["snapshot"] = "snapshot"
    space: SpaceView
    members: list[MemberView]
    pins: list[PinView]
    listener_count: int
    me: MemberView | None
    # The last final caption lines (oldest first), so someone who joins late reads them at once.
    captions: list[CaptionLineView] = []


class SpaceUpdated(Event):
    type: Literal["space_updated"] = "space_updated"
    space: SpaceView


class MemberUpdated(Event):
    type: Literal["member_updated"] = "member_updated"
    member: MemberView


class MemberRemoved(Event):
    type: Literal["member_removed"] = "member_removed"
    user_id: int
    reason: Literal["removed", "blocked"]


class PinAdded(Event):
    type: Literal["pin_added"] = "pin_added"
    pin: PinView


class PinRemoved(Event):
    type: Literal["pin_removed"] = "pin_removed"
    pin_id: int


class Presence(Event):
    type: Literal["presence"] = "presence"
    listener_count: int


class ReactionBy(BaseModel):
    user_id: int
    emoji: str


class Reactions(Event):
    type: Literal["reactions"] = "reactions"
    window_ms: int
    counts: dict[str, int]
    by: list[ReactionBy]


class Levels(Event):
    """Speaking indicators: the members whose level (0-1, 0 when silent) changed, by user id.
    At most five a second per space, only on change."""

    type: Literal["levels"] = "levels"
    levels: dict[str, float]


class Caption(Event):
    """A caption line (docs/websocket.md): ephemeral (no seq); the last finals are in the
    snapshot."""

    type: Literal["caption"] = "caption"
    line: CaptionLineView


class Ping(Event):
    type: Literal["ping"] = "ping"


class Hidden(Event):
    """A numbered change that a visitor's socket does not show (a listener's request, invitation
    or presence): only its seq, so the visitor's count of changes has no gap. Never published on
    the bus: made per visitor socket from the change (domain/visitors.py)."""

    type: Literal["hidden"] = "hidden"


class SpaceLive(BaseModel):
    """A node-wide notice (bus channel `spaces`, never sent to clients): the space went live, so
    the node that claims it starts its media."""

    model_config = ConfigDict(frozen=True)
    type: Literal["space_live"] = "space_live"
    space_id: int


# The changes that carry a sequence number and are stored for resume.
RoomChange = Annotated[
    SpaceUpdated | MemberUpdated | MemberRemoved | PinAdded | PinRemoved,
    Field(discriminator="type"),
]
ROOM_CHANGE = TypeAdapter[RoomChange](RoomChange)

ServerMessage = Annotated[
    Snapshot
    | SpaceUpdated
    | MemberUpdated
    | MemberRemoved
    | PinAdded
    | PinRemoved
    | Presence
    | Reactions
    | Levels
    | Caption
    | Ping
    | Hidden,
    Field(discriminator="type"),
]


class AccessRevoked(BaseModel):
    """A node-wide notice (bus channel `accounts`, never sent to clients): a credential was
    revoked (signed out, an API token revoked) or the account suspended (`credential` None: all
    of them). Every node closes the user's room sockets and media sessions opened with it."""

    model_config = ConfigDict(frozen=True)
    type: Literal["access_revoked"] = "access_revoked"
    user_id: int
    credential: str | None = None
    reason: str


SERVER_MESSAGE = TypeAdapter[ServerMessage](ServerMessage)
ACCESS_REVOKED = TypeAdapter[AccessRevoked](AccessRevoked)
SPACE_LIVE = TypeAdapter[SpaceLive](SpaceLive)


class SpaceChanged(BaseModel):
    """On the public feed (bus channel `feed`, the `/api/feed` socket): a space was created or
    changed state (scheduled, live, ended, canceled) or its public details changed. Pages that
    list spaces update from it instead of polling."""

    model_config = ConfigDict(frozen=True)
    type: Literal["space_changed"] = "space_changed"
    space: SpaceView


SPACE_CHANGED = TypeAdapter[SpaceChanged](SpaceChanged)


class UserEvent(BaseModel):
    """What a user's own socket (`/api/me/socket`, docs/websocket.md) carries: never about a
    space's room, only about this user."""


class NotificationAdded(UserEvent):
    type: Literal["notification"] = "notification"
    notification: NotificationView


class MessageAdded(UserEvent):
    """A direct message to or from the user (their other tabs see what they sent)."""

    type: Literal["message"] = "message"
    message: dict[str, object]


class InboxItem(BaseModel):
    user_id: int
    # A UserEvent as JSON, ready to send.
    event: str


class InboxBatch(BaseModel):
    """One bus message for many users' sockets (a fan-out's batch): each node sends every user
    it holds a socket of their item."""

    type: Literal["inbox"] = "inbox"
    items: list[InboxItem]
