"""The media engine of this node: live spaces' WebRTC sessions, their mixer and listener fan-out.

Audio flow (DESIGN.md "How audio flows"): each stage member publishes Opus over a WHIP session;
aiortc decodes it (with the immediate jitter path, media/jitter.py) and the frames wait in the
member's InputQueue. One media thread ticks every 20 ms for every live space: it takes one block
per member, mixes the members the stage rules allow (on stage, unmuted), gives each publishing
member their mix-minus, encodes the full mix to Opus ONCE and hands the same packets to every
listener's track. Decoding, mixing and encoding never run on the event loop.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import av
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from parley.actions.base import Services, publish, space_channel
from parley.domain.events import Levels
from parley.domain.stage import ON_STAGE
from parley.media.jitter import use_immediate_audio
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
    QueueTrack,
    audio_frame,
    mono_samples,
)

log = logging.getLogger(__name__)

SessionKind = Literal["whip", "whep"]
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE_HZ)


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


def _allowed(message: dict[str, Any]) -> bool:
    member = message["member"]
    return bool(member["role"] in {r.value for r in ON_STAGE} and not member["muted"])


class ListenerEncoder:
    """The full mix to Opus, once for all listeners of a space."""

    def __init__(self, bitrate: int, frame_ms: int) -> None:
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
    mix_minus: dict[int, av.AudioFrame]
    packets: list[Packet]
    levels: dict[int, float] | None


@dataclass(eq=False)
class SpaceMedia:
    """One live space's media. The loop replaces the dicts and sets whole (copy on write), so the
    media thread always reads a consistent reference."""

    space_id: int
    encoder: ListenerEncoder
    inputs: dict[int, InputQueue] = field(default_factory=dict)
    allowed: frozenset[int] = frozenset()
    mix_minus_tracks: dict[int, MixMinusTrack] = field(default_factory=dict)
    listener_tracks: frozenset[ListenerTrack] = frozenset()
    sessions: dict[str, Session] = field(default_factory=dict)
    mixer: StageMixer = field(default_factory=StageMixer)
    levels: LevelReporter = field(default_factory=LevelReporter)
    pts: int = 0
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
        outputs = self.mix_minus_tracks
        full, minus = self.mixer.mix(active, set(outputs))
        frames = {member: audio_frame(samples, self.pts) for member, samples in minus.items()}
        self.pts += FRAME_SAMPLES
        packets = self.encoder.encode(full) if self.listener_tracks else []
        return TickOutput(frames, packets, self.levels.tick(allowed & set(inputs)))

    def deliver(self, out: TickOutput) -> None:
        """Hands a tick's results to the tracks, on the event loop."""
        for member, frame in out.mix_minus.items():
            track = self.mix_minus_tracks.get(member)
            if track is not None:
                track.push(frame)
        for packet in out.packets:
            for listener in self.listener_tracks:
                listener.push(packet)


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


