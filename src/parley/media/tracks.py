"""aiortc tracks the engine feeds with Opus packets (aiortc packetizes an av.Packet as it is): a
member's mix-minus, and the listeners' full mix encoded once for all of them."""

from __future__ import annotations

import asyncio
import fractions
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
    if frame.format.is_planar:
        mono = data.mean(axis=0) if channels > 1 else data[0]
    else:
        mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
    return np.asarray(mono, dtype=np.int16)


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
    """A member's decoded audio waiting for the mixer's next tick (one producer, one consumer).

    Arriving frames are cut into 20 ms blocks. The queue is the member's jitter buffer: it keeps
    what arrival jitter needs and no more. If over a whole window (0.5 s) there was always at least
    one spare block at pop time, one block is dropped, so a burst never turns into lasting delay.
    """

    def __init__(self, depth: int = 4, window_ticks: int = 25) -> None:
        from collections import deque

        self._blocks: deque[Samples] = deque(maxlen=depth)
        self._partial: Samples = np.zeros(0, dtype=np.int16)
        self._window_ticks = window_ticks
        self._ticks = 0
        self._min_spare = depth

    def push(self, samples: Samples) -> None:
        if self._partial.size:
            samples = np.concatenate((self._partial, samples))
        whole = samples.size // FRAME_SAMPLES * FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._blocks.append(samples[start : start + FRAME_SAMPLES])
        self._partial = samples[whole:]

    def pop(self) -> Samples | None:
        self._min_spare = min(self._min_spare, len(self._blocks) - 1)
        self._ticks += 1
        if self._ticks >= self._window_ticks:
            if self._min_spare >= 1 and self._blocks:
                self._blocks.popleft()
            self._ticks, self._min_spare = 0, len(self._blocks)
        try:
            return self._blocks.popleft()
        except IndexError:
            return None

    def __len__(self) -> int:
        return len(self._blocks)
