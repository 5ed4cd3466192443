"""Accounts, tokens and the social graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from parley.actions import accounts, social
from parley.api.auth import (
    SESSION_COOKIE,
    OptionalUserDep,
    ServicesDep,
    UserDep,
    clear_session_cookies,
    set_session_cookies,
)
from parley.api.schemas import (
    Id,
    NewTokenOut,
    ProfilePatch,
    SignInBody,
    SignUpBody,
    TokenBody,
    TokenInfo,
    TokensOut,
    UserOut,
)
from parley.domain.errors import NotFound
from parley.store import repo, views
from parley.store.models import User

router = APIRouter(prefix="/api")


def _signin_limiter(request: Request) -> accounts.SigninLimiter:
    limiter: accounts.SigninLimiter = request.app.state.signin_limiter
    return limiter


SigninLimiterDep = Annotated[accounts.SigninLimiter, Depends(_signin_limiter)]


def _address(request: Request) -> str:
    """The client address, as uvicorn reports it (behind a proxy: FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


async def _profile_out(services: ServicesDep, user: User, viewer_id: int | None) -> UserOut:
    async with services.store.read() as session:
        return UserOut(user=await views.profile(session, user, viewer_id))


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, tags=["accounts"])
async def sign_up(
    body: SignUpBody,
    request: Request,
    response: Response,
    services: ServicesDep,
    limiter: SigninLimiterDep,
) -> UserOut:
    """Limited per client address: see docs/api.md "Sign-in and sign-up limits"."""
    new = await accounts.sign_up(
        services,
        limiter,
        address=_address(request),
        handle=body.handle,
        display_name=body.display_name,
        password=body.password,
        invite_code=body.invite_code,
    )
    if new is None:
        # Made, and waiting for an admin: no session until then.
        pending = await _profile_out(
            services, await accounts.user_by_handle(services, body.handle), None
        )
        return pending.model_copy(update={"pending_approval": True})
    set_session_cookies(response, services, new)
    return await _profile_out(services, new.user, new.user.id)


@router.post("/auth/signin", tags=["accounts"])
async def sign_in(
    body: SignInBody,
    request: Request,
    response: Response,
    services: ServicesDep,
    limiter: SigninLimiterDep,
) -> UserOut:
    """Limited per client address and per handle: see docs/api.md "Sign-in and sign-up
    limits"."""
    new = await accounts.sign_in(
        services, limiter, address=_address(request), handle=body.handle, password=body.password
    )
    set_session_cookies(response, services, new)
    return await _profile_out(services, new.user, new.user.id)


@router.post("/auth/signout", status_code=status.HTTP_204_NO_CONTENT, tags=["accounts"])
async def sign_out(request: Request, services: ServicesDep, _user: UserDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await accounts.sign_out(services, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response)
    return response


@router.get("/me", tags=["accounts"])
async def me(services: ServicesDep, user: UserDep) -> UserOut:
    """One's own profile, with one's instance role (the web client shows the desk to staff)."""
    out = await _profile_out(services, user, user.id)
    return out.model_copy(update={"role": user.role})


@router.patch("/me", tags=["accounts"])
async def update_me(body: ProfilePatch, services: ServicesDep, user: UserDep) -> UserOut:
    updated = await accounts.update_profile(
        services, user.id, display_name=body.display_name, bio=body.bio
    )
    return await _profile_out(services, updated, user.id)


@router.get("/me/tokens", tags=["accounts"])
async def list_tokens(services: ServicesDep, user: UserDep) -> TokensOut:
    rows = await accounts.list_api_tokens(services, user.id)
    return TokensOut(
        tokens=[TokenInfo(id=row.id, name=row.name, created_at=row.created_at) for row in rows]
    )


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED, tags=["accounts"])
async def create_token(body: TokenBody, services: ServicesDep, user: UserDep) -> NewTokenOut:
    row, token = await accounts.create_api_token(services, user.id, body.name)
    return NewTokenOut(id=row.id, name=row.name, created_at=row.created_at, token=token)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["accounts"])
async def revoke_token(token_id: Id, services: ServicesDep, user: UserDep) -> None:
    await accounts.revoke_api_token(services, user.id, token_id)


@router.get("/users/{handle}", tags=["social"])
async def get_user(handle: str, services: ServicesDep, viewer: OptionalUserDep) -> UserOut:
    async with services.store.read() as session:
        user = await repo.user_by_handle(session, handle)
        if user is None:
            raise NotFound(f"no user @{handle}")
        return UserOut(
            user=await views.profile(session, user, viewer.id if viewer is not None else None)
        )


@router.put("/users/{handle}/follow", status_code=status.HTTP_204_NO_CONTENT, tags=["social"])
async def follow(handle: str, services: ServicesDep, user: UserDep) -> None:
    await social.follow(services, user.id, handle)


@router.delete("/users/{handle}/follow", status_code=status.HTTP_204_NO_CONTENT, tags=["social"])
async def unfollow(handle: str, services: ServicesDep, user: UserDep) -> None:
    await social.unfollow(services, user.id, handle)


@router.put("/users/{handle}/block", status_code=status.HTTP_204_NO_CONTENT, tags=["social"])
async def block(handle: str, services: ServicesDep, user: UserDep) -> None:
    await social.block(services, user.id, handle)


@router.delete("/users/{handle}/block", status_code=status.HTTP_204_NO_CONTENT, tags=["social"])
async def unblock(handle: str, services: ServicesDep, user: UserDep) -> None:
    await social.unblock(services, user.id, handle)
