"""Recordings, replays and clips: the only code that changes their rows.

The files (segments, the .m4a, clips) live in the media store under the space's folder; rows are
written in one transaction and files are removed only after the rows they belong to are gone.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.actions import analytics, captions
from parley.actions.base import Services, change
from parley.actions.spaces import present_member
from parley.domain import recordings as rules
from parley.domain.analytics import TallyKind
from parley.domain.errors import Conflict, Forbidden, InvalidState, NotFound
from parley.domain.recordings import ClipVisibility, RecordingState
from parley.domain.space import SpaceState
from parley.domain.views import ClipView, RecordingView, SpaceView, UserBrief
from parley.media import archive, playlist
from parley.media.folders import MediaFolders
from parley.media.mixer import SAMPLE_RATE_HZ
from parley.store import repo, views
from parley.store.models import Clip, Recording, Space

log = logging.getLogger(__name__)


def folders(services: Services) -> MediaFolders:
    return MediaFolders(services.settings.media_dir)


def clip_file(services: Services, space_id: int, clip_id: int) -> Path:
    return folders(services).clips(space_id) / f"{clip_id}.m4a"


def recording_file(services: Services, space_id: int) -> Path:
    return folders(services).recording(space_id) / archive.RECORDING_FILE


async def _recording(session: AsyncSession, space_id: int) -> Recording | None:
    return (
        await session.execute(select(Recording).where(Recording.space_id == space_id))
    ).scalar_one_or_none()


# --- the media engine's side -------------------------------------------------------------------
async def claim(services: Services, space_id: int, node: str) -> bool:
    """Whether this node writes the space's media: it is live and no other node has claimed it
    (the unique recording row is the claim). A claim of our own is resumed."""
    try:
        async with change(services) as unit:
            space = await repo.space(unit.session, space_id)
            if space is None or space.state != SpaceState.LIVE.value:
                return False
            found = await _recording(unit.session, space_id)
            if found is not None:
                return found.node == node and found.state == RecordingState.RECORDING.value
            unit.session.add(
                Recording(
                    space_id=space_id,
                    node=node,
                    state=RecordingState.RECORDING.value,
                    started_at=unit.now,
                    ended_at=None,
                    duration_ms=0,
                    size_bytes=0,
                    replay_published_at=None,
                )
            )
            return True
    except IntegrityError:
        return False  # another node claimed it first


async def unfinished(services: Services, node: str) -> list[tuple[int, bool]]:
    """This node's recordings still marked as recording (after a crash): (space id, still live)."""
    async with services.store.read() as session:
        rows = (
            await session.execute(
                select(Recording.space_id, Space.state)
                .join(Space, Space.id == Recording.space_id)
                .where(Recording.node == node, Recording.state == RecordingState.RECORDING.value)
            )
        ).all()
    return [(space_id, state == SpaceState.LIVE.value) for space_id, state in rows]


async def finish(services: Services, space_id: int, segments: list[playlist.Segment]) -> None:
    """The space ended: its recording becomes the .m4a (made off the event loop), or, when the
    instance does not record spaces, its files and row go."""
    if not services.settings.record_spaces:
        async with change(services) as unit:
            await unit.session.execute(delete(Recording).where(Recording.space_id == space_id))
        await asyncio.to_thread(folders(services).remove, space_id)
        return
    # Out of the live scope first: from here no live link reaches the segments.
    folder = await asyncio.to_thread(folders(services).archive, space_id)
    size = 0
    if segments:
        size = await asyncio.to_thread(
            archive.export_recording, folder, segments, recording_file(services, space_id)
        )
        try:
            # The replay's playlist for players that seek in no fMP4 HLS (ffmpeg, mpv before
            # 8.0): a copy, so a failure leaves the recording whole (served from its index).
            await asyncio.to_thread(archive.export_vod, folder, segments)
        except Exception:
            log.exception("space(%s) recording: no MPEG-TS copy; its index serves", space_id)
            try:
                await asyncio.to_thread(archive.remove_vod, folder)
            except OSError:
                log.exception("space(%s) recording: a part of the copy is left", space_id)
    async with change(services) as unit:
        found = await _recording(unit.session, space_id)
        if found is None:
            return
        space = await repo.space(unit.session, space_id)
        found.state = rules.finish(RecordingState(found.state)).value
        found.ended_at = (space.ended_at if space is not None else None) or unit.now
        found.duration_ms = round(playlist.total_duration_s(segments) * 1000)
        found.size_bytes = size


# --- what people do ----------------------------------------------------------------------------
def _view(services: Services, row: Recording) -> RecordingView:
    days = services.settings.retention_days
    return RecordingView(
        state=RecordingState(row.state),
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_s=row.duration_ms / 1000,
        bytes=row.size_bytes,
        download_url=f"/api/spaces/{row.space_id}/recording.m4a",
        expires_at=rules.expires_at(row.ended_at, days) if row.ended_at else None,
        replay_published=row.replay_published_at is not None,
    )


