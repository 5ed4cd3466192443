"""The bus's channels: one per space (its room's events), one node-wide for lifecycle notices,
one for the public feed of spaces changing."""

from __future__ import annotations

from parley.domain.events import AccessRevoked, SpaceChanged, SpaceLive
from parley.domain.views import SpaceView

_SPACE_PREFIX = "space."

# Node-wide notices of spaces going live, for the media of every node (never for clients).
LIFECYCLE_CHANNEL = "spaces"
# Credentials revoked and accounts suspended, for every node's sockets and media (never clients).
ACCOUNTS_CHANNEL = "accounts"
# Spaces created or changing state, for every page that lists them (public information).
FEED_CHANNEL = "feed"
# What users are told (notifications, messages), for every node's per-user sockets: one message
# per batch, naming its users (room/inbox.py hands each their part).
INBOX_CHANNEL = "inbox"


def space_channel(space_id: int) -> str:
    return f"{_SPACE_PREFIX}{space_id}"


def space_of_channel(channel: str) -> int:
    """The space a space channel belongs to."""
    if not channel.startswith(_SPACE_PREFIX):
        raise ValueError(f"{channel!r} is not a space's channel")
    return int(channel[len(_SPACE_PREFIX) :])


def space_live_notice(space_id: int) -> tuple[str, str]:
    return LIFECYCLE_CHANNEL, SpaceLive(space_id=space_id).model_dump_json()


def space_changed_notice(space: SpaceView) -> tuple[str, str]:
    return FEED_CHANNEL, SpaceChanged(space=space).model_dump_json()


def access_revoked_notice(user_id: int, credential: str | None, reason: str) -> tuple[str, str]:
    notice = AccessRevoked(user_id=user_id, credential=credential, reason=reason)
    return ACCOUNTS_CHANNEL, notice.model_dump_json()
