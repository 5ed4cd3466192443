"""The media engine of this node: its live spaces' mixes and the WebRTC sessions on them.

Audio flow (DESIGN.md "How audio flows"): each stage member publishes Opus over a WHIP session;
it is decoded on arrival (media/jitter.py) and the blocks wait in the member's InputQueue; the
media clock (media/space.py) mixes and encodes every 20 ms. Listeners get the full mix over WHEP,
the same packets for all.

The engine is a library: it knows nothing of the store or the bus. The room (room/media.py) opens
and closes its spaces, tells it who may be heard (`apply_seat`, `remove_member`) and hears the
speaking levels it reports. Its methods are called on the API's event loop and do their work on
the media loop (media/bridge.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping

from parley.config import Settings
from parley.domain.errors import AtCapacity, InvalidState
from parley.media import internals, sessions
from parley.media.bridge import LoopBridge
from parley.media.fanout import FastSender
from parley.media.hls import HlsWriter
from parley.media.mixer import FRAME_MS, Samples
from parley.media.opus import libopus
from parley.media.sessions import Session, SessionKind
from parley.media.space import MediaClock, OpusEncoder, SpaceMedia, TickOutput
from parley.media.tracks import ListenerTrack, MixMinusTrack

log = logging.getLogger(__name__)

# Called on the API loop with a space and its members' changed speaking levels (0-1).
LevelsHandler = Callable[[int, dict[int, float]], None]
# Called on the API loop with the id of a session that ended (whoever ended it).
ClosedHandler = Callable[[str], None]
# Called on the API loop with the id of a publishing session whose first audio arrived.
AudioHandler = Callable[[str], None]


class MediaEngine:
    def __init__(
        self,
        settings: Settings,
        on_levels: LevelsHandler | None = None,
        on_session_closed: ClosedHandler | None = None,
        on_audio_started: AudioHandler | None = None,
    ) -> None:
        self.settings = settings
        self.on_levels = on_levels
        self.on_session_closed = on_session_closed
        self.on_audio_started = on_audio_started
        self.bridge = LoopBridge()
        self._spaces: dict[int, SpaceMedia] = {}
        # Talk time of spaces closed since the last `take_talk_ms`.
        self._talk_left: dict[int, Counter[int]] = {}
        self._ticking: list[SpaceMedia] = []
        self._sessions: dict[str, Session] = {}
        self._listener_count = 0  # WHEP sessions; read from the API loop
        self._clock: MediaClock | None = None

    # --- lifecycle (on the API loop) -----------------------------------------------------------
    def start(self) -> None:
        self.bridge.start()
        self._clock = MediaClock(self.bridge.loop, self._live, self._delivered)
        self._clock.start()

    async def probe(self) -> dict[str, str]:
        """What of the libraries' internals this engine relies on is missing (logged once each,
        and shown by /api/health): the receive path's libopus and media/internals.py's checks."""
        libopus()
        return await self.bridge.run(internals.probe())

    async def stop(self) -> None:
        if not self.bridge.running:
            return
        await self.bridge.run(self._close_all())
        if self._clock is not None:
            self._clock.stopping.set()
            await asyncio.to_thread(self._clock.join, 5)
            self._clock = None
        await self.bridge.stop()

    # --- spaces (on the API loop) ---------------------------------------------------------------
    async def open_space(self, space_id: int, hls: HlsWriter | None) -> None:
        """Starts mixing the space (from its next tick), into `hls` too when given."""
        await self.bridge.run(self._open_space(space_id, hls))

    async def close_space(self, space_id: int) -> None:
        """Stops the space's mix (nothing more reaches its HLS writer) and ends its sessions."""
        await self.bridge.run(self._close_space(space_id))

    async def has_sessions(self, space_id: int) -> bool:
        return await self.bridge.run(self._has_sessions(space_id))

    def apply_seat(
        self, space_id: int, user_id: int, seq: int, *, on_stage: bool, muted: bool
    ) -> None:
        """A member's seat changed (change number `seq`): heard only on stage and unmuted; off the
        stage, their publishing session ends (they listen over WHEP)."""
        self.bridge.post(self._apply_seat, space_id, user_id, seq, on_stage, muted)

    def remove_member(self, space_id: int, user_id: int, seq: int) -> None:
        """A member was removed: silenced, and every session of theirs ends."""
        self.bridge.post(self._remove_member, space_id, user_id, seq)

    def set_caption_tap(
        self, space_id: int, tap: Callable[[Mapping[int, Samples], float], None] | None
    ) -> None:
        """Hands the space's unmixed allowed audio to `tap` every tick (None: stops)."""
        self.bridge.post(self._set_caption_tap, space_id, tap)

    def ticks_of(self, space_id: int) -> int | None:
        """How many 20 ms ticks the space's media has run (its clock, in RTP units / 960)."""
        space = self._spaces.get(space_id)
        return space.ticks if space is not None else None

    # --- sessions (on the API loop) -------------------------------------------------------------
    async def open_session(
        self,
        kind: SessionKind,
        space_id: int,
        user_id: int,
        offer_sdp: str,
        *,
        allowed: bool,
        seat_seq: int,
    ) -> tuple[str, str]:
        """Answers a WHIP (publish) or WHEP (listen) offer on an open space; returns the session
        id and the answer. `allowed` (may be heard now) was read at change number `seat_seq`: a
        newer change already applied wins."""
        work = self._open_session(kind, space_id, user_id, offer_sdp, allowed, seat_seq)
        return await self.bridge.run(work)

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def watch_audio(self, session: Session) -> None:
        """Reports (`on_audio_started`) the next audio that reaches a publishing session: its
        first, or its first after a stall."""
        handler = self.on_audio_started
        if session.queue is not None and handler is not None:
            session.queue.on_first_audio = lambda: self.bridge.to_api(handler, session.id)

    def sessions(self) -> list[Session]:
        """The open sessions (a copy: the media loop changes the registry)."""
        return list(self._sessions.values())

    async def close_session(self, session_id: str) -> None:
        await self.bridge.run(self._close_by_id(session_id))

    @property
    def webrtc_listeners_full(self) -> bool:
        return self._listener_count >= self.settings.webrtc_listener_capacity

    def check_listener_capacity(self) -> None:
        """Refuses a WebRTC listener past the node's capacity (the web client then plays HLS)."""
        if self.webrtc_listeners_full:
            raise AtCapacity("this server's low-latency listeners are full: listen over HLS")

    def take_talk_ms(self) -> dict[int, dict[int, int]]:
        """Each member's time heard speaking per space since the last take (host analytics).
        From any thread: the counters are swapped whole (a tick counting meanwhile may lose
        its 20 ms)."""
        taken: dict[int, Counter[int]] = {}
        for space in list(self._spaces.values()):
            ticks, space.talk_ticks = space.talk_ticks, Counter()
            # Copied in one step (the clock's thread may still add a member to the old one).
            taken.setdefault(space.space_id, Counter()).update(dict(ticks))
        left, self._talk_left = self._talk_left, {}
        for space_id, ticks in list(left.items()):
            # update, not +: a member on stage who never spoke keeps their 0.
            taken.setdefault(space_id, Counter()).update(dict(ticks))
        return {
            space_id: {member: count * FRAME_MS for member, count in ticks.items()}
            for space_id, ticks in taken.items()
            if ticks
        }

    # --- on the media loop ----------------------------------------------------------------------
    def _live(self) -> list[SpaceMedia]:
        return self._ticking

    def _delivered(self, space: SpaceMedia, out: TickOutput) -> None:
        space.deliver(out)
        if out.levels and self.on_levels is not None:
            self.bridge.to_api(self.on_levels, space.space_id, out.levels)

    async def _open_space(self, space_id: int, hls: HlsWriter | None) -> None:
        if space_id in self._spaces:
            return
        s = self.settings
        encoder = OpusEncoder.voice(s.listener_bitrate, s.listener_frame_ms)
        space = SpaceMedia(
            space_id=space_id,
            encoder=encoder,
            stage_bitrate=s.stage_bitrate,
            hls=hls,
            count_talk=s.analytics,
        )
        self._spaces[space_id] = space
        # Replaced whole: the clock's thread reads the list without a lock.
        self._ticking = list(self._spaces.values())

    async def _close_space(self, space_id: int) -> None:
        space = self._spaces.pop(space_id, None)
        if space is None:
            return
        # Its talk time since the last take is taken with the next one.
        self._talk_left.setdefault(space_id, Counter()).update(space.talk_ticks)
        self._ticking = list(self._spaces.values())
        for session in self._sessions_of(space_id):
            await self._close(session)

    async def _has_sessions(self, space_id: int) -> bool:
        return bool(self._sessions_of(space_id))

    async def _close_all(self) -> None:
        for space_id in list(self._spaces):
            await self._close_space(space_id)
        for session in list(self._sessions.values()):
            await self._close(session)

    def _set_caption_tap(
        self, space_id: int, tap: Callable[[Mapping[int, Samples], float], None] | None
    ) -> None:
        space = self._spaces.get(space_id)
        if space is not None:
            space.caption_tap = tap

    def _apply_seat(
        self, space_id: int, user_id: int, seq: int, on_stage: bool, muted: bool
    ) -> None:
        space = self._spaces.get(space_id)
        if space is None or seq <= space.member_seq.get(user_id, 0):
            return
        space.member_seq[user_id] = seq
        _set_allowed(space, user_id, on_stage and not muted)
        if not on_stage:
            self._close_user(space_id, user_id, kinds=("whip",))

    def _remove_member(self, space_id: int, user_id: int, seq: int) -> None:
        space = self._spaces.get(space_id)
        if space is None:
            return
        space.member_seq[user_id] = seq
        _set_allowed(space, user_id, False)
        self._close_user(space_id, user_id, kinds=("whip", "whep"))

    def _sessions_of(self, space_id: int) -> list[Session]:
        return [s for s in self._sessions.values() if s.space_id == space_id]

    def _close_user(self, space_id: int, user_id: int, kinds: tuple[SessionKind, ...]) -> None:
        for session in self._sessions_of(space_id):
            if session.user_id == user_id and session.kind in kinds:
                self.bridge.spawn(self._close(session))

    async def _open_session(
        self,
        kind: SessionKind,
        space_id: int,
        user_id: int,
        offer_sdp: str,
        allowed: bool,
        seat_seq: int,
    ) -> tuple[str, str]:
        if kind == "whep":
            self.check_listener_capacity()
        space = self._spaces.get(space_id)
        if space is None:
            raise InvalidState("the space's live audio has stopped", state="ended")
        session = await sessions.accept_offer(
            kind,
            space_id,
            user_id,
            offer_sdp,
            ice_servers=self.settings.ice_servers,
            publisher_bitrate=self.settings.stage_bitrate,
        )
        if self._spaces.get(space_id) is not space:  # closed while the offer was read
            await sessions.close(session)
            raise InvalidState("the space's live audio has stopped", state="ended")
        track = session.track
        if session.queue is not None:
            space.inputs = {**space.inputs, user_id: session.queue}
            self.watch_audio(session)
        if isinstance(track, MixMinusTrack):
            space.mix_minus_tracks = {**space.mix_minus_tracks, user_id: track}
            if seat_seq >= space.member_seq.get(user_id, 0):
                space.member_seq[user_id] = seat_seq
                _set_allowed(space, user_id, allowed)
        elif isinstance(track, ListenerTrack) and not self.settings.listener_fast_path:
            space.listener_tracks = space.listener_tracks | {track}

        pc = session.pc

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(session)
            elif pc.connectionState == "connected" and isinstance(track, ListenerTrack):
                self._use_fast_path(space, session, track)

        self._sessions[session.id] = session
        if kind == "whep":
            self._listener_count += 1
        try:
            answer = await sessions.answer(session, self.settings.media_public_ip)
        except BaseException:
            await self._close(session)
            raise
        log.info("space(%s) %s session %s for user %s", space_id, kind, session.id, user_id)
        self.bridge.spawn(self._close_unless_connected(session))
        return session.id, answer

    async def _close_unless_connected(self, session: Session) -> None:
        """A peer that answers ICE but never starts DTLS would hold its session (its member's
        presence, a listener's place) for ever: aiortc as the DTLS server waits without end. So
        would an offer sent only to hold a place (issue 12): the connection must be up (ICE and
        DTLS done) within `webrtc_connect_timeout_s` of the answer."""
        await asyncio.sleep(self.settings.webrtc_connect_timeout_s)
        if session.id in self._sessions and session.pc.connectionState != "connected":
            log.info(
                "space(%s) %s session %s never connected",
                session.space_id,
                session.kind,
                session.id,
            )
            await self._close(session)

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
        if session.kind == "whep":
            self._listener_count -= 1
        space = self._spaces.get(session.space_id)
        if space is not None and isinstance(session.track, MixMinusTrack):
            if space.mix_minus_tracks.get(session.user_id) is session.track:
                space.mix_minus_tracks = {
                    k: v for k, v in space.mix_minus_tracks.items() if k != session.user_id
                }
                space.inputs = {k: v for k, v in space.inputs.items() if k != session.user_id}
                _set_allowed(space, session.user_id, False)
        elif space is not None and isinstance(session.track, ListenerTrack):
            space.listener_tracks = space.listener_tracks - {session.track}
            if session.fast is not None:
                space.fast_listeners = space.fast_listeners - {session.fast}
        try:
            await sessions.close(session)
        finally:
            # Out of the registry whatever happened: whoever counts it must hear it ended.
            if self.on_session_closed is not None:
                self.bridge.to_api(self.on_session_closed, session.id)


def _set_allowed(space: SpaceMedia, user_id: int, allowed: bool) -> None:
    # Replaced whole: the media clock's thread reads it without a lock.
    if allowed:
        space.allowed = space.allowed | {user_id}
    else:
        space.allowed = space.allowed - {user_id}
