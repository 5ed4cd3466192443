"""A cap on request bodies (issue 12: bodies of any size were read), ahead of every route.

A body declared larger than `PARLEY_MAX_REQUEST_BODY_BYTES` (Content-Length) is answered 413
before a byte of it is read. A body without a length (chunked transfer coding) is counted as it
streams: at the byte past the cap the 413 goes out, and the route reading it is told the client
left (what it answers then is dropped).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.api.errors import domain_error_response
from parley.domain.errors import TooLarge

_MIB = 1024 * 1024


def too_large(limit_bytes: int) -> TooLarge:
    size = f"{limit_bytes // _MIB} MiB" if limit_bytes % _MIB == 0 else f"{limit_bytes} bytes"
    return TooLarge(
        "body",
        "max_bytes",
        f"a request body may be at most {size} ({limit_bytes} bytes, "
        "PARLEY_MAX_REQUEST_BODY_BYTES)",
    )


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            # The server (h11, httptools) has already refused a malformed length.
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    """ASGI middleware: refuses request bodies over `limit_bytes` with a 413 naming the rule."""

    def __init__(self, app: ASGIApp, *, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        # Once the 413 is out, whatever the route still sends has no one to go to.
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    refused = True
                    if not started:
                        await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = domain_error_response(too_large(self.limit_bytes))
        # The rest of the body is never read: the connection cannot carry another request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
