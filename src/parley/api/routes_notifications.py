"""Notifications (issue 13, docs/notifications.md): the bell's list, read marks, the user's
channels and quiet hours, Web Push subscriptions, one-click email unsubscribe, and the user's own
socket that pushes what they are told as it happens."""

from __future__ import annotations

import contextlib
import html
import json
from datetime import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, WebSocket, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect

from parley.actions import deliver, notify
from parley.actions.base import Services
from parley.api.auth import SESSION_COOKIE, ServicesDep, UserDep, authenticate, client_address
from parley.api.feed import serve_subscriber
from parley.api.schemas import Body, NoticesReadBody
from parley.api.ws import same_origin
from parley.domain.errors import AtCapacity, DomainError, Forbidden, NotAuthenticated, RateLimited
from parley.domain.views import NotificationSettingsView, NotificationView
from parley.room.inbox import UserInbox

router = APIRouter(tags=["notifications"])

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429
CLOSE_FULL = 4503


class NotificationsOut(BaseModel):
    notifications: list[NotificationView]
    unread: int


class NotificationSettingsOut(BaseModel):
    settings: NotificationSettingsView


class NotificationSettingsBody(Body):
    """What to change; what is left out stays. `quiet_start`/`quiet_end` as HH:MM in
    `time_zone` (both null: no quiet hours); `email` "" removes the address."""

    channels: (
        dict[Annotated[str, Field(max_length=16)], list[Annotated[str, Field(max_length=16)]]]
        | None
    ) = Field(default=None, max_length=16)
    quiet_start: time | None = None
    quiet_end: time | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    dm_policy: str | None = Field(default=None, max_length=16)


class PushKeys(Body):
    p256dh: str = Field(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$")
    auth: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_=-]+$")


class PushSubscriptionBody(Body):
    """A browser's `PushSubscription.toJSON()` (endpoint and keys)."""

    endpoint: str = Field(min_length=10, max_length=1024)
    keys: PushKeys
    expirationTime: float | None = None


class PushEndpointBody(Body):
    # Printable ASCII, as every endpoint kept is (a NUL reached PostgreSQL: a 500).
    endpoint: str = Field(min_length=10, max_length=1024, pattern=r"^[!-~]+$")


class PushKeyOut(BaseModel):
    # The VAPID public key, base64url (pushManager.subscribe's applicationServerKey).
    public_key: str


@router.get("/api/notifications")
async def list_notifications(services: ServicesDep, user: UserDep) -> NotificationsOut:
    found, unread = await notify.notifications(services, user.id)
    return NotificationsOut(notifications=found, unread=unread)


