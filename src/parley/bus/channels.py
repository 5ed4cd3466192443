"""The bus's channels: one per space (its room's events), one node-wide for lifecycle notices."""

from __future__ import annotations

from parley.domain.events import SpaceLive

_SPACE_PREFIX = "space."

# Node-wide notices of spaces going live, for the media of every node (never for clients).
LIFECYCLE_CHANNEL = "spaces"


def space_channel(space_id: int) -> str:
    return f"{_SPACE_PREFIX}{space_id}"


def space_of_channel(channel: str) -> int:
    """The space a space channel belongs to."""
    if not channel.startswith(_SPACE_PREFIX):
        raise ValueError(f"{channel!r} is not a space's channel")
    return int(channel[len(_SPACE_PREFIX) :])


def space_live_notice(space_id: int) -> tuple[str, str]:
    return LIFECYCLE_CHANNEL, SpaceLive(space_id=space_id).model_dump_json()
