"""Profile pictures: a user sets or removes their own; anyone reads anyone's."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable
from dataclasses import dataclass

from sqlalchemy import select

from parley.actions.base import Services, change
from parley.domain import accounts as account_rules
from parley.domain import avatars as rules
from parley.domain.errors import NotFound
from parley.media import pictures
from parley.store.models import User


@dataclass(frozen=True)
class StoredAvatar:
    data: bytes
    version: int
    # A strong validator of these bytes (RFC 9110 s8.8.3): the digest of the content.
    etag: str
    media_type: str = rules.AVATAR_MEDIA_TYPE


async def _read_upload(body: AsyncIterable[bytes]) -> bytes:
    """The upload, refused (413) as soon as it passes the limit, without reading the rest."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in body:
        received += len(chunk)
        rules.check_upload_bytes(received)
        chunks.append(chunk)
    rules.check_not_empty(received)
    return b"".join(chunks)


async def set_avatar(
    services: Services,
    user_id: int,
    body: AsyncIterable[bytes],
    *,
    content_type: str | None,
    declared_bytes: int | None,
) -> User:
    """The user's new picture from an upload of one of the types we take (domain/avatars.py).

    Everything that can refuse it (type, size, rate, decoding) runs before the one write, which
    stores the picture and its new version together.
    """
    rules.check_content_type(content_type)
    if declared_bytes is not None:
        rules.check_upload_bytes(declared_bytes)
    settings = services.settings
    services.take(
        "picture changes",
        user_id,
        burst=settings.avatar_burst,
        rate_per_s=settings.avatar_rate_per_s,
    )
    upload = await _read_upload(body)
    # Decoding and encoding are CPU work: a worker thread, never the event loop.
    picture = await asyncio.to_thread(pictures.make_avatar, upload)
    async with change(services) as unit:
        # Locked: two uploads at once must not both take the same next version (PostgreSQL).
        user = await unit.session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("no such user")
        user.avatar = picture
        user.avatar_version += 1
        await unit.session.flush()
        await unit.session.refresh(user, ["has_avatar"])
    return user


async def remove_avatar(services: Services, user_id: int) -> User:
    """Back to initials. Removing no picture changes nothing (and keeps the version)."""
    async with change(services) as unit:
        user = await unit.session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("no such user")
        if user.has_avatar:
            user.avatar = None
            user.avatar_version += 1
            await unit.session.flush()
            await unit.session.refresh(user, ["has_avatar"])
    return user


async def avatar(services: Services, handle: str) -> StoredAvatar:
    """Someone's picture, by handle (any text: one that cannot be a handle names nobody)."""
    if not account_rules.HANDLE_RE.fullmatch(handle):
        # Never sent to the store (PostgreSQL refuses text with NUL in it, for one) nor echoed.
        raise NotFound("no such user")
    async with services.store.read() as session:
        row = (
            await session.execute(
                select(User.avatar, User.avatar_version).where(
                    User.handle_key == account_rules.normalize_handle(handle)
                )
            )
        ).first()
    if row is None:
        raise NotFound(f"no user @{handle}")
    data, version = row
    if data is None:
        raise NotFound(f"@{handle} has no picture")
    digest = hashlib.sha256(data).hexdigest()[:32]
    return StoredAvatar(data=data, version=version, etag=f'"{digest}"')