async def _hosted(services: Services, space_id: int, actor_id: int) -> tuple[Space, Recording]:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        if space.host_id != actor_id:
            raise Forbidden("only the host may see the recording")
        found = await _recording(session, space_id)
        if found is None:
            raise NotFound(f"space {space_id} has no recording")
        return space, found


async def recording(services: Services, space_id: int, actor_id: int) -> RecordingView:
    _, found = await _hosted(services, space_id, actor_id)
    return _view(services, found)


async def download(services: Services, space_id: int, actor_id: int) -> Path:
    _, found = await _hosted(services, space_id, actor_id)
    if found.state != RecordingState.COMPLETE.value:
        raise InvalidState("the recording is ready when the space ends", state=found.state)
    path = recording_file(services, space_id)
    if not path.is_file():
        raise NotFound(f"space {space_id} recorded no audio")
    return path


async def set_replay(services: Services, space_id: int, actor_id: int, *, published: bool) -> None:
    async with change(services) as unit:
        space = await repo.space(unit.session, space_id, lock=True)
        if space is None:
            raise NotFound(f"no space {space_id}")
        if space.host_id != actor_id:
            raise Forbidden("only the host may publish the replay")
        found = await _recording(unit.session, space_id)
        if found is None:
            raise NotFound(f"space {space_id} has no recording")
        if published and not space.record:
            raise Conflict("the host chose not to offer a replay of this space", rule="record_off")
        if published and found.state != RecordingState.COMPLETE.value:
            raise InvalidState("a replay can be published once the space ends", state=found.state)
        if published and found.replay_published_at is None:
            found.replay_published_at = unit.now
        elif not published:
            found.replay_published_at = None
        # The replay scope's link follows the row (set before the commit: a failed link fails
        # the change; the next publish or unpublish mends a link left by a failed commit).
        await asyncio.to_thread(folders(services).publish, space_id, published)


@dataclass
class Replay:
    space: SpaceView
    published: bool
    # The playlist to hand out: the MPEG-TS one every player seeks in, where it was made.
    playlist_file: str
    segments: list[playlist.Segment]
    timeline: list[dict[str, float]]
    speakers: dict[int, UserBrief]
    # The space was captioned: its transcript plays along.
    has_transcript: bool = False


async def replay(services: Services, space_id: int, viewer_id: int | None) -> Replay:
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        found = await _recording(session, space_id)
        is_host = viewer_id == space.host_id
        if found is None or (found.replay_published_at is None and not is_host):
            raise NotFound(f"space {space_id} has no published replay")
        if found.state != RecordingState.COMPLETE.value:
            raise InvalidState("the replay is ready when the space ends", state=found.state)
        folder = folders(services).recording(space_id)
        recovered = await asyncio.to_thread(archive.recover, folder)
        timeline = await asyncio.to_thread(archive.read_timeline, folder)
        speaker_ids = sorted({int(line["speaker"]) for line in timeline if "speaker" in line})
        users = await repo.users_by_id(session, speaker_ids)
        vod = await asyncio.to_thread((folder / playlist.VOD_PLAYLIST).is_file)
        return Replay(
            space=await views.space_view(session, space),
            published=found.replay_published_at is not None,
            playlist_file=playlist.VOD_PLAYLIST if vod else playlist.INDEX_PLAYLIST,
            segments=recovered.segments,
            timeline=timeline,
            speakers={uid: views.user_brief(user) for uid, user in users.items()},
            has_transcript=await captions.has_lines(session, space_id),
        )


