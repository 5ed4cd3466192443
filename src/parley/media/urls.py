"""Signed, expiring URLs of a space's HLS files. No I/O.

`/hls/{space_id}/{scope}/{expires}/{signature}/{file}`: the signature covers the space, the scope
(live, recording or replay: which folder the files come from, media/folders.py) and the expiry, so
one signature serves the playlist and every segment it lists (they are relative to it). It is the
scheme of nginx's `secure_link` module (base64url of MD5 over
"{expires}/hls/{space_id}/{scope} {secret}", the secret last so the digest cannot be extended), so
nginx checks the same URLs without calling the app (docs/deploy.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import Enum

from parley.media.folders import Scope

HLS_PREFIX = "/hls"


class Check(Enum):
    VALID = "valid"
    BAD = "bad"  # nginx: $secure_link = "" -> 403
    EXPIRED = "expired"  # nginx: $secure_link = "0" -> 410


def signature(space_id: int, scope: Scope, expires: int, secret: str) -> str:
    signed = f"{expires}{HLS_PREFIX}/{space_id}/{scope} {secret}"
    digest = hashlib.md5(signed.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hls_url(space_id: int, scope: Scope, expires: int, secret: str, file: str) -> str:
    sig = signature(space_id, scope, expires, secret)
    return f"{HLS_PREFIX}/{space_id}/{scope}/{expires}/{sig}/{file}"


def check(
    space_id: int, scope: Scope, expires: int, given: str, secret: str, now_s: float
) -> Check:
    if not hmac.compare_digest(signature(space_id, scope, expires, secret), given):
        return Check.BAD
    if now_s > expires:
        return Check.EXPIRED
    return Check.VALID
