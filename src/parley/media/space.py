"""One live space's media on this node, and the clock that ticks every space.

Each 20 ms tick (on the media clock's thread, never the event loop) takes one block per publishing
member, mixes the members the stage rules allow (on stage, unmuted), makes each publisher's
mix-minus, and encodes the full mix to Opus ONCE; the same packets then go to every listener.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av

from parley.media.fanout import FastSender
from parley.media.mixer import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE_HZ,
    LevelReporter,
    Samples,
    StageMixer,
    level,
)
from parley.media.tracks import (
    InputQueue,
    ListenerTrack,
    MixMinusTrack,
    Packet,
    audio_frame,
)

log = logging.getLogger(__name__)
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE_HZ)


class OpusEncoder:
    """Mono Opus for one output: the listeners' full mix (one for all of them) or a publisher's
    mix-minus. Encoding here, on the media clock's thread, keeps it off the event loop and skips
    aiortc's stereo resampling."""

    def __init__(self, bitrate: int, frame_ms: int = FRAME_MS) -> None:
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.sample_rate = SAMPLE_RATE_HZ
        self.codec.layout = "mono"
        self.codec.format = "s16"
        self.codec.bit_rate = bitrate
        self.codec.time_base = TIME_BASE
        # In-band FEC lets a receiver rebuild a lost packet from the next one (RFC 7587 s3.1).
        self.codec.options = {
            "application": "voip",
            "frame_duration": str(frame_ms),
            "fec": "1",
            "packet_loss": "5",
        }
        self.pts = 0

    def encode(self, samples: Samples) -> list[Packet]:
        frame = audio_frame(samples, self.pts)
        self.pts += FRAME_SAMPLES
        packets: list[Packet] = list(self.codec.encode(frame))
        for packet in packets:
            packet.time_base = TIME_BASE
        return packets


@dataclass
class TickOutput:
    mix_minus: dict[int, list[Packet]]
    packets: list[Packet]
    levels: dict[int, float] | None


@dataclass(eq=False)
class SpaceMedia:
    """One live space's media. The loop replaces the dicts and sets whole (copy on write), so the
    media thread always reads a consistent reference."""

    space_id: int
    encoder: OpusEncoder
    stage_bitrate: int = 64000
    inputs: dict[int, InputQueue] = field(default_factory=dict)
    allowed: frozenset[int] = frozenset()
    mix_minus_tracks: dict[int, MixMinusTrack] = field(default_factory=dict)
    listener_tracks: frozenset[ListenerTrack] = frozenset()
    fast_listeners: frozenset[FastSender] = frozenset()
    mixer: StageMixer = field(default_factory=StageMixer)
    levels: LevelReporter = field(default_factory=LevelReporter)
    mix_minus_encoders: dict[int, OpusEncoder] = field(default_factory=dict)
    # The seq of the last change applied per member, so a slower read of their seat never
    # overrides a newer change already received.
    member_seq: dict[int, int] = field(default_factory=dict)

    def tick(self) -> TickOutput:
        """One 20 ms step, on the media thread."""
        inputs, allowed = self.inputs, self.allowed
        active: dict[int, Samples] = {}
        for member, queue in inputs.items():
            block = queue.pop()
            if block is not None and member in allowed:
                active[member] = block
                self.levels.add(member, level(block))
        outputs = set(self.mix_minus_tracks)
        full, minus = self.mixer.mix(active, outputs)
        encoders = self.mix_minus_encoders
        for gone in set(encoders) - outputs:
            del encoders[gone]
        mix_minus: dict[int, list[Packet]] = {}
        for member, samples in minus.items():
            encoder = encoders.get(member)
            if encoder is None:
                encoder = encoders[member] = OpusEncoder(self.stage_bitrate)
            mix_minus[member] = encoder.encode(samples)
        listening = self.listener_tracks or self.fast_listeners
        packets = self.encoder.encode(full) if listening else []
        return TickOutput(mix_minus, packets, self.levels.tick(allowed & set(inputs)))

    def deliver(self, out: TickOutput) -> None:
        """Hands a tick's results to the tracks, on the event loop."""
        for member, member_packets in out.mix_minus.items():
            track = self.mix_minus_tracks.get(member)
            if track is not None:
                for packet in member_packets:
                    track.push(packet)
        for packet in out.packets:
            for listener in self.listener_tracks:
                listener.push(packet)
            if self.fast_listeners:
                payload = bytes(packet)
                for fast in self.fast_listeners:
                    fast.send(packet, payload)


class MediaClock(threading.Thread):
    """Ticks every space every 20 ms on a steady clock, off the event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        spaces: Callable[[], list[SpaceMedia]],
        on_tick: Callable[[SpaceMedia, TickOutput], None],
    ) -> None:
        super().__init__(name="parley-media-clock", daemon=True)
        self.loop = loop
        self.spaces = spaces
        self.on_tick = on_tick
        self.stopping = threading.Event()
        self.ticks = 0
        self.busy_s = 0.0

    def run(self) -> None:
        period = FRAME_MS / 1000
        next_at = time.perf_counter()
        while not self.stopping.is_set():
            started = time.perf_counter()
            for space in self.spaces():
                try:
                    out = space.tick()
                except Exception:
                    log.exception("space(%s) media tick failed", space.space_id)
                    continue
                self.loop.call_soon_threadsafe(self.on_tick, space, out)
            self.ticks += 1
            self.busy_s += time.perf_counter() - started
            next_at += period
            delay = next_at - time.perf_counter()
            if delay < -0.1:  # fell far behind (machine stalled): start a fresh schedule
                next_at = time.perf_counter()
            elif delay > 0:
                self.stopping.wait(delay)
