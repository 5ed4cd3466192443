"""Sign up, sign in and out, sessions, personal API tokens, profiles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parley.actions.base import Change, Clock, Services, change
from parley.bus.channels import access_revoked_notice
from parley.config import Settings
from parley.domain import accounts as rules
from parley.domain import moderation as moderation_rules
from parley.domain.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PendingApproval,
    Suspended,
)
from parley.domain.moderation import AccountState, SignupMode
from parley.domain.signin_limits import Backoff, SigninLimits, SigninPolicy
from parley.store import repo
from parley.store.models import ApiToken, AuthSession, InviteCode, User

API_TOKEN_PREFIX = "pat_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SigninLimiter(Protocol):
    """Counts sign-ins and sign-ups (domain/signin_limits.py): each method may raise RateLimited.
    This node's memory for now; a shared store later makes the counts cluster-wide."""

    async def sign_up(self, address: str) -> None: ...

    async def signed_up(self, address: str, handle: str) -> None: ...

    async def sign_in(self, address: str, handle: str) -> None: ...

    async def failed(self, address: str, handle: str) -> None: ...

    async def succeeded(self, address: str, handle: str) -> None: ...


class NodeSigninLimiter:
    """The counts in this node's memory, on the services' clock (tests move it)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.clock = clock
        self.limits = SigninLimits(
            SigninPolicy(
                address_burst=settings.auth_address_burst,
                address_rate_per_s=settings.auth_address_rate_per_s,
                signup_burst=settings.signup_address_burst,
                signup_rate_per_s=settings.signup_address_rate_per_s,
                per_address=Backoff(settings.signin_free_failures, settings.signin_max_wait_s),
                per_account=Backoff(
                    settings.signin_account_free_failures, settings.signin_max_wait_s
                ),
            )
        )

    def _now_s(self) -> float:
        return self.clock().timestamp()

    async def sign_up(self, address: str) -> None:
        self.limits.sign_up(address, self._now_s())

    async def signed_up(self, address: str, handle: str) -> None:
        self.limits.signed_up(address, handle, self._now_s())

    async def sign_in(self, address: str, handle: str) -> None:
        self.limits.sign_in(address, handle, self._now_s())

    async def failed(self, address: str, handle: str) -> None:
        self.limits.failed(address, handle, self._now_s())

    async def succeeded(self, address: str, handle: str) -> None:
        self.limits.succeeded(address, handle, self._now_s())


# A hash of a password nobody has, per argon2 parameters: what a handle that does not exist is
# checked against, so that its answer takes as long as a wrong password's.
_unknown_hashes: dict[tuple[int, int, int, int, int], str] = {}


async def _unknown_user_hash(services: Services) -> str:
    hasher = services.passwords
    params = (
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.hash_len,
        hasher.salt_len,
    )
    found = _unknown_hashes.get(params)
    if found is None:
        found = _unknown_hashes[params] = await services.hash_password(secrets.token_urlsafe(32))
    return found


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
    # Which credential it was ("session:ID" or "token:ID"): what it opened (sockets, media
    # sessions) closes when it is revoked.
    credential: str = ""


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
    services: Services,
    limiter: SigninLimiter,
    *,
    address: str,
    handle: str,
    display_name: str,
    password: str,
    invite_code: str | None = None,
) -> NewSession | None:
    """A new account and its first session; None when the account waits for an admin's
    approval (the instance's sign-up mode, docs/moderation.md), which opens no session."""
    # Counted before anything is checked: a refused sign-up costs the address as much.
    await limiter.sign_up(address)
    handle = rules.check_handle(handle)
    display_name = rules.check_display_name(display_name)
    rules.check_password(password)
    mode = SignupMode(services.settings.signup_mode)
    if mode is SignupMode.INVITE:
        moderation_rules.check_signup(mode, invite_valid=None if not invite_code else True)
    password_hash = await services.hash_password(password)
    try:
        async with change(services) as unit:
            if await repo.user_by_handle(unit.session, handle) is not None:
                raise Conflict("that handle is taken", rule="unique", field="handle")
            valid = None
            if mode is SignupMode.INVITE and invite_code:
                valid = await _use_invite(unit, invite_code)
            state = moderation_rules.check_signup(mode, invite_valid=valid)
            user = User(
                handle=handle,
                handle_key=rules.normalize_handle(handle),
                display_name=display_name,
                bio="",
                password_hash=password_hash,
                created_at=unit.now,
                state=state.value,
            )
            unit.session.add(user)
            await unit.session.flush()
    except IntegrityError:  # two sign-ups raced for one handle
        raise Conflict("that handle is taken", rule="unique", field="handle") from None
    await limiter.signed_up(address, handle)
    if state is AccountState.PENDING:
        return None
    return await _open_session(services, user)


async def _use_invite(unit: Change, code: str) -> bool:
    """Counts one use of an invite code in the sign-up's transaction (the row locked, so two
    sign-ups cannot both take its last use); False if it may not be used."""
    row = await unit.session.get(InviteCode, code, with_for_update=True)
    if row is None or row.uses >= row.max_uses:
        return False
    if row.expires_at is not None and row.expires_at <= unit.now:
        return False
    row.uses += 1
    return True


async def user_by_handle(services: Services, handle: str) -> User:
    async with services.store.read() as session:
        user = await repo.user_by_handle(session, handle)
    if user is None:
        raise NotFound(f"no user @{handle}")
    return user


async def sign_in(
    services: Services, limiter: SigninLimiter, *, address: str, handle: str, password: str
) -> NewSession:
    await limiter.sign_in(address, handle)
    async with services.store.read() as session:
        user = await repo.user_by_handle(session, handle)
    # A handle nobody has costs a hash check all the same: the time of the answer does not tell
    # which handles exist (OWASP authentication cheat sheet).
    password_hash = user.password_hash if user is not None else await _unknown_user_hash(services)
    if not await services.verify_password(password_hash, password) or user is None:
        await limiter.failed(address, handle)
        raise NotAuthenticated("wrong handle or password")
    await limiter.succeeded(address, handle)
    # Said only to whoever knows the password: a suspension is no secret from its owner.
    check_may_act(user, services.clock())
    return await _open_session(services, user)


async def sign_out(services: Services, session_token: str) -> None:
    """Ends the session; once committed, the sockets and media sessions it opened close."""
    async with change(services) as unit:
        row = (
            await unit.session.execute(
                select(AuthSession).where(AuthSession.token_hash == token_hash(session_token))
            )
        ).scalar_one_or_none()
        if row is None:
            return
        await unit.session.delete(row)
        unit.outbox.append(access_revoked_notice(row.user_id, f"session:{row.id}", "signed out"))


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
    check_may_act(user, services.clock())
    return Authenticated(
        user=user, csrf_token=auth_session.csrf_token, credential=f"session:{auth_session.id}"
    )


async def authenticate_token(services: Services, token: str) -> Authenticated | None:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    async with services.store.read() as session:
        row = (
            await session.execute(
                select(User, ApiToken.id)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == token_hash(token))
            )
        ).first()
    if row is None:
        return None
    user, token_id = row
    check_may_act(user, services.clock())
    return Authenticated(user=user, csrf_token=None, credential=f"token:{token_id}")


def check_may_act(user: User, now: datetime) -> None:
    """A suspended account, or one waiting for approval, is refused whatever credential it
    shows (a session made before the suspension, an API token)."""
    if moderation_rules.in_force(user.suspended_until, now):
        assert user.suspended_until is not None
        until = (
            "for good"
            if user.suspended_until >= moderation_rules.FOREVER
            else f"until {user.suspended_until:%Y-%m-%d %H:%M} UTC"
        )
        raise Suspended(f"this account is suspended {until}")
    if user.state == AccountState.PENDING.value:
        raise PendingApproval("this account waits for an admin's approval")


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
        unit.outbox.append(access_revoked_notice(user_id, f"token:{row.id}", "token revoked"))


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
