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
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import av
import numpy as np

from parley.media.fanout import FastSender
from parley.media.hls import HlsWriter
from parley.media.mixer import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE_HZ,
    SILENCE,
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
from parley.telemetry.metrics import OPUS_ENCODE, TICK_LATENESS_SECONDS, count_error

log = logging.getLogger(__name__)
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE_HZ)
# A member counts as making sound above about -51 dBFS, and for 300 ms after.
AUDIBLE_LEVEL = 0.15
AUDIBLE_HOLD_TICKS = 15
# The replay marks a new speaker once they have been the loudest for half a second.
SPEAKER_CHANGE_TICKS = 25


class SpeakerChanges:
    """Who holds the floor, for the replay's markers: the loudest audible member, once they have
    been loudest for SPEAKER_CHANGE_TICKS in a row (a cough does not move the marker)."""

    def __init__(self) -> None:
        self.speaker: int | None = None
        self._candidate: int | None = None
        self._run = 0

    def observe(self, loudest: int | None) -> int | None:
        """Returns the new speaker when the floor changes hands this tick."""
        if loudest is None or loudest == self.speaker:
            self._candidate, self._run = None, 0
            return None
        if loudest == self._candidate:
            self._run += 1
        else:
            self._candidate, self._run = loudest, 1
        if self._run >= SPEAKER_CHANGE_TICKS:
            self.speaker, self._candidate, self._run = loudest, None, 0
            return loudest
        return None


class OpusEncoder:
    """Mono Opus for one output, on the media clock's thread (off the event loop, and without
    aiortc's stereo resampling).

    Two profiles: the listeners' full mix (`voice`, encoded once per space) uses the voice
    mode with in-band FEC, so a listener can rebuild a lost packet from the next (RFC 7587
    s3.1); a publisher's mix-minus (`low_delay`, one per talking member) uses the restricted
    low-delay mode, which has no FEC but costs half the CPU and 4 ms less delay.
    """

    def __init__(self, bitrate: int, frame_ms: int, options: dict[str, str]) -> None:
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.sample_rate = SAMPLE_RATE_HZ
        self.codec.layout = "mono"
        self.codec.format = "s16"
        self.codec.bit_rate = bitrate
        self.codec.time_base = TIME_BASE
        self.codec.options = {"frame_duration": str(frame_ms), **options}
        # One frame reused for every block: filling it costs less than making a new one, and
        # libopus copies the samples in before encode() returns.
        self._frame = audio_frame(SILENCE, 0)
        self._samples = np.frombuffer(memoryview(self._frame.planes[0]), dtype=np.int16)

    @classmethod
    def voice(cls, bitrate: int, frame_ms: int = FRAME_MS) -> OpusEncoder:
        return cls(bitrate, frame_ms, {"application": "voip", "fec": "1", "packet_loss": "5"})

    @classmethod
    def low_delay(cls, bitrate: int) -> OpusEncoder:
        # Speech needs no more than 12 kHz of audio bandwidth: fewer bands to code.
        options = {"application": "lowdelay", "compression_level": "5", "cutoff": "12000"}
        return cls(bitrate, FRAME_MS, options)

    def encode(self, samples: Samples, pts: int) -> list[Packet]:
        """`pts` is the space's clock (its tick x 960), shared by every encoder of the space, so
        a member moved between their own stream and the shared one keeps one timeline."""
        started = time.perf_counter()
        frame = self._frame
        self._samples[:] = samples
        frame.pts = pts
        packets: list[Packet] = list(self.codec.encode(frame))
        for packet in packets:
            packet.time_base = TIME_BASE
        # A plain sum (telemetry/metrics.py): no lock on the media clock's thread.
        OPUS_ENCODE.add(time.perf_counter() - started)
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
    stage_encoder: OpusEncoder = field(init=False)
    ticks: int = 0
    _audible_until: dict[int, int] = field(default_factory=dict)
    # Host analytics: ticks each member was heard speaking (0 while on stage, unmuted and
    # silent), taken and reset by the engine (`MediaEngine.take_talk_ms`).
    talk_ticks: Counter[int] = field(default_factory=Counter)
    count_talk: bool = True  # PARLEY_ANALYTICS
    # The seq of the last change applied per member, so a slower read of their seat never
    # overrides a newer change already received.
    member_seq: dict[int, int] = field(default_factory=dict)
    # The space's HLS and recording (media/hls.py), on the node that claimed the space.
    hls: HlsWriter | None = None
    speakers: SpeakerChanges = field(default_factory=SpeakerChanges)
    # Live captions (captions/pipeline.py): each tick's allowed members' own blocks, before
    # mixing, with where the tick starts on the recording's timeline. Set from the media loop.
    caption_tap: Callable[[Mapping[int, Samples], float], None] | None = None

    def __post_init__(self) -> None:
        self.stage_encoder = OpusEncoder.low_delay(self.stage_bitrate)

    def tick(self) -> TickOutput:
        """One 20 ms step, on the media thread."""
        inputs, allowed = self.inputs, self.allowed
        self.ticks += 1
        pts = self.ticks * FRAME_SAMPLES
        active: dict[int, Samples] = {}
        loudest, loudest_level = None, AUDIBLE_LEVEL
        for member, queue in inputs.items():
            block = queue.pop()
            if block is not None and member in allowed:
                active[member] = block
                loudness = level(block)
                self.levels.add(member, loudness)
                if loudness >= AUDIBLE_LEVEL:
                    self._audible_until[member] = self.ticks + AUDIBLE_HOLD_TICKS
                if loudness >= loudest_level:
                    loudest, loudest_level = member, loudness
        outputs = set(self.mix_minus_tracks)
        # Only a member who is making sound needs a mix of their own: for everyone else the
        # mix-minus is the full mix, encoded once and shared.
        talking = {
            m for m in outputs & active.keys() if self._audible_until.get(m, 0) >= self.ticks
        }
        if self.count_talk:
            talk = self.talk_ticks
            for member in active:
                talk[member] += self._audible_until.get(member, 0) >= self.ticks
        full, minus = self.mixer.mix(active, talking)
        encoders = self.mix_minus_encoders
        for gone in set(encoders) - talking:
            del encoders[gone]
        mix_minus: dict[int, list[Packet]] = {}
        for member, samples in minus.items():
            encoder = encoders.get(member)
            if encoder is None:
                encoder = encoders[member] = OpusEncoder.low_delay(self.stage_bitrate)
            mix_minus[member] = encoder.encode(samples, pts)
        if outputs - talking:
            shared = self.stage_encoder.encode(full, pts)
            for member in outputs - talking:
                mix_minus[member] = shared
        hls = self.hls
        tap = self.caption_tap
        if tap is not None:
            tap(active, hls.timeline_s if hls is not None else (self.ticks - 1) * FRAME_MS / 1000)
        if hls is not None:
            hls.push(full)
            new_speaker = self.speakers.observe(loudest)
            if new_speaker is not None:
                hls.note(speaker=new_speaker)
        listening = self.listener_tracks or self.fast_listeners
        packets = self.encoder.encode(full, pts) if listening else []
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
            # The tick's one metric: how late it started (docs/operations.md).
            TICK_LATENESS_SECONDS.observe(max(0.0, started - next_at))
            for space in self.spaces():
                try:
                    out = space.tick()
                except Exception:
                    log.exception("space(%s) media tick failed", space.space_id)
                    count_error("media_tick")
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