@router.post("/api/notifications/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(body: NoticesReadBody, services: ServicesDep, user: UserDep) -> None:
    """Marks the notifications named read (none named: all)."""
    services.take("notifications-read", user.id, burst=60.0, rate_per_s=2.0)
    await notify.mark_read(services, user.id, body.ids)


@router.get("/api/notifications/settings")
async def get_settings(services: ServicesDep, user: UserDep) -> NotificationSettingsOut:
    return NotificationSettingsOut(settings=await deliver.settings_of(services, user.id))


@router.patch("/api/notifications/settings")
async def change_settings(
    body: NotificationSettingsBody, services: ServicesDep, user: UserDep
) -> NotificationSettingsOut:
    services.take("notification-settings", user.id, burst=20.0, rate_per_s=0.5)
    if body.email:
        # Each address given is sent a confirmation: not a way to flood someone's inbox.
        services.take("email-confirmations", user.id, burst=3.0, rate_per_s=1 / 600)
    sent = body.model_fields_set
    quiet = (body.quiet_start, body.quiet_end) if sent & {"quiet_start", "quiet_end"} else None
    view = await deliver.change_settings(
        services,
        user.id,
        channels=body.channels,
        quiet=quiet,
        time_zone=body.time_zone,
        email=body.email or None,
        clear_email=body.email == "",
        dm_policy=body.dm_policy,
    )
    return NotificationSettingsOut(settings=view)


@router.get("/api/push/key")
async def push_key(request: Request) -> PushKeyOut:
    return PushKeyOut(public_key=request.app.state.vapid_public_key)


@router.post("/api/push/subscriptions", status_code=status.HTTP_204_NO_CONTENT)
async def subscribe(body: PushSubscriptionBody, services: ServicesDep, user: UserDep) -> None:
    services.take("push-subscribe", user.id, burst=10.0, rate_per_s=0.1)
    await deliver.subscribe_push(
        services, user.id, endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth
    )


@router.post("/api/push/subscriptions/remove", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(body: PushEndpointBody, services: ServicesDep, user: UserDep) -> None:
    services.take("push-subscribe", user.id, burst=10.0, rate_per_s=0.1)
    await deliver.unsubscribe_push(services, user.id, body.endpoint)


UserQuery = Annotated[int, Query(ge=1, le=2_147_483_647)]
TokenQuery = Annotated[str, Query(min_length=1, max_length=64)]


@router.get("/api/notifications/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_page(user: UserQuery, token: TokenQuery) -> HTMLResponse:
    """The page an email's link opens: one button (a link alone must not unsubscribe: mail
    scanners follow links)."""
    action = html.escape(f"/api/notifications/unsubscribe?user={user}&token={token}")
    page = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        "<title>Unsubscribe - Parley</title><body style='font-family:system-ui;margin:2rem'>"
        "<h1>No more email from Parley?</h1><p>You will still see notifications in the app."
        f"<form method=post action='{action}'><button>Unsubscribe from all email</button>"
        "</form></body>"
    )
    return HTMLResponse(page)


@router.post("/api/notifications/unsubscribe")
async def unsubscribe_email(
    request: Request, services: ServicesDep, user: UserQuery, token: TokenQuery
) -> Response:
    """One-click unsubscribe (RFC 8058): mail clients POST `List-Unsubscribe=One-Click`."""
    services.take("unsubscribe", client_address(request), burst=20.0, rate_per_s=0.2)
    await deliver.unsubscribe(services, user, token)
    return HTMLResponse("<!doctype html><meta charset=utf-8><p>Unsubscribed: no more email.")


@router.get("/api/notifications/confirm-email", response_class=HTMLResponse)
async def confirm_email_page(user: UserQuery, token: TokenQuery) -> HTMLResponse:
    """The page a confirmation email's link opens: one button (mail scanners follow links)."""
    action = html.escape(f"/api/notifications/confirm-email?user={user}&token={token}")
    page = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        "<title>Confirm your email - Parley</title><body style='font-family:system-ui;"
        "margin:2rem'><h1>Send Parley's notifications to this address?</h1>"
        f"<form method=post action='{action}'><button>Yes, confirm my email address</button>"
        "</form></body>"
    )
    return HTMLResponse(page)


@router.post("/api/notifications/confirm-email")
async def confirm_email(
    request: Request, services: ServicesDep, user: UserQuery, token: TokenQuery
) -> Response:
    """The confirmation link's button: the address is confirmed; 403 for a link that is not
    the user's current address's."""
    services.take("confirm-email", client_address(request), burst=20.0, rate_per_s=0.2)
    address = await deliver.confirm_email(services, user, token)
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><p>Confirmed: notifications you chose to get by "
        f"email go to {html.escape(address)}."
    )


@router.websocket("/api/me/socket")
async def user_socket(websocket: WebSocket) -> None:
    """The user's own socket (docs/websocket.md): `hello` with the unread count, then each
    notification and direct message as it comes."""
    services: Services = websocket.app.state.services
    inbox: UserInbox = websocket.app.state.inbox
    await websocket.accept()
    try:
        services.take("user-socket-open", client_address(websocket), burst=20.0, rate_per_s=1.0)
        auth = await authenticate(
            services, websocket.headers.get("authorization"), websocket.cookies.get(SESSION_COOKIE)
        )
        if auth is None:
            raise NotAuthenticated("sign in first")
    except (NotAuthenticated, RateLimited, Forbidden) as refused:
        code = {NotAuthenticated: CLOSE_UNAUTHENTICATED, RateLimited: CLOSE_TOO_MANY}.get(
            type(refused), CLOSE_FORBIDDEN
        )
        await websocket.close(code, refused.message[:120])
        return
    if auth.csrf_token is not None and not same_origin(websocket, services.settings.public_url):
        await websocket.close(CLOSE_FORBIDDEN, "cross-origin socket")
        return
    try:
        subscriber = inbox.open(auth.user.id, auth.credential)
    except RateLimited as refused:
        await websocket.close(CLOSE_TOO_MANY, refused.message)
        return
    except AtCapacity as refused:
        await websocket.close(CLOSE_FULL, refused.message)
        return
    try:
        # After the subscription: what is told from now on arrives, and the count includes
        # what came before (a notification between the two is counted and also sent: the
        # client's list dedupes by id).
        try:
            _, unread = await notify.notifications(services, auth.user.id)
        except DomainError:
            return
        await websocket.send_text(json.dumps({"type": "hello", "unread": unread}))
        await serve_subscriber(websocket, subscriber)
    except WebSocketDisconnect:
        pass
    finally:
        inbox.close(auth.user.id, subscriber)
        with contextlib.suppress(Exception):
            await websocket.close()
