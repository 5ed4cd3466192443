"""aiortc tracks the engine feeds with Opus packets (aiortc packetizes an av.Packet as it is): a
member's mix-minus, and the listeners' full mix encoded once for all of them."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet as AvPacket
from av.stream import Stream

from parley.media.mixer import FRAME_SAMPLES, SAMPLE_RATE_HZ, Samples

if TYPE_CHECKING:
    Packet = AvPacket[Stream]
else:  # PyAV's classes are generic only in its stubs
    Packet = AvPacket

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE_HZ)
# Frames or packets a track may hold before the oldest is dropped: a peer that stalls then
# catches up must not carry the backlog as added delay.
MAX_QUEUED = 3


def audio_frame(samples: Samples, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE_HZ
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame


def mono_samples(frame: av.AudioFrame) -> Samples:
    """A received frame as mono int16 at 48 kHz (aiortc decodes Opus to interleaved stereo)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if channels == 1:
        return np.asarray(data.reshape(-1), dtype=np.int16)
    per_channel = data if frame.format.is_planar else data.reshape(-1, channels).T
    # Integer average of the channels: exact and several times faster than a float mean.
    mono: Samples = (per_channel.astype(np.int32).sum(axis=0) // channels).astype(np.int16)
    return mono


async def read_audio(remote: MediaStreamTrack, on_samples: Callable[[Samples], None]) -> None:
    """Feeds every frame of a received audio track, as mono samples, until the track ends."""
    while True:
        try:
            frame = await remote.recv()
        except MediaStreamError:
            return
        assert isinstance(frame, av.AudioFrame)
        on_samples(mono_samples(frame))


class QueueTrack(MediaStreamTrack):
    """An audio track whose recv() returns what the engine pushed, in order."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[av.AudioFrame | Packet | None] = asyncio.Queue()

    def push(self, item: av.AudioFrame | Packet) -> None:
        if self._queue.qsize() >= MAX_QUEUED:
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def recv(self) -> av.AudioFrame | Packet:
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            self.stop()
            raise MediaStreamError
        return item


class MixMinusTrack(QueueTrack):
    """Everyone on stage but the member it is sent to, as Opus packets encoded by the media
    clock."""


class ListenerTrack(QueueTrack):
    """The full mix as Opus packets, shared by every listener: aiortc packetizes a returned
    Packet without re-encoding it."""


class InputQueue:
    """A member's decoded audio waiting for the mixer's ticks: their playout (jitter) buffer.

    One producer (the receive path) and one consumer (the media clock's thread). Arriving audio is
    cut into 20 ms blocks. The queue keeps a cushion of `cushion` blocks beyond the one being
    played, so a block arriving a few ms late is still there when the clock reads; after running
    dry it refills that cushion before playing again, and the gap is covered by fading out the last
    block rather than cut to silence. When a whole window (1 s) always had more than the cushion to
    spare, one block goes, preferably a quiet one, so a burst never turns into lasting delay.
    """

    def __init__(self, depth: int = 8, cushion: int = 1, window_ticks: int = 50) -> None:
        from collections import deque

        self._blocks: deque[Samples] = deque(maxlen=depth)
        self._partial: Samples = np.zeros(0, dtype=np.int16)
        self.cushion = cushion
        self._window_ticks = window_ticks
        self._ticks = 0
        self._min_spare = depth
        self._surplus = False
        self._priming = True
        self._last: Samples | None = None
        self._faded = 0
        self.underruns = 0
        self.dropped = 0
        # Called once, from the receive path, when the member's first audio arrives (armed again
        # after a stall, for the audio coming back).
        self.on_first_audio: Callable[[], None] | None = None
        # When audio last arrived (time.monotonic()): a float written whole by the receive path.
        self.last_audio_s = 0.0

    def push(self, samples: Samples) -> None:
        self.last_audio_s = time.monotonic()
        if self.on_first_audio is not None:
            heard, self.on_first_audio = self.on_first_audio, None
            heard()
        if self._partial.size:
            samples = np.concatenate((self._partial, samples))
        whole = samples.size // FRAME_SAMPLES * FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._blocks.append(samples[start : start + FRAME_SAMPLES])
        self._partial = samples[whole:]

    def pop(self) -> Samples | None:
        available = len(self._blocks)
        if self._priming:
            if available <= self.cushion:
                return self._fade()
            self._priming = False
        elif available == 0:
            self.underruns += 1
            self._priming = True
            return self._fade()
        self._track_surplus(available - 1)
        if self._surplus and available > self.cushion + 1 and self._quiet(self._blocks[0]):
            self._blocks.popleft()
            self.dropped += 1
            self._surplus = False
        block = self._blocks.popleft()
        self._last, self._faded = block, 0
        return block

    def _track_surplus(self, spare: int) -> None:
        self._min_spare = min(self._min_spare, spare)
        self._ticks += 1
        if self._ticks >= self._window_ticks:
            if self._min_spare > self.cushion:
                self._surplus = True
            self._ticks, self._min_spare = 0, spare

    @staticmethod
    def _quiet(block: Samples) -> bool:
        return int(np.max(np.abs(block.astype(np.int32)))) < 1000  # below about -30 dBFS

    def _fade(self) -> Samples | None:
        """The last block again, each time at half the level, then silence."""
        if self._last is None or self._faded >= 3:
            return None
        self._faded += 1
        return (self._last >> self._faded).astype(np.int16)

    def __len__(self) -> int:
        return len(self._blocks)
