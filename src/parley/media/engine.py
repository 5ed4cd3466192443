"""The media engine of this node: the WebRTC sessions of live spaces, on an event loop of its own.

Audio flow (DESIGN.md "How audio flows"): each stage member publishes Opus over a WHIP session;
aiortc decodes it (with the immediate jitter path, media/jitter.py) and the blocks wait in the
member's InputQueue; the media clock (media/space.py) mixes and encodes every 20 ms. Listeners get
the full mix over WHEP, the same packets for all.

The peer connections (ICE, DTLS, SRTP and the per-packet sending to every listener) run on the
engine's own event loop in its own thread, so the API's event loop never carries per-packet work.
What the engine needs from the rest of the node (the bus, the store behind `check`) runs on the
API's loop, reached through `_on_api`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from parley.actions import recordings
from parley.actions.base import LIFECYCLE_CHANNEL, Services, publish, space_channel
from parley.domain.errors import AtCapacity
from parley.domain.events import Levels
from parley.domain.stage import ON_STAGE
from parley.media import hls
from parley.media.fanout import FastSender
from parley.media.jitter import DecodingAudioBuffer, use_decoding_audio, use_immediate_audio
from parley.media.sdp import advertise_address
from parley.media.space import MediaClock, OpusEncoder, SpaceMedia, TickOutput
from parley.media.tracks import InputQueue, ListenerTrack, MixMinusTrack, QueueTrack, read_audio

log = logging.getLogger(__name__)

SessionKind = Literal["whip", "whep"]
T = TypeVar("T")
_STAGE_ROLES = frozenset(role.value for role in ON_STAGE)


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
    decoder: DecodingAudioBuffer | None = None
    queue: InputQueue | None = None


def _ask_for_fec(transceiver: Any, max_bitrate: int) -> None:
    """Asks the publisher for in-band FEC and up to `max_bitrate` (RFC 7587 section 6.1 fmtp
    `useinbandfec`, `maxaveragebitrate`), so a lost packet can be rebuilt here from the next one.
    aiortc answers with its own codec's (empty) parameters; the negotiated codec is edited
    before the answer is written."""
    for codec in getattr(transceiver, "_codecs", []):
        if codec.mimeType.lower() == "audio/opus":
            codec.parameters.update(
                {"useinbandfec": 1, "minptime": 10, "maxaveragebitrate": max_bitrate}
            )


class MediaEngine:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self._spaces: dict[int, SpaceMedia] = {}
        self._spaces_list: list[SpaceMedia] = []
        self._sessions: dict[str, Session] = {}
        self._clock: MediaClock | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._api_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock: asyncio.Lock | None = None
        self.node = self.settings.resolved_node_name
        # Work started from the API loop (opening spaces as they go live), referenced until done.
        self._api_tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle (called on the API loop) --------------------------------------------------
    def start(self) -> None:
        self._api_loop = asyncio.get_running_loop()
        # asyncio's own loop: measured with bench/listener_fanout.py, uvloop's UDP sends cost
        # more per packet here (300 listeners per core against 500).
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._lock = asyncio.Lock()
            self._loop.call_soon(ready.set)
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="parley-media-loop", daemon=True)
        self._thread.start()
        ready.wait(10)
        self._clock = MediaClock(self._loop, self._live, self._delivered)
        self._clock.start()

    async def resume(self) -> None:
        """Listens for spaces going live, and takes up this node's recordings a crash or restart
        interrupted: a space still live records on (a new run of segments), one that ended
        meanwhile gets its recording finished from what was written."""
        await self.services.bus.subscribe(LIFECYCLE_CHANNEL, self._lifecycle)
        for space_id, live in await recordings.unfinished(self.services, self.node):
            if live:
                await self.open_space(space_id)
                continue
            try:
                folder = recordings.folders(self.services).current(space_id)
                segments = await asyncio.to_thread(
                    hls.close_playlists, folder, self.settings.hls_window_segments
                )
                await recordings.finish(self.services, space_id, segments)
                log.info("space(%s) recording finished after a restart", space_id)
            except Exception:
                # One damaged recording must not keep the node from starting.
                log.exception("space(%s) recording could not be finished", space_id)

    def _lifecycle(self, channel: str, message: str) -> None:
        data = json.loads(message)
        if data.get("type") == "space_live":
            task = asyncio.ensure_future(self.open_space(int(data["space_id"])))
            self._api_tasks.add(task)
            task.add_done_callback(self._api_tasks.discard)

    async def open_space(self, space_id: int) -> None:
        """Starts a live space's media (its mix, HLS and recording) before anyone connects."""
        if self._loop is None:
            return
        try:
            await self._in_media(self._open_space(space_id))
        except Exception:
            log.exception("space(%s) media could not start", space_id)

    async def _open_space(self, space_id: int) -> None:
        assert self._lock is not None
        async with self._lock:
            space = await self._space(space_id)
        if space.hls is None and not self._sessions_of(space_id):
            # Not ours to mix (claimed elsewhere, or it ended before the notice came).
            await self.close_space(space_id, ended=False)

    async def stop(self) -> None:
        if self._loop is None:
            return
        await self.services.bus.unsubscribe(LIFECYCLE_CHANNEL, self._lifecycle)
        for task in list(self._api_tasks):
            task.cancel()
        await asyncio.gather(*self._api_tasks, return_exceptions=True)
        await self._in_media(self._shutdown())
        if self._clock is not None:
            self._clock.stopping.set()
            await asyncio.to_thread(self._clock.join, 5)
            self._clock = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
        self._loop = None

    async def _shutdown(self) -> None:
        # The spaces stay live: their recordings are taken up again at the next start.
        for space_id in list(self._spaces):
            await self.close_space(space_id, ended=False)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- crossing between the two loops -----------------------------------------------------
    async def _in_media(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs `work` on the media loop and waits for it from the API loop."""
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def _on_api(self, work: Awaitable[T]) -> T:
        """Runs `work` on the API loop (bus, store) and waits for it from the media loop."""
        assert self._api_loop is not None

        async def wrapped() -> T:
            return await work

        future = asyncio.run_coroutine_threadsafe(wrapped(), self._api_loop)
        return await asyncio.wrap_future(future)

    def _spawn(self, work: Awaitable[None]) -> None:
        """Fire-and-forget work on the media loop, referenced until done, cancelled on stop."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the API loop's entry points ---------------------------------------------------------
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
        and the space's seq it read that at. It runs after the engine listens to the space's
        changes, so a change committed meanwhile is never missed.
        """
        return await self._in_media(self._open_session(kind, space_id, user_id, offer_sdp, check))

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def close_session(self, session_id: str) -> None:
        await self._in_media(self._close_by_id(session_id))

    @property
    def clock(self) -> MediaClock | None:
        return self._clock

    def ticks_of(self, space_id: int) -> int | None:
        """How many 20 ms ticks the space's media has run (its clock, in RTP units / 960)."""
        space = self._spaces.get(space_id)
        return space.ticks if space is not None else None

    # --- on the media loop --------------------------------------------------------------------
    def _live(self) -> list[SpaceMedia]:
        return self._spaces_list

    def _delivered(self, space: SpaceMedia, out: TickOutput) -> None:
        space.deliver(out)
        if out.levels:
            event = Levels(levels={str(member): value for member, value in out.levels.items()})
            outbox = [(space_channel(space.space_id), event.model_dump_json())]
            self._spawn(self._on_api(publish(self.services, outbox)))

    def configuration(self) -> RTCConfiguration:
        servers = [RTCIceServer(**server) for server in self.settings.ice_servers]
        return RTCConfiguration(iceServers=servers)

    async def _space(self, space_id: int) -> SpaceMedia:
        space = self._spaces.get(space_id)
        if space is None:
            encoder = OpusEncoder.voice(
                self.settings.listener_bitrate, self.settings.listener_frame_ms
            )
            space = SpaceMedia(
                space_id=space_id, encoder=encoder, stage_bitrate=self.settings.stage_bitrate
            )
            self._spaces[space_id] = space
            # Listen to the room's changes before anything reads a seat, so none is missed.
            await self._on_api(self.services.bus.subscribe(space_channel(space_id), self._heard))
            try:
                await self._start_hls(space)
            except Exception:
                # The room still sounds over WebRTC; the claim stays for a restart to take up.
                log.exception("space(%s) HLS could not start", space_id)
            finally:
                # Ticked only from here on: the recording starts with the space's first tick.
                self._spaces_list = list(self._spaces.values())
        return space

    async def _start_hls(self, space: SpaceMedia) -> None:
        """HLS and the recording, on the node that claims the space (one per space)."""
        claimed = await self._on_api(recordings.claim(self.services, space.space_id, self.node))
        if not claimed:
            log.info("space(%s) media: not claimed by this node, no HLS here", space.space_id)
            return
        writer = hls.HlsWriter(
            recordings.folders(self.services).live(space.space_id),
            bitrate=self.settings.hls_bitrate,
            window=self.settings.hls_window_segments,
            clock=self.services.clock,
        )
        await asyncio.to_thread(writer.start)
        space.hls = writer

    async def close_space(self, space_id: int, *, ended: bool = True) -> None:
        """Stops a space's media; `ended` (the space is over) also finishes its recording."""
        assert self._lock is not None
        # Under the lock: a space still being opened (claim, writer start) is closed after it.
        async with self._lock:
            space = self._spaces.pop(space_id, None)
            if space is None:
                return
            self._spaces_list = list(self._spaces.values())
        await self._on_api(self.services.bus.unsubscribe(space_channel(space_id), self._heard))
        for session in self._sessions_of(space_id):
            await self._close(session)
        if space.hls is not None:
            try:
                segments = await asyncio.to_thread(space.hls.finish, end_playlists=ended)
                if ended:
                    await self._on_api(recordings.finish(self.services, space_id, segments))
            except Exception:
                # Left `recording`: the next start finishes it from what was written.
                log.exception("space(%s) recording could not be finished", space_id)

    @property
    def webrtc_listener_count(self) -> int:
        return sum(1 for s in self._sessions.values() if s.kind == "whep")

    @property
    def webrtc_listeners_full(self) -> bool:
        return self.webrtc_listener_count >= self.settings.webrtc_listener_capacity

    def _heard(self, channel: str, message: str) -> None:
        """A room change, on the API loop: handled on the media loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_room_event, channel, message)

    def _on_room_event(self, channel: str, message: str) -> None:
        space = self._spaces.get(int(channel.rsplit(".", 1)[1]))
        if space is None:
            return
        data = json.loads(message)
        kind = data.get("type")
        if kind == "member_updated":
            member = data["member"]
            user_id = member["user"]["id"]
            if data["seq"] <= space.member_seq.get(user_id, 0):
                return
            space.member_seq[user_id] = data["seq"]
            on_stage = member["role"] in _STAGE_ROLES
            self._set_allowed(space, user_id, on_stage and not member["muted"])
            if not on_stage:
                # Off the stage: their publishing session ends (they listen over WHEP).
                self._close_user(space, user_id, kinds=("whip",))
        elif kind == "member_removed":
            space.member_seq[data["user_id"]] = data["seq"]
            self._set_allowed(space, data["user_id"], False)
            self._close_user(space, data["user_id"], kinds=("whip", "whep"))
        elif kind == "presence" and space.hls is not None:
            space.hls.note(listeners=int(data["listener_count"]))
        elif kind == "space_updated" and data["space"]["state"] in ("ended", "canceled"):
            self._spawn(self.close_space(space.space_id))

    @staticmethod
    def _set_allowed(space: SpaceMedia, user_id: int, allowed: bool) -> None:
        # Replaced whole: the media clock's thread reads it without a lock.
        if allowed:
            space.allowed = space.allowed | {user_id}
        else:
            space.allowed = space.allowed - {user_id}

    def _sessions_of(self, space_id: int) -> list[Session]:
        return [s for s in self._sessions.values() if s.space_id == space_id]

    def _close_user(self, space: SpaceMedia, user_id: int, kinds: tuple[str, ...]) -> None:
        for session in self._sessions_of(space.space_id):
            if session.user_id == user_id and session.kind in kinds:
                self._spawn(self._close(session))

    async def _open_session(
        self,
        kind: SessionKind,
        space_id: int,
        user_id: int,
        offer_sdp: str,
        check: Callable[[], Awaitable[tuple[bool, int]]],
    ) -> tuple[str, str]:
        assert self._lock is not None
        if kind == "whep" and self.webrtc_listeners_full:
            raise AtCapacity("this server's low-latency listeners are full: listen over HLS")
        async with self._lock:
            space = await self._space(space_id)
        try:
            allowed, seat_seq = await self._on_api(check())
        except Exception:
            # A space with no live media of its own (not claimed here) needs none kept.
            if not self._sessions_of(space_id) and space.hls is None:
                await self.close_space(space_id)
            raise
        pc = RTCPeerConnection(self.configuration())
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
        if kind == "whip":
            _ask_for_fec(audio[0], self.settings.stage_bitrate)
            queue = session.queue = InputQueue()
            session.decoder = use_decoding_audio(audio[0].receiver, queue.push)
            if session.decoder is None:
                use_immediate_audio(audio[0].receiver)
                remote = next((t for t in remote_tracks if t.kind == "audio"), None)
                if remote is not None:
                    session.consumer = asyncio.ensure_future(read_audio(remote, queue.push))
            space.inputs = {**space.inputs, user_id: queue}
        if audio[0].direction in ("sendrecv", "recvonly"):
            pc.addTrack(track)
        if isinstance(track, MixMinusTrack):
            space.mix_minus_tracks = {**space.mix_minus_tracks, user_id: track}
            if seat_seq >= space.member_seq.get(user_id, 0):
                space.member_seq[user_id] = seat_seq
                self._set_allowed(space, user_id, allowed)
        elif isinstance(track, ListenerTrack) and not self.settings.listener_fast_path:
            space.listener_tracks = space.listener_tracks | {track}

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(session)
            elif pc.connectionState == "connected" and isinstance(track, ListenerTrack):
                self._use_fast_path(space, session, track)

        self._sessions[session.id] = session
        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self._close(session)
            raise BadOffer(f"no answer could be made for the offer: {exc}") from None
        log.info("space(%s) %s session %s for user %s", space_id, kind, session.id, user_id)
        answer = pc.localDescription.sdp
        if self.settings.media_public_ip:
            answer = advertise_address(answer, self.settings.media_public_ip)
        return session.id, answer

    def _use_fast_path(self, space: SpaceMedia, session: Session, track: ListenerTrack) -> None:
        """Serves a listener whose connection is up from the fan-out loop (media/fanout.py), or,
        if that cannot attach, from aiortc's sender. Only one of them ever sends on a connection:
        the receiver's SRTP replay window follows one sequence of numbers. The track stays on the
        connection, idle, so aiortc's sender waits instead of polling."""
        if not self.settings.listener_fast_path or session.id not in self._sessions:
            return
        if session.fast is not None or track in space.listener_tracks:
            return
        fast = FastSender.attach(session.pc)
        if fast is None:
            space.listener_tracks = space.listener_tracks | {track}
            return
        session.fast = fast
        space.fast_listeners = space.fast_listeners | {fast}

    async def _close_by_id(self, session_id: str) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            await self._close(session)

    async def _close(self, session: Session) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        space = self._spaces.get(session.space_id)
        if space is not None and isinstance(session.track, MixMinusTrack):
            if space.mix_minus_tracks.get(session.user_id) is session.track:
                space.mix_minus_tracks = {
                    k: v for k, v in space.mix_minus_tracks.items() if k != session.user_id
                }
                space.inputs = {k: v for k, v in space.inputs.items() if k != session.user_id}
                self._set_allowed(space, session.user_id, False)
        elif space is not None and isinstance(session.track, ListenerTrack):
            space.listener_tracks = space.listener_tracks - {session.track}
            if session.fast is not None:
                space.fast_listeners = space.fast_listeners - {session.fast}
        session.track.end()
        if session.consumer is not None:
            session.consumer.cancel()
        await session.pc.close()
        log.info("space(%s) %s session %s closed", session.space_id, session.kind, session.id)
        if session.decoder is not None and session.queue is not None:
            log.info(
                "space(%s) user %s audio: %d lost packets rebuilt from FEC, %d concealed; "
                "playout ran dry %d times, dropped %d blocks",
                session.space_id,
                session.user_id,
                session.decoder.recovered,
                session.decoder.concealed,
                session.queue.underruns,
                session.queue.dropped,
            )
