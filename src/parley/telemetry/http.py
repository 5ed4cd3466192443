"""The request middleware: a request id for every request (and its logs), and the HTTP latency
histogram by route template (the path's template, never the raw path: ids in paths would make
one time series per space)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.telemetry import logs
from parley.telemetry.metrics import HTTP_REQUEST_SECONDS

REQUEST_ID_HEADER = b"x-request-id"  # as ASGI gives header names: lower case
# An incoming id is kept when it is this sane (a proxy's or a client's), else one is made.
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# What requests no route matched are counted under (404s; a mount counts under its own path).
UNMATCHED = "unmatched"


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/spaces/{space_id}`), else UNMATCHED."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


async def note_path_params(connection: HTTPConnection) -> None:
    """An app-wide dependency: the space a request is about (its `space_id` path parameter) goes
    into the log context once routing has found it."""
    space_id = connection.path_params.get("space_id")
    if isinstance(space_id, str) and space_id.isdigit():
        logs.SPACE_ID.set(int(space_id))
    elif isinstance(space_id, int):
        logs.SPACE_ID.set(space_id)


class RequestTelemetry:
    """Outermost middleware: sees every request and its final status (an unhandled exception
    counts as the 500 the error handler outside it answers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        tokens = (
            logs.REQUEST_ID.set(request_id),
            logs.SPACE_ID.set(None),
            logs.USER_ID.set(None),
        )
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
        else:
            await self._http(scope, receive, send, request_id)
        # Reset once answered; not when an exception goes out: the error handler outside this
        # middleware logs it, and its line must carry the request's context (each request runs
        # in a task of its own, so nothing leaks into the next).
        logs.USER_ID.reset(tokens[2])
        logs.SPACE_ID.reset(tokens[1])
        logs.REQUEST_ID.reset(tokens[0])

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        status = 500
        header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            HTTP_REQUEST_SECONDS.labels(
                scope["method"], route_template(scope), str(status)
            ).observe(time.perf_counter() - started)
