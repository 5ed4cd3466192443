"""Who is calling: a session cookie (with CSRF on every change) or a Bearer API token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.requests import HTTPConnection

from parley.actions import accounts
from parley.actions.accounts import Authenticated, NewSession
from parley.actions.base import Services
from parley.domain.errors import Forbidden, NotAuthenticated
from parley.store.models import User
from parley.telemetry import logs

SESSION_COOKIE = "parley_session"
CSRF_COOKIE = "parley_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def client_address(connection: HTTPConnection) -> str:
    """Whom a signed-out client's rate limits and caps count: its address, as uvicorn reports it
    (behind a proxy on another machine, set FORWARDED_ALLOW_IPS so that it reads the proxy's
    X-Forwarded-For)."""
    return f"client:{connection.client.host if connection.client else 'unknown'}"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticate(
    services: Services, authorization: str | None, session_token: str | None
) -> Authenticated | None:
    found: Authenticated | None = None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        found = await accounts.authenticate_token(services, token.strip())
        if found is None:
            raise NotAuthenticated("unknown or revoked API token")
    elif session_token:
        found = await accounts.authenticate_session(services, session_token)
    if found is not None:
        # The one place a request learns who calls: its log lines name them from here on.
        logs.USER_ID.set(found.user.id)
    return found


async def optional_auth(request: Request, services: ServicesDep) -> Authenticated | None:
    return await authenticate(
        services, request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
    )


async def current_auth(
    request: Request, auth: Annotated[Authenticated | None, Depends(optional_auth)]
) -> Authenticated:
    if auth is None:
        raise NotAuthenticated("sign in first")
    if request.method not in SAFE_METHODS and auth.csrf_token is not None:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), auth.csrf_token.encode()):
            raise CsrfFailed(f"missing or wrong {CSRF_HEADER} header")
    return auth


async def current_user(auth: Annotated[Authenticated, Depends(current_auth)]) -> User:
    return auth.user


async def optional_user(
    auth: Annotated[Authenticated | None, Depends(optional_auth)],
) -> User | None:
    return auth.user if auth is not None else None


UserDep = Annotated[User, Depends(current_user)]
# The caller and the credential they used (what it opens closes when it is revoked).
AuthDep = Annotated[Authenticated, Depends(current_auth)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]


def set_session_cookies(response: Response, services: Services, new: NewSession) -> None:
    max_age = services.settings.session_days * 86400
    secure = services.settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE, new.token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    # Readable by the page's scripts, which echo it in the CSRF header.
    response.set_cookie(
        CSRF_COOKIE, new.csrf_token, max_age=max_age, httponly=False, samesite="lax", secure=secure
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
