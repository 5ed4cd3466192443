"""Live captions: switching them, a member's consent, the final lines kept as the transcript, and
who reads and downloads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions.base import Services, change, locked_space
from parley.actions.spaces import present_member
from parley.captions.engines import capabilities
from parley.config import Settings
from parley.domain import captions as rules
from parley.domain import space as space_rules
from parley.domain.errors import Forbidden, NotFound
from parley.domain.events import MemberUpdated, SpaceUpdated
from parley.domain.space import SpaceState
from parley.domain.stage import Role
from parley.domain.views import (
    CaptionLineView,
    MemberView,
    SpaceView,
    TranscriptLineView,
    TranscriptView,
)
from parley.store import repo, views
from parley.store.models import CaptionLine, Space, SpaceMember


def supported_languages(services: Services) -> frozenset[str]:
    return capabilities(services.settings.caption_engine).languages


def check_settings(settings: Settings) -> None:
    """The instance's default language is one its engine transcribes (at start)."""
    supported = capabilities(settings.caption_engine).languages
    if settings.caption_language not in supported:
        raise ValueError(
            f"PARLEY_CAPTION_LANGUAGE={settings.caption_language!r}: "
            f"{settings.caption_engine} does not transcribe it"
        )


def check_language(services: Services, language: str | None) -> str:
    """The language a space is given: the host's pick, checked, or the instance's default."""
    if language is None:
        return services.settings.caption_language
    return rules.check_language(language, supported_languages(services))


async def set_captions(
    services: Services,
    space_id: int,
    actor_id: int,
    *,
    captions: bool | None = None,
    language: str | None = None,
) -> SpaceView:
    """The host or a co-host turns captions on or off, or changes the language (scheduled or live
    spaces). Speakers are told through the space's change (their web client shows it)."""
    checked = check_language(services, language) if language is not None else None
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        actor = await present_member(unit.session, space_id, actor_id)
        rules.require_may_switch(Role(actor.role))
        space_rules.require_joinable(SpaceState(space.state))
        changed = False
        if captions is not None and captions != space.captions:
            space.captions, changed = captions, True
        if checked is not None and checked != space.caption_language:
            space.caption_language, changed = checked, True
        view = await views.space_view(unit.session, space)
        if changed:
            await unit.record(space, SpaceUpdated(space=view))
        return view


async def set_captioned(
    services: Services, space_id: int, user_id: int, *, captioned: bool
) -> MemberView:
    """A member lets their words be captioned, or not (consent: their speech then shows as
    speech without text, and nothing of what they say is transcribed)."""
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        row = await present_member(unit.session, space_id, user_id)
        space_rules.require_joinable(SpaceState(space.state))
        view = await views.member_view(unit.session, row)
        if row.captioned == captioned:
            return view
        row.captioned = captioned
        view = await views.member_view(unit.session, row)
        await unit.record(space, MemberUpdated(member=view))
        return view


async def captioned(services: Services, space_id: int) -> bool:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        return space is not None and space.captions


@dataclass(frozen=True)
class CaptionSetup:
    """What the caption pipeline needs of a space."""

    captions: bool
    language: str
    # Members who switched off captioning of their voice.
    opted_out: frozenset[int]
    # The utterance number to go on from (after the lines already kept).
    next_number: int


async def setup(services: Services, space_id: int) -> CaptionSetup:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        opted_out = (
            await session.execute(
                select(SpaceMember.user_id).where(
                    SpaceMember.space_id == space_id, SpaceMember.captioned.is_(False)
                )
            )
        ).scalars()
        last = await session.scalar(
            select(func.max(CaptionLine.number)).where(CaptionLine.space_id == space_id)
        )
        return CaptionSetup(
            captions=space.captions,
            language=space.caption_language,
            opted_out=frozenset(opted_out),
            next_number=(last or 0) + 1,
        )


async def keep_line(services: Services, space_id: int, line: CaptionLineView) -> str | None:
    """Stores a final line (its transcript) unless the member's consent was withdrawn meanwhile;
    returns the speaker's name when it was kept (and may go out), else None."""
    async with services.store.write() as session:
        row = await repo.member(session, space_id, line.user_id)
        if row is None or (line.text is not None and not row.captioned):
            return None
        exists = await session.scalar(
            select(CaptionLine.id).where(
                CaptionLine.space_id == space_id, CaptionLine.number == line.id
            )
        )
        if exists is not None:
            return None
        session.add(
            CaptionLine(
                space_id=space_id,
                number=line.id,
                user_id=line.user_id,
                start_ms=round(line.start_s * 1000),
                end_ms=round(line.end_s * 1000),
                text=line.text,
                created_at=services.clock(),
            )
        )
        users = await repo.users_by_id(session, [line.user_id])
        return users[line.user_id].display_name


