"""A small WHIP/WHEP client on aiortc: publish a track to a space's stage or listen to its mix.

Used by the tests and benchmarks (bench/_audio.py puts this folder on the path), and usable as a
standard client against any WHIP/WHEP server. It lives here, not in the package: the server does
not need it, and it uses httpx, a dev-only dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from parley.media.jitter import DecodingAudioBuffer, use_decoding_audio, use_immediate_audio
from parley.media.mixer import FRAME_SAMPLES, INT16_MAX, SAMPLE_RATE_HZ, Samples
from parley.media.space import OpusEncoder
from parley.media.tracks import Packet, read_audio


class GeneratedTrack(MediaStreamTrack):
    """Audio made by `source(first_sample_index)`, 20 ms at a time, paced in real time, and
    encoded as a browser sends it to Parley (Opus voice mode with in-band FEC, at the 64 kbit/s the
    server's answer allows): aiortc sends the packets as they are."""

    kind = "audio"

    def __init__(self, source: Callable[[int], Samples], bitrate: int = 64000) -> None:
        super().__init__()
        self.source = source
        self.encoder = OpusEncoder.voice(bitrate)
        self._started: float | None = None
        self._pts = -FRAME_SAMPLES
        self._ready: list[Packet] = []
        self.sent_at: list[tuple[int, float]] = []  # (first sample index, wall time it left)

    async def recv(self) -> Packet:
        while not self._ready:
            if self.readyState != "live":
                raise MediaStreamError
            self._pts += FRAME_SAMPLES
            if self._started is None:
                self._started = time.perf_counter()
            wait = self._started + self._pts / SAMPLE_RATE_HZ - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            self.sent_at.append((self._pts, time.time()))
            self._ready = self.encoder.encode(self.source(self._pts), self._pts)
        return self._ready.pop(0)


def tone(frequency_hz: float, amplitude: float = 0.3) -> Callable[[int], Samples]:
    def source(start: int) -> Samples:
        n = np.arange(start, start + FRAME_SAMPLES)
        wave = np.sin(2 * math.pi * frequency_hz * n / SAMPLE_RATE_HZ) * amplitude * INT16_MAX
        return wave.astype(np.int16)

    return source


def looped(samples: Samples) -> Callable[[int], Samples]:
    """Plays `samples` (48 kHz mono) over and over."""

    def source(start: int) -> Samples:
        index = np.arange(start, start + FRAME_SAMPLES) % samples.size
        return samples[index]

    return source


@dataclass
class Recording:
    """What a client received: blocks of mono samples with their arrival times."""

    arrivals: list[tuple[float, Samples]] = field(default_factory=list)
    # The RTP timestamp of each arrival's block (when the receive path decodes it itself).
    timestamps: list[int] = field(default_factory=list)

    def since(self, t: float, until: float | None = None) -> Samples:
        blocks = [s for at, s in self.arrivals if at >= t and (until is None or at < until)]
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)

    def last(self, seconds: float) -> Samples:
        return self.since(time.time() - seconds)


class WebRtcClient:
    """One WHIP (publish) or WHEP (listen) session of a user, by personal API token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        space_id: int,
        kind: str,
        track: MediaStreamTrack | None = None,
        *,
        low_latency: bool = True,
    ) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.url = f"{base_url}/api/spaces/{space_id}/{kind}"
        self.kind = kind
        self.track = track
        self.low_latency = low_latency
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.recording = Recording()
        self.location: str | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._decoder: DecodingAudioBuffer | None = None
        self.received = asyncio.Event()

    async def connect(self) -> httpx.Response:
        """Offers, posts, answers. Returns the server's response (201 when it worked)."""
        if self.kind == "whip":
            self.pc.addTrack(self.track if self.track is not None else GeneratedTrack(tone(0, 0)))
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        decoding = False
        if self.low_latency:
            receiver = self.pc.getTransceivers()[0].receiver
            self._decoder = use_decoding_audio(receiver, self._record)
            decoding = self._decoder is not None
            if not decoding:
                use_immediate_audio(receiver)

        @self.pc.on("track")
        def _on_track(remote: MediaStreamTrack) -> None:
            if not decoding:
                self._consumer = asyncio.ensure_future(read_audio(remote, self._record))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient(timeout=20) as http:
            response = await http.post(
                self.url,
                content=self.pc.localDescription.sdp,
                headers={**self.headers, "Content-Type": "application/sdp"},
            )
        if response.status_code != 201:
            await self.pc.close()
            return response
        self.location = response.headers["location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        return response

    def _record(self, samples: Samples) -> None:
        self.recording.arrivals.append((time.time(), samples))
        if self._decoder is not None:
            self.recording.timestamps.append(self._decoder.block_timestamp)
        self.received.set()

    async def delete(self) -> int:
        """Leaves via the session URL; the HTTP status."""
        assert self.location is not None
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.delete(self.base_url + self.location, headers=self.headers)
        return response.status_code

    async def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
        await self.pc.close()
