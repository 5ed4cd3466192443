"""Security headers (issue 12): every response is `nosniff` with a referrer policy; every HTML
page gets a Content-Security-Policy that runs only our own scripts and may not be framed.

A page that needs another policy (an inline script allowed by its hash, a page meant to be
embedded) sends its own Content-Security-Policy, made with `content_security_policy`: the
middleware then leaves the policy and the framing to it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Who may frame a page: no one, or (the embeddable player, /embed/...) any site.
ANY_FRAMING = ("*",)
# Cross-origin requests carry our origin only, never a page's path or query (which may name a
# space or carry a signed link).
REFERRER_POLICY = "strict-origin-when-cross-origin"
NO_FRAMING = ("'none'",)
# host[:port] as a browser sends it: a name or IPv4 address, or a bracketed IPv6 address.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")
_SOCKET_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def script_hash(script: str) -> str:
    """An inline script's (or style's) CSP source (CSP 3 s8.4: the hash of its UTF-8 text,
    base64)."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(
    socket_origin: str = "",
    *,
    script_hashes: Iterable[str] = (),
    style_hashes: Iterable[str] = (),
    frame_ancestors: Iterable[str] = NO_FRAMING,
) -> str:
    """The web client's policy. `socket_origin` (ws://host or wss://host) is named beside
    'self' for browsers that do not yet match ws: and wss: against 'self' (CSP 3 s6.7.2.8)."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", *style_hashes],
        # Avatars chosen but not yet uploaded are shown from blob: URLs.
        "img-src": ["'self'", "data:", "blob:"],
        # hls.js plays through Media Source Extensions (a blob: URL) and transmuxes in a worker
        # it starts from a blob: URL.
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'", *([socket_origin] if socket_origin else [])],
        "font-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": list(frame_ancestors),
    }
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def socket_origin(scope: Scope, public_url: str) -> str:
    """The room socket's origin as a page of this instance reaches it: that of
    PARLEY_PUBLIC_URL when set, else the request's own host (scheme as uvicorn set it, from
    X-Forwarded-Proto only for a trusted proxy); '' for a host that is not one."""
    if public_url:
        parts = urlsplit(public_url)
        return f"{_SOCKET_SCHEMES[parts.scheme]}://{parts.netloc.lower()}"
    host = ""
    for key, value in scope.get("headers", []):
        if key == b"host":
            host = value.decode("latin-1")
            break
    scheme = _SOCKET_SCHEMES.get(scope.get("scheme", "http"), "ws")
    return f"{scheme}://{host.lower()}" if _HOST.match(host) else ""


def page_policy(scope: Scope, public_url: str, **options: Iterable[str]) -> str:
    """`content_security_policy` for the page answering this request."""
    return content_security_policy(socket_origin(scope, public_url), **options)


class SecurityHeaders:
    """ASGI middleware: adds the headers a response did not set itself."""

    def __init__(self, app: ASGIApp, *, public_url: str) -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", REFERRER_POLICY)
                if headers.get("content-type", "").startswith("text/html"):
                    self._page_headers(headers, scope)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _page_headers(self, headers: MutableHeaders, scope: Scope) -> None:
        # A page's own policy decides its framing too.
        policy = headers.setdefault("Content-Security-Policy", page_policy(scope, self.public_url))
        if "frame-ancestors 'none'" in policy:
            # The same for browsers without CSP's frame-ancestors.
            headers.setdefault("X-Frame-Options", "DENY")
