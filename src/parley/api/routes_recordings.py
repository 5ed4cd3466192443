"""HLS of live spaces, recordings, replays and clips."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import FileResponse

from parley.actions import captions as caption_actions
from parley.actions import media as media_actions
from parley.actions import recordings
from parley.actions import visitors as visitor_actions
from parley.actions.base import Services
from parley.api.auth import OptionalUserDep, ServicesDep, UserDep, client_address
from parley.api.pages import Preview, absolute_url, not_found_page, preview_page
from parley.api.schemas import (
    ClipBody,
    ClipOut,
    Id,
    ListenOut,
    RecordingOut,
    ReplayOut,
)
from parley.domain.analytics import arrival_of
from parley.domain.errors import DomainError, Forbidden, NotFound
from parley.domain.recordings import ClipVisibility
from parley.domain.views import ListenerCountView, MarkerView, ReplayView
from parley.media import playlist, urls
from parley.media.folders import Scope
from parley.room.media import MediaRuntime
from parley.room.runtime import RoomRuntime
from parley.room.visitors import VisitorPresence

router = APIRouter(tags=["recordings"])

MediaFile = Annotated[str, Path(min_length=1, max_length=40)]
Signature = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Holder = Annotated[str, Path(min_length=2, max_length=20, pattern=urls.HOLDER_PATTERN)]
Expires = Annotated[int, Path(ge=0, le=99_999_999_999)]
ClipId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]

_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "audio/mp4",
    ".mp4": "audio/mp4",
    ".ts": "video/mp2t",
    ".vtt": "text/vtt",  # the subtitles' segments (WebVTT s6.1: always UTF-8)
}


class LinkExpired(DomainError):
    status = 410
    code = "expired"


def _holder(request: Request, viewer_id: int | None) -> str:
    """Who a link is given to: the user, or a visitor by their client address."""
    if viewer_id is not None:
        return urls.user_holder(viewer_id)
    secret = request.app.state.services.settings.media_url_secret
    return urls.visitor_holder(client_address(request), secret)


def _signed(
    request: Request, space_id: int, scope: Scope, holder: str, file: str
) -> tuple[str, datetime, int]:
    """The link, when it expires, and its life in seconds: short for a live link (a removed
    listener's dies within it, issue 12), long for a recording's or a replay's."""
    settings = request.app.state.services.settings
    ttl_s = settings.hls_live_url_ttl_s if scope == "live" else settings.hls_url_ttl_s
    expires = int(time.time()) + ttl_s
    url = urls.hls_url(space_id, scope, holder, expires, settings.media_url_secret, file)
    return url, datetime.fromtimestamp(expires, UTC), ttl_s


@router.get("/api/spaces/{space_id}/listen")
async def listen(
    space_id: Id,
    request: Request,
    services: ServicesDep,
    viewer: OptionalUserDep,
    via: Annotated[
        str | None,
        Query(description="How the listener came (home, embed, ...), for the host's analytics"),
    ] = None,
) -> ListenOut:
    """How to listen: the live HLS playlist (signed for this listener, expiring soon: ask again
    before it does) and whether this node still takes low-latency WebRTC listeners. Visitors (no
    account) listen over HLS only, to live spaces open to them (401 otherwise) that are not full
    for visitors (503, like their socket's 4503); their answers are rate-limited per client
    address."""
    if viewer is None:
        settings = services.settings
        address = client_address(request)
        services.take(
            "visitor requests",
            address,
            burst=settings.visitor_burst,
            rate_per_s=settings.visitor_rate_per_s,
        )
        presence: VisitorPresence = request.app.state.room.visitors
        elsewhere = await visitor_actions.check_listen(services, space_id, presence.node)
        presence.check_listen(space_id, address, elsewhere=elsewhere)
        webrtc = False
    else:
        await media_actions.check_listen(services, space_id, viewer.id)
        media: MediaRuntime = request.app.state.media
        webrtc = not media.webrtc_listeners_full
    holder = _holder(request, viewer.id if viewer is not None else None)
    arrival = arrival_of(via)
    runtime: RoomRuntime = request.app.state.room
    if viewer is None:
        # A visitor listens over HLS only: their link (and each renewal) counts as listening,
        # which the host's analytics need where nginx serves the playlists (docs/analytics.md).
        runtime.listens.hls_seen(space_id, holder, arrival, fetched=False)
    elif arrival is not None:
        runtime.listens.hint(space_id, holder, arrival)
    url, expires_at, ttl_s = _signed(request, space_id, "live", holder, playlist.LIVE_PLAYLIST)
    captions_url = None
    if await caption_actions.captioned(services, space_id):
        captions_url, _, _ = _signed(request, space_id, "live", holder, playlist.MAIN_PLAYLIST)
    return ListenOut(
        hls_url=url,
        hls_expires_at=expires_at,
        hls_expires_in_s=ttl_s,
        webrtc=webrtc,
        hls_captions_url=captions_url,
    )


async def _require_holder_may_hear(
    request: Request, services: Services, space_id: int, holder: str
) -> None:
    """The app's route does better than nginx: a removed or blocked listener's live link stops at
    once, not at its expiry. The verdict is kept a few seconds (settings.hls_holder_check_s), so
    the store is asked once per holder and moment, not per segment."""
    checks: urls.RecentChecks[bool] = request.app.state.hls_holders
    key = (space_id, holder)
    now_s = time.monotonic()
    allowed = checks.get(key, now_s)
    if allowed is None:
        allowed = await media_actions.may_keep_hearing(services, space_id, urls.holder_user(holder))
        checks.put(key, allowed, now_s)
    if not allowed:
        raise Forbidden("the media link's holder may no longer listen to this space")


@router.api_route(
    "/hls/{space_id}/{scope}/{holder}/{expires}/{signature}/{file}",
    methods=["GET", "HEAD"],
    include_in_schema=False,
)
async def hls_file(
    space_id: Id,
    scope: Scope,
    holder: Holder,
    expires: Expires,
    signature: Signature,
    file: MediaFile,
    request: Request,
    services: ServicesDep,
) -> Response:
    """A space's playlist or segment, as nginx serves them in production (docs/deploy.md)."""
    secret = services.settings.media_url_secret
    checked = urls.check(space_id, scope, holder, expires, signature, secret, time.time())
    if checked is urls.Check.BAD:
        raise Forbidden("the media link's signature is not valid")
    if checked is urls.Check.EXPIRED:
        raise LinkExpired("the media link has expired: ask for a new one")
    if scope == "live":
        await _require_holder_may_hear(request, services, space_id, holder)
    if not playlist.is_media_file(file):
        raise NotFound(f"no media file {file}")
    path = recordings.folders(services).of(scope, space_id) / file
    if not path.is_file():
        raise NotFound(f"no media file {file}")
    suffix = path.suffix
    if scope == "live" and suffix == ".m3u8":
        # Host analytics: an HLS listener is there while their player reloads the playlist.
        runtime: RoomRuntime = request.app.state.room
        runtime.listens.hls_seen(space_id, holder)
    headers = {"Access-Control-Allow-Origin": "*"}
    if suffix == ".m3u8":
        # A playlist changes every segment (RFC 8216 s6.2.2), replaced whole by a rename: read
        # at once, not sized by one look and sent from another (a file streamed after its size
        # was taken could be the next one, longer, and the connection would break).
        try:
            text = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no media file {file}") from None
        headers["Cache-Control"] = "no-cache"
        return Response(text, media_type=_TYPES[suffix], headers=headers)
    # A segment never changes once written.
    headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return FileResponse(path, media_type=_TYPES[suffix], headers=headers)


@router.get("/api/spaces/{space_id}/recording")
async def recording(space_id: Id, services: ServicesDep, user: UserDep) -> RecordingOut:
    return RecordingOut(recording=await recordings.recording(services, space_id, user.id))


@router.get(
    "/api/spaces/{space_id}/recording.m4a",
    response_class=FileResponse,
    responses={200: {"content": {"audio/mp4": {}}}},
)
async def download_recording(space_id: Id, services: ServicesDep, user: UserDep) -> FileResponse:
    """The whole recording as one .m4a file (the host only, once the space has ended)."""
    path = await recordings.download(services, space_id, user.id)
    return FileResponse(path, media_type="audio/mp4", filename=f"space-{space_id}.m4a")


async def _replay_view(request: Request, space_id: int, viewer_id: int | None) -> ReplayView:
    services = request.app.state.services
    found = await recordings.replay(services, space_id, viewer_id)
    # The published replay's scope; the host previews an unpublished one from the recording's.
    scope: Scope = "replay" if found.published else "recording"
    url, _, _ = _signed(request, space_id, scope, _holder(request, viewer_id), found.playlist_file)
    markers = [
        MarkerView(at_s=float(line["at_s"]), user=found.speakers[int(line["speaker"])])
        for line in found.timeline
        if "speaker" in line and int(line["speaker"]) in found.speakers
    ]
    counts = [
        ListenerCountView(at_s=float(line["at_s"]), count=int(line["listeners"]))
        for line in found.timeline
        if "listeners" in line
    ]
    return ReplayView(
        space=found.space,
        duration_s=playlist.total_duration_s(found.segments),
        playlist_url=url,
        published=found.published,
        markers=markers,
        listener_counts=counts,
        has_transcript=found.has_transcript,
    )


@router.get("/api/spaces/{space_id}/replay")
async def replay(space_id: Id, request: Request, viewer: OptionalUserDep) -> ReplayOut:
    """A published replay: the recording's playlist, speaker markers and listener counts."""
    return ReplayOut(replay=await _replay_view(request, space_id, viewer.id if viewer else None))


@router.post("/api/spaces/{space_id}/replay")
async def publish_replay(
    space_id: Id, request: Request, services: ServicesDep, user: UserDep
) -> ReplayOut:
    await recordings.set_replay(services, space_id, user.id, published=True)
    return ReplayOut(replay=await _replay_view(request, space_id, user.id))


@router.delete("/api/spaces/{space_id}/replay")
async def unpublish_replay(
    space_id: Id, request: Request, services: ServicesDep, user: UserDep
) -> ReplayOut:
    await recordings.set_replay(services, space_id, user.id, published=False)
    return ReplayOut(replay=await _replay_view(request, space_id, user.id))


@router.post("/api/spaces/{space_id}/clips", status_code=status.HTTP_201_CREATED)
async def create_clip(
    space_id: Id, body: ClipBody, services: ServicesDep, user: UserDep
) -> ClipOut:
    """Clip the last 30 s (at most) of a live space, or a span of a replay."""
    view = await recordings.create_clip(
        services, space_id, user.id, start_s=body.start_s, duration_s=body.duration_s
    )
    return ClipOut(clip=view)


@router.get("/api/clips/{clip_id}")
async def get_clip(clip_id: ClipId, services: ServicesDep, viewer: OptionalUserDep) -> ClipOut:
    """A clip: public ones to anyone with the link; a private one (its space ended and the
    replay is not published) to its clipper alone, 404 to others."""
    view, _ = await recordings.clip(services, clip_id, viewer.id if viewer else None)
    return ClipOut(clip=view)


@router.get(
    "/api/clips/{clip_id}/audio.m4a",
    response_class=FileResponse,
    responses={200: {"content": {"audio/mp4": {}}}},
)
async def clip_audio(
    clip_id: ClipId, services: ServicesDep, viewer: OptionalUserDep
) -> FileResponse:
    view, path = await recordings.clip(services, clip_id, viewer.id if viewer else None)
    if not path.is_file():
        raise NotFound(f"clip {clip_id} has no audio")
    # Asked again each time: a clip turns private when its replay is unpublished.
    cache = "no-cache" if view.visibility is ClipVisibility.PUBLIC else "private, no-cache"
    return FileResponse(
        path,
        media_type="audio/mp4",
        filename=f"clip-{clip_id}.m4a",
        headers={"Cache-Control": cache},
    )


# HEAD on the downloads too (players and download managers ask it first): the same handlers,
# FileResponse sends the headers alone; kept out of the schema, where one operation per path is
# enough.
for _path, _handler in (
    ("/api/spaces/{space_id}/recording.m4a", download_recording),
    ("/api/clips/{clip_id}/audio.m4a", clip_audio),
):
    router.add_api_route(_path, _handler, methods=["HEAD"], include_in_schema=False)


@router.get("/clips/{clip_id}", include_in_schema=False)
async def clip_page(
    clip_id: ClipId, request: Request, services: ServicesDep, viewer: OptionalUserDep
) -> Response:
    """The web client's page, with the clip's Open Graph tags in its head for link previews
    (crawlers do not run the page's scripts); a private clip's for its clipper alone."""
    try:
        view, _ = await recordings.clip(services, clip_id, viewer.id if viewer else None)
    except NotFound:
        # The app's own page, which says the clip is gone (purged, private, or never was).
        return not_found_page()
    preview = Preview(
        title=f"Clip from “{view.space_title}”",
        description=f"{view.duration_s:.0f} s clipped by @{view.created_by.handle} on Parley",
        path=view.page_url,
        og_type="music.song",
        extra={"og:audio": absolute_url(request, view.audio_url), "og:audio:type": "audio/mp4"},
    )
    return preview_page(request, preview)