async def create_clip(
    services: Services,
    space_id: int,
    actor_id: int,
    *,
    start_s: float | None,
    duration_s: float,
) -> ClipView:
    """The last `duration_s` of a live space (any participant), or a span of a published replay
    (anyone who may see it); never of a space its host chose not to record. The audio is cut and
    encoded before the row is written."""
    settings = services.settings
    services.take("clips", actor_id, burst=settings.clip_burst, rate_per_s=settings.clip_rate_per_s)
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        found = await _recording(session, space_id)
        if space.state == SpaceState.LIVE.value:
            await present_member(session, space_id, actor_id)
        elif found is None or (found.replay_published_at is None and space.host_id != actor_id):
            raise InvalidState("clips are taken from a live space or a replay", state=space.state)
        rules.require_clips_allowed(recorded=_recorded(services, space))
        if found is None:
            raise NotFound(f"space {space_id} has no recording yet")
        recording_id = found.id
    folder = folders(services).current(space_id)
    segments = (await asyncio.to_thread(archive.recover, folder)).segments
    recorded_s = playlist.total_duration_s(segments)
    if recorded_s <= 0:
        raise InvalidState("nothing is recorded yet", state=space.state)
    start_s, duration_s = rules.clip_span(
        start_s=start_s,
        duration_s=duration_s,
        recorded_s=recorded_s,
        live=space.state == SpaceState.LIVE.value,
    )
    audio = await asyncio.to_thread(archive.decode_span, folder, segments, start_s, duration_s)
    pending = folders(services).clips(space_id) / f"pending-{uuid.uuid4().hex}.m4a"
    placed: Path | None = None
    try:
        await asyncio.to_thread(pending.parent.mkdir, parents=True, exist_ok=True)
        size = await asyncio.to_thread(
            archive.export_clip, audio, pending, services.settings.hls_bitrate
        )
        async with change(services) as unit:
            clip = Clip(
                slug=secrets.token_urlsafe(12),
                recording_id=recording_id,
                space_id=space_id,
                created_by=actor_id,
                start_ms=round(start_s * 1000),
                duration_ms=round(audio.size / SAMPLE_RATE_HZ * 1000),
                size_bytes=size,
                created_at=unit.now,
            )
            unit.session.add(clip)
            await unit.session.flush()
            await analytics.tally(unit, space_id, TallyKind.CLIP)
            placed = clip_file(services, space_id, clip.id)
            pending.replace(placed)
            view = await _clip_view(services, unit.session, clip)
        placed = None  # committed: the file is the clip's
        return view
    except IntegrityError:
        raise NotFound(f"space {space_id}'s recording was deleted meanwhile") from None
    finally:
        # Whatever did not become a clip goes: the encoded file, or one placed before a failed
        # commit, and the encoder's temporary file.
        for leftover in (pending, pending.with_name(pending.name + ".tmp"), placed):
            if leftover is not None:
                leftover.unlink(missing_ok=True)


def _recorded(services: Services, space: Space) -> bool:
    """The space is recorded to be kept: the instance records spaces and its host offered a
    replay (`record`)."""
    return services.settings.record_spaces and space.record


async def _clip_view(services: Services, session: AsyncSession, clip: Clip) -> ClipView:
    space = await repo.space(session, clip.space_id)
    recording = await _recording(session, clip.space_id)
    users = await repo.users_by_id(session, [clip.created_by])
    assert space is not None
    visibility = rules.clip_visibility(
        recorded=_recorded(services, space),
        live=space.state == SpaceState.LIVE.value,
        replay_published=recording is not None and recording.replay_published_at is not None,
    )
    return ClipView(
        id=clip.slug,
        space_id=clip.space_id,
        space_title=space.title,
        created_by=views.user_brief(users[clip.created_by]),
        start_s=clip.start_ms / 1000,
        duration_s=clip.duration_ms / 1000,
        created_at=clip.created_at,
        audio_url=f"/api/clips/{clip.slug}/audio.m4a",
        page_url=f"/clips/{clip.slug}",
        visibility=visibility,
        captions=await captions.clip_lines(
            session, space, clip.start_ms / 1000, (clip.start_ms + clip.duration_ms) / 1000
        ),
    )


async def clip(services: Services, slug: str, viewer_id: int | None) -> tuple[ClipView, Path]:
    """A public clip is for whoever has its link (it is made to be shared); a private one
    (domain/recordings.py `clip_visibility`) for its clipper alone: to others it is not found."""
    async with services.store.read() as session:
        row = (await session.execute(select(Clip).where(Clip.slug == slug))).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no clip {slug}")
        view = await _clip_view(services, session, row)
        if view.visibility is not ClipVisibility.PUBLIC and row.created_by != viewer_id:
            raise NotFound(f"no clip {slug}")
        return view, clip_file(services, row.space_id, row.id)


# --- retention ---------------------------------------------------------------------------------
async def purge_expired(services: Services) -> list[int]:
    """Deletes the recordings (and their clips) whose retention has passed: the rows in one
    transaction, then their files. Returns the spaces whose recordings went."""
    now = services.clock()
    days = services.settings.retention_days
    async with change(services) as unit:
        rows = (
            await unit.session.execute(
                select(Recording).where(Recording.state == RecordingState.COMPLETE.value)
            )
        ).scalars()
        expired = [row for row in rows if rules.is_expired(row.ended_at, now, days)]
        space_ids = [row.space_id for row in expired]
        if expired:
            ids = [row.id for row in expired]
            await unit.session.execute(delete(Clip).where(Clip.recording_id.in_(ids)))
            await unit.session.execute(delete(Recording).where(Recording.id.in_(ids)))
        await captions.purge_lines(unit.session, now - timedelta(days=days))
    for space_id in space_ids:
        await asyncio.to_thread(folders(services).remove, space_id)
        log.info("space(%s) recording purged after %d days", space_id, days)
    return space_ids
