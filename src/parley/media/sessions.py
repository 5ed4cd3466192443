"""WHIP (publish) and WHEP (listen) sessions: one aiortc peer connection each, on the media loop.

`accept_offer` makes the connection for an offer with its receive path (a publisher's audio is
decoded on arrival into their playout queue, media/jitter.py) and the track it sends (their
mix-minus, or the listeners' mix); the engine attaches it to its space, then `answer` writes the
answer. What a session does in its space is the engine's (media/engine.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription, sdp
from aiortc.mediastreams import MediaStreamTrack

from parley.domain.media import SessionKind as SessionKind
from parley.media import internals
from parley.media.fanout import FastSender
from parley.media.jitter import DecodingAudioBuffer, use_decoding_audio, use_immediate_audio
from parley.media.sdp import advertise_address
from parley.media.tracks import InputQueue, ListenerTrack, MixMinusTrack, QueueTrack, read_audio

log = logging.getLogger(__name__)


class BadOffer(ValueError):
    """The SDP offer could not be used."""


@dataclass(eq=False)
class Session:
    id: str
    kind: SessionKind
    space_id: int
    user_id: int
    pc: RTCPeerConnection
    track: QueueTrack
    consumer: asyncio.Task[None] | None = None
    fast: FastSender | None = None
    decoding_buffer: DecodingAudioBuffer | None = None
    queue: InputQueue | None = None


def _offers_either_dtls_role(offer_sdp: str) -> bool:
    """Whether the offer's audio lets the answer pick the DTLS role (`a=setup:actpass`,
    RFC 8842 s5)."""
    description = sdp.SessionDescription.parse(offer_sdp)
    audio = next((m for m in description.media if m.kind == "audio"), None)
    return audio is not None and audio.dtls is not None and audio.dtls.role == "auto"


def configuration(ice_servers: list[dict[str, Any]]) -> RTCConfiguration:
    return RTCConfiguration(iceServers=[RTCIceServer(**server) for server in ice_servers])


async def accept_offer(
    kind: SessionKind,
    space_id: int,
    user_id: int,
    offer_sdp: str,
    *,
    ice_servers: list[dict[str, Any]],
    publisher_bitrate: int,
) -> Session:
    """A peer connection for the offer, receiving (WHIP) and ready to send; not answered yet.
    Raises BadOffer for an offer that cannot be used."""
    pc = RTCPeerConnection(configuration(ice_servers))
    track: QueueTrack = MixMinusTrack() if kind == "whip" else ListenerTrack()
    session = Session(str(uuid.uuid4()), kind, space_id, user_id, pc, track)

    remote_tracks: list[MediaStreamTrack] = []
    pc.on("track", remote_tracks.append)  # fired inside setRemoteDescription

    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    except Exception as exc:
        await pc.close()
        raise BadOffer(f"the SDP offer could not be used: {exc}") from None
    audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
    if not audio:
        await pc.close()
        raise BadOffer("the SDP offer has no audio section")
    if _offers_either_dtls_role(offer_sdp):
        internals.answer_as_dtls_server(audio[0])
    if kind == "whip":
        # Ask the publisher for in-band FEC, so a lost packet can be rebuilt here from the next,
        # and for at most the stage's bitrate (RFC 7587 s6.1).
        parameters = {"useinbandfec": 1, "minptime": 10, "maxaveragebitrate": publisher_bitrate}
        internals.ask_opus_fec(audio[0], parameters)
        queue = session.queue = InputQueue()
        session.decoding_buffer = use_decoding_audio(audio[0].receiver, queue.push)
        if session.decoding_buffer is None:
            # aiortc decodes; without its 80 ms wait where its buffer can be replaced.
            use_immediate_audio(audio[0].receiver)
            remote = next((t for t in remote_tracks if t.kind == "audio"), None)
            if remote is not None:
                session.consumer = asyncio.ensure_future(read_audio(remote, queue.push))
    if audio[0].direction in ("sendrecv", "recvonly"):
        pc.addTrack(track)
    return session


async def answer(session: Session, public_ip: str) -> str:
    """The SDP answer; host candidates carry `public_ip` when the server is behind a 1:1 NAT."""
    pc = session.pc
    try:
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        raise BadOffer(f"no answer could be made for the offer: {exc}") from None
    sdp: str = pc.localDescription.sdp
    return advertise_address(sdp, public_ip) if public_ip else sdp


async def close(session: Session) -> None:
    session.track.end()
    if session.consumer is not None:
        session.consumer.cancel()
    await session.pc.close()
    log.info("space(%s) %s session %s closed", session.space_id, session.kind, session.id)
    if session.decoding_buffer is not None and session.queue is not None:
        log.info(
            "space(%s) user %s audio: %d lost packets rebuilt from FEC, %d concealed; "
            "playout ran dry %d times, dropped %d blocks",
            session.space_id,
            session.user_id,
            session.decoding_buffer.recovered,
            session.decoding_buffer.concealed,
            session.queue.underruns,
            session.queue.dropped,
        )
