"""Builds the client-facing views (domain/views.py) from rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from parley.domain import avatars
from parley.domain.moderation import FOREVER, in_force
from parley.domain.pins import PinKind
from parley.domain.space import SpaceState, SpeakerPolicy
from parley.domain.stage import Role, StageRequest
from parley.domain.views import (
    AccountView,
    AuditEntryView,
    CaptionLineView,
    MemberView,
    NoticeView,
    PinView,
    Profile,
    SanctionView,
    SpaceView,
    UserBrief,
)
from parley.store import repo
from parley.store.models import (
    AuditEntry,
    CaptionLine,
    Notice,
    Pin,
    Sanction,
    Space,
    SpaceMember,
    User,
)


def _avatar_url(user: User) -> str | None:
    # `has_avatar` is read with the row; a user inserted in this session has not loaded it (and
    # has no picture yet): reading it from the object would try the database again.
    if not inspect(user).dict.get("has_avatar", False):
        return None
    return avatars.avatar_url(user.handle, user.avatar_version)


def user_brief(user: User) -> UserBrief:
    return UserBrief(
        id=user.id,
        handle=user.handle,
        display_name=user.display_name,
        avatar_url=_avatar_url(user),
    )


async def profile(session: AsyncSession, user: User, viewer_id: int | None) -> Profile:
    viewer = viewer_id if viewer_id is not None and viewer_id != user.id else None
    return Profile(
        id=user.id,
        handle=user.handle,
        display_name=user.display_name,
        avatar_url=_avatar_url(user),
        bio=user.bio,
        follower_count=await repo.follower_count(session, user.id),
        following_count=await repo.following_count(session, user.id),
        followed_by_me=viewer is not None and await repo.follows(session, viewer, user.id),
        follows_me=viewer is not None and await repo.follows(session, user.id, viewer),
        blocked_by_me=viewer is not None and await repo.blocks(session, viewer, user.id),
        is_me=viewer_id == user.id,
    )


def _space_view(space: Space, host: User, listener_count: int, stage_count: int) -> SpaceView:
    return SpaceView(
        id=space.id,
        title=space.title,
        topics=list(space.topics),
        speaker_policy=SpeakerPolicy(space.speaker_policy),
        state=SpaceState(space.state),
        host=user_brief(host),
        scheduled_for=space.scheduled_for,
        started_at=space.started_at,
        ended_at=space.ended_at,
        created_at=space.created_at,
        listener_count=listener_count,
        stage_count=stage_count,
        record=space.record,
        accounts_required=space.accounts_required,
        captions=space.captions,
        caption_language=space.caption_language,
    )


async def space_view(session: AsyncSession, space: Space) -> SpaceView:
    return (await space_views(session, [space]))[0]


async def space_views(session: AsyncSession, spaces: Sequence[Space]) -> list[SpaceView]:
    ids = [space.id for space in spaces]
    hosts = await repo.users_by_id(session, [space.host_id for space in spaces])
    listeners = await repo.listener_counts(session, ids)
    stage = await repo.stage_counts(session, ids)
    return [
        _space_view(space, hosts[space.host_id], listeners.get(space.id, 0), stage.get(space.id, 0))
        for space in spaces
    ]


def member_view_of(row: SpaceMember, user: User) -> MemberView:
    return MemberView(
        user=user_brief(user),
        role=Role(row.role),
        muted=row.muted,
        stage_request=StageRequest(row.stage_request),
        connected=row.connections > 0,
        mic_live=row.mic_live,
        captioned=row.captioned,
    )


async def member_view(session: AsyncSession, row: SpaceMember) -> MemberView:
    return (await member_views(session, [row]))[0]


async def member_views(session: AsyncSession, rows: Sequence[SpaceMember]) -> list[MemberView]:
    users = await repo.users_by_id(session, [row.user_id for row in rows])
    return [member_view_of(row, users[row.user_id]) for row in rows]


def pin_view(pin: Pin) -> PinView:
    return PinView(
        id=pin.id, kind=PinKind(pin.kind), text=pin.text, url=pin.url, created_at=pin.created_at
    )


def caption_line_view(row: CaptionLine) -> CaptionLineView:
    return CaptionLineView(
        id=row.number,
        user_id=row.user_id,
        start_s=row.start_ms / 1000,
        end_s=row.end_ms / 1000,
        text=row.text,
        final=True,
    )


def _until(value: datetime | None) -> datetime | None:
    """FOREVER is shown as None (for good); an end already passed as None (none in force)."""
    return None if value is None or value >= FOREVER else value


def audit_entry_view(row: AuditEntry) -> AuditEntryView:
    details = row.details or {}
    return AuditEntryView(
        id=row.id,
        created_at=row.created_at,
        actor_id=row.actor_id,
        actor_handle=details.get("actor_handle"),
        actor_role=row.actor_role,
        action=row.action,
        target_user_id=row.target_user_id,
        target_handle=details.get("target_handle"),
        space_id=row.space_id,
        report_id=row.report_id,
        reason=row.reason,
    )


def sanction_view(row: Sanction, now: datetime) -> SanctionView:
    ends = row.ends_at
    return SanctionView(
        id=row.id,
        kind=row.kind,
        reason=row.reason,
        created_at=row.created_at,
        ends_at=None if ends is None or ends >= FOREVER else ends,
        lifted_at=row.lifted_at,
        in_force=row.lifted_at is None and ends is not None and in_force(ends, now),
    )


def notice_view(row: Notice) -> NoticeView:
    return NoticeView(
        id=row.id,
        kind=row.kind,
        text=row.text,
        report_id=row.report_id,
        created_at=row.created_at,
        read=row.read_at is not None,
    )


def account_view(user: User, now: datetime) -> AccountView:
    def current(until: datetime | None) -> datetime | None:
        if until is None or not in_force(until, now):
            return None
        return until

    return AccountView(
        user=user_brief(user),
        role=user.role,
        state=user.state,
        created_at=user.created_at,
        suspended_until=current(user.suspended_until),
        hosting_restricted_until=current(user.hosting_restricted_until),
    )
