"""CORS and OPTIONS on the WHIP/WHEP endpoints and their session URLs (RFC 9725 s4.2), so that a
WHIP or WHEP client on a page of another origin (a third-party web client, a site embedding a
space) can publish and listen.

Only the origins in `PARLEY_CORS_ORIGINS`, and the instance's own (`PARLEY_PUBLIC_URL`, or the
request's own host), are allowed. Credentials are never allowed: WHIP/WHEP clients authenticate
with a Bearer token, so a page of another origin cannot act with a visitor's session cookie.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# /api/spaces/{id}/whip or /whep (the endpoint), and /api/spaces/{id}/whip/{session} (a session).
_MEDIA_PATH = re.compile(r"^/api/spaces/[^/]+/(?:whip|whep)(/[^/]+)?$")
ENDPOINT_METHODS = "OPTIONS, POST"
# PATCH (trickle ICE, ICE restarts) is answered 405, as RFC 9725 s4.3.1 asks of an endpoint
# without trickle; it is allowed here so a client of another origin gets that 405 (which WHIP/WHEP
# libraries handle) instead of a network error from its own browser.
SESSION_METHODS = "OPTIONS, PATCH, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match"
# What a client script must read: the session URL, ICE servers, the ICE session's tag.
EXPOSED_HEADERS = "Location, Link, ETag"
PREFLIGHT_MAX_AGE_S = 86400


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL as browsers serialize an origin: lower case, no default
    port; '' when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if not scheme or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS.get(scheme))
        else (f"{scheme}://{host}:{port}")
    )


class MediaCors:
    """ASGI middleware: answers OPTIONS and adds CORS headers on the WHIP/WHEP URLs only."""

    def __init__(self, app: ASGIApp, *, allowed_origins: list[str], public_url: str) -> None:
        self.app = app
        self.allowed = {origin_of(origin) for origin in allowed_origins}
        self.own = origin_of(public_url) if public_url else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _MEDIA_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        headers = {key.lower(): value for key, value in scope["headers"]}
        origin = headers.get(b"origin", b"").decode("latin-1")
        allowed = bool(origin) and self._allows(origin, scope, headers)
        methods = SESSION_METHODS if match.group(1) else ENDPOINT_METHODS
        if scope["method"] == "OPTIONS":
            await self._options(send, origin, allowed, methods, is_session=bool(match.group(1)))
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_cors_headers(origin)]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _allows(self, origin: str, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        origin = origin_of(origin)
        if not origin:
            return False  # "null" (a sandboxed page, a file) or garbage
        if origin in self.allowed or origin == self.own:
            return True
        # Without PARLEY_PUBLIC_URL, the instance's own origin is the one the request came to.
        host = headers.get(b"host", b"").decode("latin-1")
        return not self.own and origin == origin_of(f"{scope.get('scheme', 'http')}://{host}")

    async def _options(
        self, send: Send, origin: str, allowed: bool, methods: str, *, is_session: bool
    ) -> None:
        status = 204
        extra: list[tuple[bytes, bytes]] = [(b"allow", methods.encode())]
        if not is_session:
            extra.append((b"accept-post", b"application/sdp"))
        body = b""
        if origin and not allowed:
            status = 403
            body = json.dumps(
                {
                    "error": "forbidden",
                    "message": f"the origin {origin} is not allowed to use this endpoint "
                    "(PARLEY_CORS_ORIGINS)",
                    "field": "Origin",
                    "rule": "cors_allowlist",
                }
            ).encode()
            extra.append((b"content-type", b"application/json"))
        elif allowed:
            extra += [
                *_cors_headers(origin),
                (b"access-control-allow-methods", methods.encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
            ]
        extra.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": body})


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]