class MediaEngine:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self._spaces: dict[int, SpaceMedia] = {}
        self._spaces_list: list[SpaceMedia] = []
        self._clock: MediaClock | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Awaitable[None]) -> None:
        """Fire-and-forget work the engine still owns: referenced until done, cancelled on stop."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._clock = MediaClock(asyncio.get_running_loop(), self._live, self._delivered)
        self._clock.start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for space in list(self._spaces.values()):
            await self.close_space(space.space_id)
        if self._clock is not None:
            self._clock.stopping.set()
            await asyncio.to_thread(self._clock.join, 5)
            self._clock = None

    def _live(self) -> list[SpaceMedia]:
        return self._spaces_list

    def _delivered(self, space: SpaceMedia, out: TickOutput) -> None:
        space.deliver(out)
        if out.levels:
            self._spawn(self._publish_levels(space.space_id, out.levels))

    async def _publish_levels(self, space_id: int, levels: dict[int, float]) -> None:
        event = Levels(levels={str(member): value for member, value in levels.items()})
        await publish(self.services, [(space_channel(space_id), event.model_dump_json())])

    def configuration(self) -> RTCConfiguration:
        servers = [RTCIceServer(**server) for server in self.settings.ice_servers]
        return RTCConfiguration(iceServers=servers)

    # --- spaces --------------------------------------------------------------------------------
    async def _space(self, space_id: int) -> SpaceMedia:
        space = self._spaces.get(space_id)
        if space is None:
            encoder = ListenerEncoder(
                self.settings.listener_bitrate, self.settings.listener_frame_ms
            )
            space = SpaceMedia(space_id=space_id, encoder=encoder)
            # Listen to the room's changes before reading seats, so none is missed.
            await self.services.bus.subscribe(space_channel(space_id), self._on_room_event)
            self._spaces[space_id] = space
            self._spaces_list = list(self._spaces.values())
        return space

    async def close_space(self, space_id: int) -> None:
        space = self._spaces.pop(space_id, None)
        if space is None:
            return
        self._spaces_list = list(self._spaces.values())
        await self.services.bus.unsubscribe(space_channel(space_id), self._on_room_event)
        for session in list(space.sessions.values()):
            await self._close(space, session)

    def _on_room_event(self, channel: str, message: str) -> None:
        space = self._spaces.get(int(channel.rsplit(".", 1)[1]))
        if space is None:
            return
        data = json.loads(message)
        kind = data.get("type")
        if kind == "member_updated":
            user_id = data["member"]["user"]["id"]
            if data["seq"] <= space.member_seq.get(user_id, 0):
                return
            space.member_seq[user_id] = data["seq"]
            self.set_allowed(space, user_id, _allowed(data))
            if data["member"]["role"] not in {r.value for r in ON_STAGE}:
                # Off the stage: their publishing session ends (they listen over WHEP).
                self._close_user(space, user_id, kinds=("whip",))
        elif kind == "member_removed":
            space.member_seq[data["user_id"]] = data["seq"]
            self.set_allowed(space, data["user_id"], False)
            self._close_user(space, data["user_id"], kinds=("whip", "whep"))
        elif kind == "space_updated" and data["space"]["state"] in ("ended", "canceled"):
            self._spawn(self.close_space(space.space_id))

    def set_allowed(self, space: SpaceMedia, user_id: int, allowed: bool) -> None:
        if allowed:
            space.allowed = space.allowed | {user_id}
        else:
            space.allowed = space.allowed - {user_id}

    def _close_user(self, space: SpaceMedia, user_id: int, kinds: tuple[str, ...]) -> None:
        for session in list(space.sessions.values()):
            if session.user_id == user_id and session.kind in kinds:
                self._spawn(self._close(space, session))

    # --- sessions ------------------------------------------------------------------------------
    async def open_session(
        self,
        kind: SessionKind,
        space_id: int,
        user_id: int,
        offer_sdp: str,
        check: Callable[[], Awaitable[tuple[bool, int]]],
    ) -> tuple[str, str]:
        """Answers a WHIP (publish) or WHEP (listen) offer; returns the session id and answer.

        `check` enforces who may do this and returns whether the member's audio may be mixed now
        and the seq of the space it read that at. It runs after this engine listens to the
        space's changes, so a change committed meanwhile is never missed.
        """
        async with self._lock:
            space = await self._space(space_id)
        try:
            allowed, seat_seq = await check()
        except Exception:
            if not space.sessions:
                await self.close_space(space_id)
            raise
        pc = RTCPeerConnection(self.configuration())
        track: QueueTrack = MixMinusTrack() if kind == "whip" else ListenerTrack()
        session = Session(str(uuid.uuid4()), kind, space_id, user_id, pc, track)

        @pc.on("track")  # fired inside setRemoteDescription
        def _on_track(remote: MediaStreamTrack) -> None:
            if kind == "whip" and remote.kind == "audio" and session.consumer is None:
                queue = InputQueue()
                space.inputs = {**space.inputs, user_id: queue}
                session.consumer = asyncio.ensure_future(self._consume(remote, queue))

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception as exc:
            await pc.close()
            raise BadOffer(f"the SDP offer could not be used: {exc}") from None
        audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            await pc.close()
            raise BadOffer("the SDP offer has no audio section")
        transceiver = audio[0]
        use_immediate_audio(transceiver.receiver)
        if transceiver.direction in ("sendrecv", "recvonly"):
            pc.addTrack(track)
        if kind == "whip":
            assert isinstance(track, MixMinusTrack)
            space.mix_minus_tracks = {**space.mix_minus_tracks, user_id: track}
            if seat_seq >= space.member_seq.get(user_id, 0):
                space.member_seq[user_id] = seat_seq
                self.set_allowed(space, user_id, allowed)
        else:
            assert isinstance(track, ListenerTrack)
            space.listener_tracks = space.listener_tracks | {track}

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(space, session)

        space.sessions[session.id] = session
        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self._close(space, session)
            raise BadOffer(f"no answer could be made for the offer: {exc}") from None
        log.info("space(%s) %s session %s for user %s", space_id, kind, session.id, user_id)
        return session.id, pc.localDescription.sdp

    async def _consume(self, remote: MediaStreamTrack, queue: InputQueue) -> None:
        while True:
            try:
                frame = await remote.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.AudioFrame)
            queue.push(mono_samples(frame))

    def session(self, space_id: int, session_id: str) -> Session | None:
        space = self._spaces.get(space_id)
        return space.sessions.get(session_id) if space is not None else None

    async def close_session(self, space_id: int, session_id: str) -> None:
        space = self._spaces.get(space_id)
        session = space.sessions.get(session_id) if space is not None else None
        if space is not None and session is not None:
            await self._close(space, session)

    async def _close(self, space: SpaceMedia, session: Session) -> None:
        if space.sessions.pop(session.id, None) is None:
            return
        if session.kind == "whip":
            if space.mix_minus_tracks.get(session.user_id) is session.track:
                space.mix_minus_tracks = {
                    k: v for k, v in space.mix_minus_tracks.items() if k != session.user_id
                }
                space.inputs = {k: v for k, v in space.inputs.items() if k != session.user_id}
                self.set_allowed(space, session.user_id, False)
        else:
            assert isinstance(session.track, ListenerTrack)
            space.listener_tracks = space.listener_tracks - {session.track}
        session.track.end()
        if session.consumer is not None:
            session.consumer.cancel()
        await session.pc.close()
        log.info("space(%s) %s session %s closed", space.space_id, session.kind, session.id)

    def sessions_of(self, space_id: int) -> list[Session]:
        space = self._spaces.get(space_id)
        return list(space.sessions.values()) if space is not None else []

    @property
    def clock(self) -> MediaClock | None:
        return self._clock
