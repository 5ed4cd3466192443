"""Sharing (issue 13): reposts, and the links other sites embed (oEmbed, the embed player).
Pure rules: which spaces may be reposted, which links of this instance an oEmbed consumer may
ask about, and how big the player is within the size it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from parley.domain.errors import Blocked, DomainError, Invalid, InvalidState
from parley.domain.space import SpaceState

# Repost: live and upcoming spaces go on the followers' home; an ended space is shared by its
# link (its replay's page), not reposted: the home lists what one can still join.
REPOSTABLE = frozenset({SpaceState.SCHEDULED, SpaceState.LIVE})
# The home's "shared by people you follow": at most this many spaces, each naming at most this
# many of the people who shared it (the newest first).
HOME_SHARED_MAX = 50
SHARED_BY_SHOWN = 3

# oEmbed (https://oembed.com s2.2): the `url` asked about. Longer is not one of our links.
URL_MAX_LENGTH = 2000
_SPACE = re.compile(r"^/s/([1-9][0-9]{0,9})/?$")
_REPLAY = re.compile(r"^/s/([1-9][0-9]{0,9})/replay/?$")
_CLIP = re.compile(r"^/clips/([A-Za-z0-9_-]{1,32})/?$")
_CLIP_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MAX_ID = 2_147_483_647


class BadUrl(Invalid):
    """oEmbed's `url` is not a URL at all (400, named like any invalid field)."""

    status = 400


def check_can_repost(state: SpaceState, *, blocked_either_way: bool) -> None:
    """Someone may share a space with their followers: not one whose host blocked them or whom
    they blocked, and only while it is upcoming or live."""
    if blocked_either_way:
        raise Blocked("you cannot share this space: you and its host have blocked one another")
    if state not in REPOSTABLE:
        raise InvalidState(
            f"cannot share: the space is {state.value} (only upcoming and live spaces are)",
            state=state.value,
        )


@dataclass(frozen=True)
class EmbedTarget:
    """What a link of this instance shows: a space's room, its replay, or a clip."""

    kind: Literal["space", "replay", "clip"]
    space_id: int | None = None
    clip_id: str | None = None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = (parts.hostname or "").lower()
    netloc = host if port is None or port == default else f"{host}:{port}"
    return parts.scheme.lower(), netloc


def embed_target(url: str, site_url: str | None) -> EmbedTarget | None:
    """The space, replay or clip a link names; None when it is not a link of this instance
    (`site_url`, its scheme and host; None when no URL of ours can be vouched for) or not one
    of those pages. BadUrl when `url` is not an absolute http(s) URL."""
    if len(url) > URL_MAX_LENGTH:
        raise BadUrl("url", "max_length", f"at most {URL_MAX_LENGTH} characters")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise BadUrl("url", "url", "an absolute http(s) URL, without spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not one)
    except ValueError:
        raise BadUrl("url", "url", "an absolute http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadUrl("url", "url", "an absolute http(s) URL")
    if site_url is None or _origin(url) != _origin(site_url):
        return None
    base_path = urlsplit(site_url).path.rstrip("/")
    if not parts.path.startswith(base_path + "/"):
        return None
    path = parts.path[len(base_path) :]
    if found := _REPLAY.match(path):
        space_id = int(found.group(1))
        return EmbedTarget("replay", space_id=space_id) if space_id <= _MAX_ID else None
    if found := _SPACE.match(path):
        space_id = int(found.group(1))
        return EmbedTarget("space", space_id=space_id) if space_id <= _MAX_ID else None
    if found := _CLIP.match(path):
        return EmbedTarget("clip", clip_id=found.group(1))
    return None


def fit(width: int, height: int, max_width: int | None, max_height: int | None) -> tuple[int, int]:
    """The player's size: its own, narrowed and shortened to what the consumer allows (oEmbed
    s2.2: the answer's width and height never exceed maxwidth and maxheight)."""
    if max_width is not None:
        width = min(width, max_width)
    if max_height is not None:
        height = min(height, max_height)
    return width, height


class FormatNotImplemented(DomainError):
    """oEmbed s2.3.2: a format the provider does not answer in (we answer JSON only)."""

    status = 501
    code = "not_implemented"


def space_id_of(text: str) -> int | None:
    """A space id written in a path, or None when it is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > 10 or text.startswith("0"):
        return None
    value = int(text)
    return value if value <= _MAX_ID else None


def clip_id_of(text: str) -> str | None:
    return text if _CLIP_ID.match(text) else None
