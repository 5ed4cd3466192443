"""Pinned items: links or short posts the moderators pin to a space."""

from __future__ import annotations

import enum
from urllib.parse import urlsplit

from parley.domain.errors import Conflict, Invalid
from parley.domain.text import check_text

PINS_MAX = 5
PIN_TEXT_MAX = 280
PIN_URL_MAX = 2000


class PinKind(enum.StrEnum):
    LINK = "link"
    POST = "post"


def check_pin(text: str, url: str | None) -> tuple[PinKind, str, str | None]:
    text = check_text("text", text)
    if not text:
        raise Invalid("text", "min_length", "must not be empty")
    if len(text) > PIN_TEXT_MAX:
        raise Invalid("text", "max_length", f"must be at most {PIN_TEXT_MAX} characters")
    if url is None or not url.strip():
        return PinKind.POST, text, None
    # A link shows as its address: what hides text in a post would hide where it leads.
    url = check_text("url", url)
    if len(url) > PIN_URL_MAX:
        raise Invalid("url", "max_length", f"must be at most {PIN_URL_MAX} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("url", "scheme", "must be an http:// or https:// address")
    return PinKind.LINK, text, url


def check_room_for_pin(pin_count: int) -> None:
    if pin_count >= PINS_MAX:
        raise Conflict(f"a space has at most {PINS_MAX} pinned items", rule="pins_full")