async def _lines(
    session: AsyncSession, space_id: int, span: tuple[float, float] | None = None
) -> list[CaptionLine]:
    """The space's final lines in time order (those overlapping `span` on the recording's
    timeline, when given)."""
    query = select(CaptionLine).where(CaptionLine.space_id == space_id)
    if span is not None:
        start_ms, end_ms = round(span[0] * 1000), round(span[1] * 1000)
        query = query.where(CaptionLine.end_ms > start_ms, CaptionLine.start_ms < end_ms)
    order = query.order_by(CaptionLine.start_ms, CaptionLine.number)
    return list((await session.execute(order)).scalars())


async def _space_and_lines(
    session: AsyncSession, space_id: int
) -> tuple[Space, list[CaptionLine], set[int]]:
    """The space, its lines, and who spoke (a line of theirs, with words or without)."""
    space = await repo.space(session, space_id)
    if space is None:
        raise NotFound(f"no space {space_id}")
    rows = await _lines(session, space_id)
    return space, rows, {row.user_id for row in rows}


async def transcript(services: Services, space_id: int, viewer_id: int | None) -> TranscriptView:
    """Every final line with words, speaker-attributed and timed, for those who may read it."""
    async with services.store.read() as session:
        space, rows, speakers = await _space_and_lines(session, space_id)
        moderators = set(
            (
                await session.execute(
                    select(SpaceMember.user_id).where(
                        SpaceMember.space_id == space_id, SpaceMember.role == Role.COHOST.value
                    )
                )
            ).scalars()
        )
        rules.require_may_read(
            viewer_id,
            host_id=space.host_id,
            speakers=speakers,
            moderators=moderators,
            replay_published=await repo.replay_published(session, space_id),
        )
        return await _transcript_view(session, space, rows, viewer_id, speakers)


async def _transcript_view(
    session: AsyncSession,
    space: Space,
    rows: list[CaptionLine],
    viewer_id: int | None,
    speakers: set[int],
    *,
    offset_s: float = 0.0,
) -> TranscriptView:
    users = await repo.users_by_id(session, sorted(speakers))
    lines = [
        TranscriptLineView(
            id=row.number,
            user=views.user_brief(users[row.user_id]),
            start_s=max(0.0, row.start_ms / 1000 - offset_s),
            end_s=max(0.0, row.end_ms / 1000 - offset_s),
            text=row.text,
        )
        for row in rows
        if row.text
    ]
    return TranscriptView(
        space_id=space.id,
        language=space.caption_language,
        lines=lines,
        downloadable=rules.may_download(viewer_id, host_id=space.host_id, speakers=speakers),
    )


async def transcript_for_download(
    services: Services, space_id: int, viewer_id: int
) -> TranscriptView:
    """The transcript, for the host and those who spoke only (a file to keep)."""
    async with services.store.read() as session:
        space, rows, speakers = await _space_and_lines(session, space_id)
        if not rules.may_download(viewer_id, host_id=space.host_id, speakers=speakers):
            raise Forbidden("the transcript is the host's and the speakers' to download")
        return await _transcript_view(session, space, rows, viewer_id, speakers)


async def clip_lines(
    session: AsyncSession, space: Space, start_s: float, end_s: float
) -> list[TranscriptLineView]:
    """The lines a clip spans, on the clip's timeline."""
    rows = await _lines(session, space.id, (start_s, end_s))
    view = await _transcript_view(
        session, space, rows, None, {row.user_id for row in rows}, offset_s=start_s
    )
    return view.lines


async def has_lines(session: AsyncSession, space_id: int) -> bool:
    found = await session.scalar(
        select(CaptionLine.id).where(CaptionLine.space_id == space_id).limit(1)
    )
    return found is not None


async def purge_lines(session: AsyncSession, ended_before: datetime) -> None:
    """Transcripts go with their recordings: the lines of the spaces that ended before the
    retention's cutoff (a space recorded or not)."""
    expired = select(Space.id).where(Space.ended_at.is_not(None), Space.ended_at <= ended_before)
    await session.execute(delete(CaptionLine).where(CaptionLine.space_id.in_(expired)))
