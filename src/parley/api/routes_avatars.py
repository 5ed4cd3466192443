"""Profile pictures: PUT and DELETE your own, GET (and HEAD) anyone's.

The upload is the picture itself as the request body, typed by Content-Type (what `fetch(url,
{method: "PUT", body: file})` sends), not a multipart form: no form parser holds it, its size is
known from Content-Length before a byte is read, and it streams into the limit check.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from starlette.requests import ClientDisconnect

from parley.actions import avatars
from parley.api.auth import ServicesDep, UserDep
from parley.api.schemas import UserOut
from parley.domain import avatars as rules
from parley.domain.errors import Invalid
from parley.store import views
from parley.store.models import User

router = APIRouter(prefix="/api", tags=["accounts"])

# Served pictures are never run or sniffed as anything else, and the page of one (opened on its
# own) may load nothing and run nothing.
PICTURE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
IMMUTABLE = "public, max-age=31536000, immutable"

_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"the picture, at most {rules.MAX_UPLOAD_BYTES} bytes",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in rules.CONTENT_TYPES
        },
    }
}


async def _profile_out(request: Request, user: User) -> UserOut:
    services = request.app.state.services
    async with services.store.read() as session:
        return UserOut(user=await views.profile(session, user, user.id))


def _declared_bytes(request: Request) -> int | None:
    length = request.headers.get("content-length")
    return int(length) if length is not None and length.isdigit() else None


@router.put("/me/avatar", openapi_extra=_UPLOAD)
async def put_avatar(request: Request, services: ServicesDep, user: UserDep) -> UserOut:
    """Sets your profile picture: PNG, JPEG, WebP or GIF (its first frame), at most 5 MiB and
    25 million pixels. It is stored as a 256 px WebP square, without its metadata."""
    try:
        updated = await avatars.set_avatar(
            services,
            user.id,
            request.stream(),
            content_type=request.headers.get("content-type"),
            declared_bytes=_declared_bytes(request),
        )
    except ClientDisconnect:
        # The uploader left before the whole body came: nothing was written, nobody hears this.
        raise Invalid(
            "body", "incomplete", "the upload ended before the whole body was sent"
        ) from None
    return await _profile_out(request, updated)


@router.delete("/me/avatar")
async def delete_avatar(request: Request, services: ServicesDep, user: UserDep) -> UserOut:
    """Removes your profile picture: initials are shown instead."""
    updated = await avatars.remove_avatar(services, user.id)
    return await _profile_out(request, updated)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 s13.1.2: `*`, or any of the listed tags by weak comparison."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


@router.get(
    "/users/{handle}/avatar",
    response_class=Response,
    responses={200: {"content": {rules.AVATAR_MEDIA_TYPE: {}}}, 304: {"description": "unchanged"}},
)
async def get_avatar(
    handle: str, request: Request, services: ServicesDep, v: str | None = None
) -> Response:
    """Someone's picture. Asked with its current version (`?v=`, as `avatar_url` has it) it may
    be cached for ever; any other URL of it is revalidated (ETag) every time."""
    stored = await avatars.avatar(services, handle)
    headers = {
        **PICTURE_HEADERS,
        "ETag": stored.etag,
        "Cache-Control": IMMUTABLE if rules.is_current(v, stored.version) else "no-cache",
    }
    if etag_matches(request.headers.get("if-none-match"), stored.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(stored.data, media_type=stored.media_type, headers=headers)


# HEAD too (caches and link checkers ask it): the same handler; kept out of the schema.
router.add_api_route(
    "/users/{handle}/avatar", get_avatar, methods=["HEAD"], include_in_schema=False
)
