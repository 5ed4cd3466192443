"""Spaces: lifecycle, discovery, the stage, pins and reactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from parley.actions import captions, room, schedule, sharing, spaces, stage
from parley.actions.stage import MemberVerb, SelfVerb
from parley.api.auth import OptionalUserDep, ServicesDep, UserDep
from parley.api.schemas import (
    CreateSpaceBody,
    Id,
    ListenersOut,
    MemberOut,
    PinBody,
    PinOut,
    ReactionBody,
    SpaceOut,
    SpacePatch,
    SpacesOut,
    SpaceWithMeOut,
)
from parley.domain.space import SpaceState

router = APIRouter(prefix="/api/spaces", tags=["spaces"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_space(body: CreateSpaceBody, services: ServicesDep, user: UserDep) -> SpaceOut:
    language = captions.check_language(services, body.caption_language)
    view = await spaces.create_space(
        services,
        user.id,
        title=body.title,
        topics=body.topics,
        speaker_policy=body.speaker_policy,
        scheduled_for=body.scheduled_for,
        record=body.record,
        accounts_required=body.accounts_required,
        captions=body.captions,
        caption_language=language,
    )
    return SpaceOut(space=view)


@router.get("")
async def discover(
    services: ServicesDep,
    viewer: OptionalUserDep,
    state: Annotated[SpaceState, Query()] = SpaceState.LIVE,
) -> SpacesOut:
    found = await spaces.discover(services, state, viewer.id if viewer is not None else None)
    return SpacesOut(spaces=found)


@router.get("/{space_id}")
async def get_space(space_id: Id, services: ServicesDep, viewer: OptionalUserDep) -> SpaceWithMeOut:
    """Anyone, signed in or not, may read what a space's link shows: the space, its stage and
    whether a replay is published; `me` is the viewer's membership (null for visitors)."""
    page = await spaces.get_space(services, space_id, viewer.id if viewer else None)
    return SpaceWithMeOut(
        space=page.space,
        me=page.me,
        stage=page.stage,
        replay_published=page.replay_published,
        open_to_visitors=page.open_to_visitors,
        reminded=page.reminded,
        reminders=page.reminders,
        reposted=await sharing.reposted(services, space_id, viewer.id if viewer else None),
    )


@router.patch("/{space_id}")
async def edit_space(
    space_id: Id, body: SpacePatch, services: ServicesDep, user: UserDep
) -> SpaceOut:
    """Changes to a scheduled or live space: `accounts_required` (the host's), `captions` and
    `caption_language` (the host's or a co-host's); a scheduled space's `title`, `topics` and
    `scheduled_for` (the host's)."""
    view = None
    if body.title is not None or body.topics is not None or body.scheduled_for is not None:
        services.take("space edits", user.id, burst=10.0, rate_per_s=0.2)
        view = await schedule.edit_space(
            services,
            space_id,
            user.id,
            title=body.title,
            topics=body.topics,
            scheduled_for=body.scheduled_for,
        )
    if body.accounts_required is not None:
        view = await spaces.set_accounts_required(
            services, space_id, user.id, accounts_required=body.accounts_required
        )
    if body.captions is not None or body.caption_language is not None:
        services.take("caption changes", user.id, burst=10.0, rate_per_s=0.5)
        view = await captions.set_captions(
            services,
            space_id,
            user.id,
            captions=body.captions,
            language=body.caption_language,
        )
    if view is None:
        view = (await spaces.get_space(services, space_id, user.id)).space
    return SpaceOut(space=view)


@router.post("/{space_id}/start")
async def start_space(space_id: Id, services: ServicesDep, user: UserDep) -> SpaceOut:
    return SpaceOut(space=await spaces.start_space(services, space_id, user.id))


@router.post("/{space_id}/end")
async def end_space(space_id: Id, services: ServicesDep, user: UserDep) -> SpaceOut:
    return SpaceOut(space=await spaces.end_space(services, space_id, user.id))


@router.post("/{space_id}/cancel")
async def cancel_space(space_id: Id, services: ServicesDep, user: UserDep) -> SpaceOut:
    return SpaceOut(space=await spaces.cancel_space(services, space_id, user.id))


@router.post("/{space_id}/join")
async def join_space(space_id: Id, services: ServicesDep, user: UserDep) -> MemberOut:
    return MemberOut(member=await spaces.join_space(services, space_id, user.id))


@router.get("/{space_id}/listeners")
async def listeners(
    space_id: Id,
    services: ServicesDep,
    user: UserDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ListenersOut:
    """Who is listening: for members of the space (not removed, not blocked by its host)."""
    found, total = await spaces.listeners(services, space_id, user.id, offset=offset, limit=limit)
    return ListenersOut(listeners=found, total=total)


@router.post("/{space_id}/me/{verb}")
async def act_on_self(
    space_id: Id, verb: SelfVerb, services: ServicesDep, user: UserDep
) -> MemberOut:
    return MemberOut(member=await stage.act_on_self(services, space_id, user.id, verb))


@router.post("/{space_id}/members/{user_id}/{verb}")
async def act_on_member(
    space_id: Id, user_id: Id, verb: MemberVerb, services: ServicesDep, user: UserDep
) -> MemberOut:
    view = await stage.act_on_member(services, space_id, user.id, user_id, verb)
    return MemberOut(member=view)


@router.post("/{space_id}/reactions", status_code=status.HTTP_202_ACCEPTED)
async def react(space_id: Id, body: ReactionBody, services: ServicesDep, user: UserDep) -> None:
    await room.react(services, space_id, user.id, body.emoji)


@router.post("/{space_id}/pins", status_code=status.HTTP_201_CREATED)
async def add_pin(space_id: Id, body: PinBody, services: ServicesDep, user: UserDep) -> PinOut:
    return PinOut(pin=await room.add_pin(services, space_id, user.id, text=body.text, url=body.url))


@router.delete("/{space_id}/pins/{pin_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_pin(space_id: Id, pin_id: Id, services: ServicesDep, user: UserDep) -> None:
    await room.remove_pin(services, space_id, user.id, pin_id)
