"""Signed, expiring URLs of a space's HLS files, given to one holder. No I/O.

`/hls/{space_id}/{scope}/{holder}/{expires}/{signature}/{file}`: the signature covers the space,
the scope (live, recording or replay: which folder the files come from, media/folders.py), who the
link was given to and the expiry, so one signature serves the playlist and every segment it lists
(they are relative to it). It is the scheme of nginx's `secure_link` module (base64url of MD5 over
"{expires}/hls/{space_id}/{scope}/{holder} {secret}", the secret last so the digest cannot be
extended), so nginx checks the same URLs without calling the app (docs/deploy.md).

The holder (issue 12): a link handed out to a listener who is then removed or blocked must stop
working. nginx cannot ask who may still listen, so live links are short-lived and renewed through
/listen, which refuses them; the holder in the path keeps one listener's link from being renewed
under another's name, and lets the app's own route refuse a removed holder at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Hashable
from enum import Enum
from typing import Generic, TypeVar

from parley.media.folders import Scope

V = TypeVar("V")

HLS_PREFIX = "/hls"
# "u{user id}", or "v{digest}" for a visitor (no account): letters and digits only, so the
# signed string "{expires}/hls/{space}/{scope}/{holder}" reads only one way.
HOLDER_PATTERN = r"^(u[1-9][0-9]{0,17}|v[a-z2-7]{16})$"
_USER = re.compile(r"^u([1-9][0-9]{0,17})$")


class Check(Enum):
    VALID = "valid"
    BAD = "bad"  # nginx: $secure_link = "" -> 403
    EXPIRED = "expired"  # nginx: $secure_link = "0" -> 410


def user_holder(user_id: int) -> str:
    return f"u{user_id}"


def visitor_holder(address: str, secret: str) -> str:
    """A visitor's holder: stable per client address (their renewals keep one folder), keyed so
    the address cannot be read back from the link or its access logs."""
    digest = hmac.new(secret.encode(), f"visitor {address}".encode(), hashlib.sha256).digest()
    return "v" + base64.b32encode(digest[:10]).decode().lower()


def holder_user(holder: str) -> int | None:
    """The user a holder names; None for a visitor's."""
    found = _USER.match(holder)
    return int(found.group(1)) if found else None


def signature(space_id: int, scope: Scope, holder: str, expires: int, secret: str) -> str:
    signed = f"{expires}{HLS_PREFIX}/{space_id}/{scope}/{holder} {secret}"
    digest = hashlib.md5(signed.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hls_url(space_id: int, scope: Scope, holder: str, expires: int, secret: str, file: str) -> str:
    sig = signature(space_id, scope, holder, expires, secret)
    return f"{HLS_PREFIX}/{space_id}/{scope}/{holder}/{expires}/{sig}/{file}"


def check(
    space_id: int, scope: Scope, holder: str, expires: int, given: str, secret: str, now_s: float
) -> Check:
    if not hmac.compare_digest(signature(space_id, scope, holder, expires, secret), given):
        return Check.BAD
    if now_s > expires:
        return Check.EXPIRED
    return Check.VALID


class RecentChecks(Generic[V]):
    """Verdicts on whether a holder may still listen, kept `ttl_s` (the app's route asks the
    store once per holder and moment, not per segment), at most `max_entries` (oldest go).
    Host analytics keep other recent facts in it too (room/listens.py)."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._verdicts: OrderedDict[Hashable, tuple[V, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._verdicts)

    def get(self, key: Hashable, now_s: float) -> V | None:
        found = self._verdicts.get(key)
        if found is None:
            return None
        allowed, checked_s = found
        if now_s - checked_s > self.ttl_s:
            del self._verdicts[key]
            return None
        return allowed

    def forget(self, key: Hashable) -> None:
        self._verdicts.pop(key, None)

    def put(self, key: Hashable, allowed: V, now_s: float) -> None:
        self._verdicts.pop(key, None)
        self._verdicts[key] = (allowed, now_s)
        while len(self._verdicts) > self.max_entries:
            self._verdicts.popitem(last=False)
