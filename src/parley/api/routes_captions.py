"""Live captions: what the server offers, a member's consent, the transcript and its downloads."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parley.actions import captions
from parley.api.auth import OptionalUserDep, ServicesDep, UserDep
from parley.api.schemas import CaptionedBody, CaptionsInfoOut, Id, MemberOut, TranscriptOut
from parley.captions import formats
from parley.domain.views import TranscriptView

router = APIRouter(tags=["captions"])

# A member switching consent back and forth, or a script fetching transcripts: a burst, then
# one every few seconds (each is a write, or a read of every line of a space).
_BURST = 10.0
_RATE_PER_S = 0.5
_MEDIA_TYPES = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}


@router.get("/api/captions")
async def captions_info(services: ServicesDep) -> CaptionsInfoOut:
    return CaptionsInfoOut(
        engine=services.settings.caption_engine,
        default_language=services.settings.caption_language,
        languages=sorted(captions.supported_languages(services)),
    )


@router.post("/api/spaces/{space_id}/me/captions")
async def set_captioned(
    space_id: Id, body: CaptionedBody, services: ServicesDep, user: UserDep
) -> MemberOut:
    """The caller lets their own words be captioned, or not (their speech then shows as speech
    without text, and is kept out of the transcript)."""
    services.take("caption consent changes", user.id, burst=_BURST, rate_per_s=_RATE_PER_S)
    view = await captions.set_captioned(services, space_id, user.id, captioned=body.captioned)
    return MemberOut(member=view)


@router.get("/api/spaces/{space_id}/transcript")
async def transcript(
    space_id: Id, request: Request, services: ServicesDep, viewer: OptionalUserDep
) -> TranscriptOut:
    """Every final caption line: for the host, co-hosts and speakers; for anyone once the replay
    is published (it plays with it)."""
    address = request.client.host if request.client else "unknown"
    who: int | str = viewer.id if viewer is not None else f"address:{address}"
    services.take("transcript requests", who, burst=_BURST * 3, rate_per_s=_RATE_PER_S * 4)
    view = await captions.transcript(services, space_id, viewer.id if viewer else None)
    return TranscriptOut(transcript=view)


@router.get("/api/spaces/{space_id}/transcript.{file_format}")
async def download_transcript(
    space_id: Id,
    file_format: Literal["vtt", "srt", "txt"],
    services: ServicesDep,
    user: UserDep,
) -> Response:
    """The transcript as a file (WebVTT, SubRip or text), for the host and everyone who spoke."""
    services.take("transcript requests", user.id, burst=_BURST * 3, rate_per_s=_RATE_PER_S * 4)
    view = await captions.transcript_for_download(services, space_id, user.id)
    body = _render(view, file_format)
    name = f"space-{space_id}-transcript.{file_format}"
    return Response(
        body,
        media_type=_MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _render(view: TranscriptView, file_format: str) -> str:
    cues = [
        formats.Cue(line.start_s, line.end_s, line.user.display_name, line.text)
        for line in view.lines
    ]
    if file_format == "vtt":
        return formats.to_webvtt(cues)
    if file_format == "srt":
        return formats.to_srt(cues)
    return formats.to_text(cues)
