"""Sign up, sign in and out, sessions, personal API tokens, profiles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from parley.actions.base import Services, change
from parley.domain import accounts as rules
from parley.domain.errors import Conflict, NotAuthenticated, NotFound
from parley.store import repo
from parley.store.models import ApiToken, AuthSession, User

API_TOKEN_PREFIX = "pat_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    user: User
    token: str
    csrf_token: str


@dataclass(frozen=True)
class Authenticated:
    user: User
    # Set for cookie sessions: state-changing requests must echo it (CSRF).
    csrf_token: str | None


async def _open_session(services: Services, user: User) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    async with change(services) as unit:
        unit.session.add(
            AuthSession(
                user_id=user.id,
                token_hash=token_hash(token),
                csrf_token=csrf_token,
                created_at=unit.now,
                expires_at=unit.now + timedelta(days=services.settings.session_days),
            )
        )
    return NewSession(user=user, token=token, csrf_token=csrf_token)


async def sign_up(
    services: Services, *, handle: str, display_name: str, password: str
) -> NewSession:
    handle = rules.check_handle(handle)
    display_name = rules.check_display_name(display_name)
    rules.check_password(password)
    password_hash = await services.hash_password(password)
    try:
        async with change(services) as unit:
            if await repo.user_by_handle(unit.session, handle) is not None:
                raise Conflict("that handle is taken", rule="unique", field="handle")
            user = User(
                handle=handle,
                handle_key=rules.normalize_handle(handle),
                display_name=display_name,
                bio="",
                password_hash=password_hash,
                created_at=unit.now,
            )
            unit.session.add(user)
            await unit.session.flush()
    except IntegrityError:  # two sign-ups raced for one handle
        raise Conflict("that handle is taken", rule="unique", field="handle") from None
    return await _open_session(services, user)


async def sign_in(services: Services, *, handle: str, password: str) -> NewSession:
    async with services.store.read() as session:
        user = await repo.user_by_handle(session, handle)
    if user is None or not await services.verify_password(user.password_hash, password):
        raise NotAuthenticated("wrong handle or password")
    return await _open_session(services, user)


async def sign_out(services: Services, session_token: str) -> None:
    async with change(services) as unit:
        await unit.session.execute(
            delete(AuthSession).where(AuthSession.token_hash == token_hash(session_token))
        )


async def authenticate_session(services: Services, session_token: str) -> Authenticated | None:
    async with services.store.read() as session:
        row = (
            await session.execute(
                select(AuthSession, User)
                .join(User, User.id == AuthSession.user_id)
                .where(AuthSession.token_hash == token_hash(session_token))
            )
        ).first()
    if row is None:
        return None
    auth_session, user = row
    if auth_session.expires_at <= services.clock():
        return None
    return Authenticated(user=user, csrf_token=auth_session.csrf_token)


async def authenticate_token(services: Services, token: str) -> Authenticated | None:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    async with services.store.read() as session:
        user = (
            await session.execute(
                select(User)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == token_hash(token))
            )
        ).scalar_one_or_none()
    return Authenticated(user=user, csrf_token=None) if user is not None else None


async def create_api_token(services: Services, user_id: int, name: str) -> tuple[ApiToken, str]:
    name = rules.check_token_name(name)
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with change(services) as unit:
        row = ApiToken(
            user_id=user_id, name=name, token_hash=token_hash(token), created_at=unit.now
        )
        unit.session.add(row)
        await unit.session.flush()
    return row, token


async def list_api_tokens(services: Services, user_id: int) -> list[ApiToken]:
    async with services.store.read() as session:
        rows = await session.execute(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        )
        return list(rows.scalars())


async def revoke_api_token(services: Services, user_id: int, token_id: int) -> None:
    async with change(services) as unit:
        row = await unit.session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound("no such token")
        await unit.session.delete(row)


async def update_profile(
    services: Services, user_id: int, *, display_name: str | None, bio: str | None
) -> User:
    if display_name is not None:
        display_name = rules.check_display_name(display_name)
    if bio is not None:
        bio = rules.check_bio(bio)
    async with change(services) as unit:
        user = await unit.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        if display_name is not None:
            user.display_name = display_name
        if bio is not None:
            user.bio = bio
    return user
