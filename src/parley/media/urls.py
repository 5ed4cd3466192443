"""Signed, expiring URLs of a space's HLS files. No I/O.

`/hls/{space_id}/{expires}/{signature}/{file}`: the signature covers the expiry and the space, so
one signature serves the playlist and every segment it lists (they are relative to it). It is the
scheme of nginx's `secure_link` module (base64url of MD5 over "{expires}/hls/{space_id} {secret}",
the secret last), so nginx checks the same URLs without calling the app (docs/deploy.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import Enum

HLS_PREFIX = "/hls"


class Check(Enum):
    VALID = "valid"
    BAD = "bad"  # nginx: $secure_link = "" -> 403
    EXPIRED = "expired"  # nginx: $secure_link = "0" -> 410


def signature(space_id: int, expires: int, secret: str) -> str:
    digest = hashlib.md5(f"{expires}{HLS_PREFIX}/{space_id} {secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hls_url(space_id: int, expires: int, secret: str, file: str) -> str:
    return f"{HLS_PREFIX}/{space_id}/{expires}/{signature(space_id, expires, secret)}/{file}"


def check(space_id: int, expires: int, given: str, secret: str, now_s: float) -> Check:
    if not hmac.compare_digest(signature(space_id, expires, secret), given):
        return Check.BAD
    if now_s > expires:
        return Check.EXPIRED
    return Check.VALID
