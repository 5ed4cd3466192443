"""This node's live spaces' media, driven from the room: the one place the media engine meets the
store and the bus.

- A space going live (the `space_live` notice on the node-wide channel) is claimed by the first
  node to insert its recording row (actions/recordings.py); that node mixes it from then on,
  whether or not anyone has connected, writing its HLS and recording.
- The room's changes (its bus channel) reach the mix: who is heard (on stage and unmuted), whose
  sessions end (moved down, removed), listener counts for the replay's timeline, the end.
- The speaking levels the engine measures go out on the room's channel.
- At start, the recordings a crash or restart interrupted are taken up: a space still live
  records on, one that ended meanwhile gets its recording finished from what was written.

Everything here runs on the API's event loop; the engine does its work on its own (media/bridge).
Opening and closing one space are serialized by that space's lock; other spaces go on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from parley.actions import presence, recordings, stage
from parley.actions.base import Services, publish
from parley.bus.channels import LIFECYCLE_CHANNEL, space_channel, space_of_channel
from parley.domain.analytics import ListenPath, user_key
from parley.domain.errors import DomainError
from parley.domain.events import (
    SERVER_MESSAGE,
    SPACE_LIVE,
    Levels,
    MemberRemoved,
    MemberUpdated,
    Presence,
    SpaceUpdated,
)
from parley.domain.media import SessionCaps, check_session_caps
from parley.domain.space import SpaceState
from parley.domain.stage import ON_STAGE
from parley.media import archive
from parley.media.engine import MediaEngine
from parley.media.hls import HlsWriter
from parley.media.sessions import Session, SessionKind
from parley.room.captions import CaptionsRuntime
from parley.room.tasks import TaskSet

log = logging.getLogger(__name__)

_ENDED_STATES = frozenset({SpaceState.ENDED, SpaceState.CANCELED})
# A publishing session whose audio stops arriving this long (still connected) stops counting as
# heard: its member is shown with the microphone off, and muted, until the audio comes back.
MIC_STALL_S = 3.0
# How long stopping waits for closes already under way (they finish recordings).
_STOP_WAIT_S = 30.0

# Reads who may do what (the store) and returns whether the member's audio may be mixed now and
# the space's change number it read that at.
SeatCheck = Callable[[], Awaitable[tuple[bool, int]]]
# A session's (or an offer's) kind, space and user.
_Offer = tuple[SessionKind, int, int]
K = TypeVar("K")


class _KeyedLocks(Generic[K]):
    """One asyncio lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[None]:
        lock, users = self._entries.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._entries[key]


class MediaRuntime:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.node = self.settings.resolved_node_name
        self.engine = MediaEngine(
            self.settings,
            on_levels=self._publish_levels,
            on_session_closed=self._on_session_closed,
            on_audio_started=self._on_audio_started,
        )
        # The spaces open here (being opened included), each with its HLS writer on the node that
        # claimed it, None elsewhere. Changed only under the space's lock.
        self._writers: dict[int, HlsWriter | None] = {}
        self._space_locks = _KeyedLocks[int]()
        # WHIP/WHEP offers on their way into each space: it is not idle while one is.
        self._offers_opening: Counter[int] = Counter()
        # The same offers by kind, space and user: they count against the user's session caps.
        self._user_offers: Counter[_Offer] = Counter()
        self._session_caps = SessionCaps(
            per_user_space=self.settings.webrtc_sessions_per_user_space,
            per_user=self.settings.webrtc_sessions_per_user,
        )
        # Work started from bus and engine callbacks (stop() finishes it).
        self._tasks = TaskSet(log, "media: background work failed")
        # Each open session counts as its member's presence (as a room socket does), from a task
        # of its own that connects, waits for this event (the session ended), then disconnects.
        self._session_ended: dict[str, asyncio.Event] = {}
        # Publishing sessions whose first audio arrived (set by the engine, read by their task).
        self._audio_started: dict[str, asyncio.Event] = {}
        self._heard_sessions: set[str] = set()
        # The credential each session was opened with (revoking it ends the session).
        self._credentials: dict[str, str] = {}
        # Sessions answered (their offer no longer counted as opening): the engine registers a
        # session before its answer is ready, when its offer still counts against the caps.
        self._answered: set[str] = set()
        # Orders the changes of one member's `mic_live` made from this node.
        self._member_locks = _KeyedLocks[tuple[int, int]]()
        self._presence_tasks = TaskSet(log, "media: presence of a session failed")
        self._stopping = False
        self.captions = CaptionsRuntime(services, self.engine)
        if services.room is not None:
            services.room.set_talk_source(self.engine.take_talk_ms)

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.engine.start()
        await self.engine.probe()
        await self.services.bus.subscribe(LIFECYCLE_CHANNEL, self._on_lifecycle_message)
        await self._resume()

    async def stop(self) -> None:
        """Stops hearing the bus, lets closes under way finish, then stops every space's media
        (they stay live: their recordings are taken up at the next start) and the engine."""
        self._stopping = True
        try:
            with contextlib.suppress(Exception):
                await self.services.bus.unsubscribe(LIFECYCLE_CHANNEL, self._on_lifecycle_message)
            await self._tasks.finish(_STOP_WAIT_S)
            for space_id in list(self._writers):
                try:
                    await self.close_space(space_id, ended=False)
                except Exception:
                    log.exception("space(%s) media did not stop cleanly", space_id)
            await self.captions.stop()
        finally:
            await self.engine.stop()
            # Every session has ended (a close that failed still ended it): their members'
            # presence is taken back.
            for ended in self._session_ended.values():
                ended.set()
            await self._presence_tasks.finish(_STOP_WAIT_S)

    async def _resume(self) -> None:
        for space_id, live in await recordings.unfinished(self.services, self.node):
            if live:
                await self.open_space(space_id)
                continue
            try:
                folder = recordings.folders(self.services).current(space_id)
                segments = await asyncio.to_thread(
                    archive.close_playlists, folder, self.settings.hls_window_segments
                )
                await recordings.finish(self.services, space_id, segments)
                log.info("space(%s) recording finished after a restart", space_id)
            except Exception:
                # One damaged recording must not keep the node from starting.
                log.exception("space(%s) recording could not be finished", space_id)

    # --- what the API asks ---------------------------------------------------------------------
    async def open_session(
        self,
        kind: SessionKind,
        space_id: int,
        user_id: int,
        offer_sdp: str,
        check: SeatCheck,
        *,
        unmute: bool = False,
    ) -> tuple[str, str]:
        """Answers a WHIP (publish) or WHEP (listen) offer; returns the session id and answer.

        `check` enforces who may do this. It runs once this node hears the space's changes, so
        a change committed meanwhile is never missed. A publishing session's member counts as
        heard (`mic_live`) from its first audio until it ends, which mutes them. `unmute` (a tool
        that only speaks WHIP) unmutes the member when their audio arrives, as their own unmute
        would; if that is refused, the session is closed.
        """
        if kind == "whep":
            self.engine.check_listener_capacity()  # before opening a space for nothing
        offer = self._hold_offer(kind, space_id, user_id)
        self._offers_opening[space_id] += 1
        try:
            async with self._space_locks.hold(space_id):
                await self._open_locked(space_id)
            allowed, seat_seq = await check()
            session_id, answer = await self.engine.open_session(
                kind, space_id, user_id, offer_sdp, allowed=allowed, seat_seq=seat_seq
            )
            # Counted as a session from here, as an offer no more (no await in between).
            self._answered.add(session_id)
            self._count_presence(session_id, kind, space_id, user_id, unmute=unmute)
            return session_id, answer
        finally:
            _decrement(self._user_offers, offer)
            self._offers_opening[space_id] -= 1
            if not self._offers_opening[space_id]:
                del self._offers_opening[space_id]
            # Refused or failed: a space with no media of its own here needs none kept.
            await self._close_if_idle(space_id)

    def _hold_offer(self, kind: SessionKind, space_id: int, user_id: int) -> _Offer:
        """Counts an offer of the user's as theirs while it opens, once their sessions (open, or
        being opened: offers sent at once are counted too) leave room for it (the caps of
        domain/media.py); refused with 429 otherwise. A session that never connects is closed
        after `webrtc_connect_timeout_s` (media/engine.py), which is when to ask again."""
        held: list[_Offer] = [
            (s.kind, s.space_id, s.user_id)
            for s in self.engine.sessions()
            if s.id in self._answered
        ]
        held += self._user_offers.elements()
        check_session_caps(
            kind,
            space_id,
            user_id,
            held,
            self._session_caps,
            retry_after_s=self.settings.webrtc_connect_timeout_s,
        )
        offer = (kind, space_id, user_id)
        self._user_offers[offer] += 1
        return offer

    def session(self, session_id: str) -> Session | None:
        return self.engine.session(session_id)

    def note_credential(self, session_id: str, credential: str) -> None:
        """The credential a session was opened with: revoking it ends the session."""
        self._credentials[session_id] = credential

    async def end_user_sessions(self, user_id: int, credential: str | None) -> None:
        """Ends the user's sessions on this node opened with `credential` (None: all of them):
        their account was suspended, or they signed out."""
        ending = [
            s.id
            for s in self.engine.sessions()
            if s.user_id == user_id
            and (credential is None or self._credentials.get(s.id) == credential)
        ]
        for session_id in ending:
            log.info("media: session %s of user %s ended (access revoked)", session_id, user_id)
            await self._close_quietly(session_id)

    async def close_session(self, session_id: str) -> None:
        await self.engine.close_session(session_id)

    @property
    def webrtc_listeners_full(self) -> bool:
        return self.engine.webrtc_listeners_full

    # --- spaces --------------------------------------------------------------------------------
    async def open_space(self, space_id: int) -> None:
        """Starts a live space's media (its mix, HLS and recording) before anyone connects."""
        try:
            async with self._space_locks.hold(space_id):
                await self._open_locked(space_id)
            # Not ours to mix (claimed elsewhere, or it ended before the notice came).
            await self._close_if_idle(space_id)
        except Exception:
            log.exception("space(%s) media could not start", space_id)

    async def close_space(self, space_id: int, *, ended: bool = True) -> None:
        """Stops a space's media; `ended` (the space is over) also finishes its recording."""
        async with self._space_locks.hold(space_id):
            if space_id not in self._writers:
                return
            writer = await self._close_locked(space_id)
        await self._finish(space_id, writer, ended=ended)

    async def _close_if_idle(self, space_id: int) -> None:
        """Closes a space open here without HLS (not claimed here) once nobody uses it."""
        async with self._space_locks.hold(space_id):
            if (
                self._writers.get(space_id, False) is not None
                or self._offers_opening[space_id]
                or await self.engine.has_sessions(space_id)
            ):
                return
            await self._close_locked(space_id)

    async def _open_locked(self, space_id: int) -> None:
        if space_id in self._writers:
            return
        channel = space_channel(space_id)
        # Open (no HLS yet) before hearing the room: an end heard while the space is being opened
        # closes it right after, under this lock.
        self._writers[space_id] = None
        try:
            # Hear the room's changes before any seat is read (the check of each offer, after
            # this), so none is missed. Seat changes heard before the engine has the space find
            # no session to act on: none can be opened before it does.
            await self.services.bus.subscribe(channel, self._on_room_message)
        except Exception:
            del self._writers[space_id]
            with contextlib.suppress(Exception):
                await self.services.bus.unsubscribe(channel, self._on_room_message)
            raise
        writer = None
        try:
            writer = await self._start_hls(space_id)
        except Exception:
            # The room still sounds over WebRTC; the claim stays for a restart to take up.
            log.exception("space(%s) HLS could not start", space_id)
        self._writers[space_id] = writer
        try:
            # Mixed from here on: the recording starts with the space's first tick.
            await self.engine.open_space(space_id, writer)
        except Exception:
            await self._close_locked(space_id)
            await self._finish(space_id, writer, ended=False)
            raise
        if writer is not None:
            try:
                await self.captions.space_opened(space_id, writer)
            except Exception:
                # The room sounds on without its captions.
                log.exception("space(%s) captions could not start", space_id)

    async def _start_hls(self, space_id: int) -> HlsWriter | None:
        """HLS and the recording, on the node that claims the space (one per space)."""
        if not await recordings.claim(self.services, space_id, self.node):
            log.info("space(%s) media: not claimed by this node, no HLS here", space_id)
            return None
        writer = HlsWriter(
            recordings.folders(self.services).live(space_id),
            bitrate=self.settings.hls_bitrate,
            window=self.settings.hls_window_segments,
            clock=self.services.clock,
        )
        await asyncio.to_thread(writer.start)
        return writer

    async def _close_locked(self, space_id: int) -> HlsWriter | None:
        """Stops the space's mix and sessions and stops hearing its room; returns its writer."""
        writer = self._writers.pop(space_id)
        self.captions.space_closed(space_id)
        try:
            await self.engine.close_space(space_id)
        finally:
            with contextlib.suppress(Exception):
                await self.services.bus.unsubscribe(space_channel(space_id), self._on_room_message)
        return writer

    async def _finish(self, space_id: int, writer: HlsWriter | None, *, ended: bool) -> None:
        """Writes what the space's HLS writer holds; an ended space's recording is finished."""
        if writer is None:
            return
        try:
            segments = await asyncio.to_thread(writer.finish, end_playlists=ended)
            if ended:
                await recordings.finish(self.services, space_id, segments)
        except Exception:
            # Left `recording`: the next start finishes it from what was written.
            log.exception("space(%s) recording could not be finished", space_id)

    # --- presence -----------------------------------------------------------------------------
    def _count_presence(
        self, session_id: str, kind: SessionKind, space_id: int, user_id: int, *, unmute: bool
    ) -> None:
        """The session counts as its member's presence until it ends: a host who only publishes
        over WHIP (a broadcasting tool, no room socket) keeps their space from the grace period."""
        ended = self._session_ended[session_id] = asyncio.Event()
        self._audio_started.setdefault(session_id, asyncio.Event())
        if self.engine.session(session_id) is None:
            ended.set()  # it ended before it could be counted
        work = self._present_while_open(session_id, kind, space_id, user_id, unmute=unmute)
        self._presence_tasks.spawn(work)

    async def _present_while_open(
        self, session_id: str, kind: SessionKind, space_id: int, user_id: int, *, unmute: bool
    ) -> None:
        ended = self._session_ended[session_id]
        try:
            # One task per session: its connect always comes before its disconnect.
            await presence.connect(self.services, space_id, user_id)
        except DomainError as refused:
            # Removed (or the space gone) between the offer's check and now: no session either.
            log.warning("space(%s) session %s not counted: %s", space_id, session_id, refused)
            self._forget(session_id)
            await self._close_quietly(session_id)
            return
        except Exception:
            log.exception("space(%s) session %s not counted as present", space_id, session_id)
            self._forget(session_id)
            return
        room = self.services.room
        listen = (
            room.listen_opened(space_id, user_key(user_id), ListenPath.WEBRTC)
            if room is not None
            else None
        )
        try:
            if kind == "whip":
                await self._heard_while_open(session_id, space_id, user_id, unmute=unmute)
            await ended.wait()
        finally:
            if room is not None and listen is not None:
                room.listen_closed(listen)
            self._forget(session_id)
            if kind == "whip":
                await self._unheard_unless_elsewhere(space_id, user_id)
            try:
                await presence.disconnect(self.services, space_id, user_id)
            except Exception:
                log.exception("space(%s) user %s: presence not taken back", space_id, user_id)

    async def _heard_while_open(
        self, session_id: str, space_id: int, user_id: int, *, unmute: bool
    ) -> None:
        """Until the session ends: once its audio arrives its member is heard (`mic_live`); when
        its audio stops arriving for `MIC_STALL_S` while it stays connected (a frozen uplink, a
        tool that stopped sending), they are not (and are muted) until it comes back."""
        heard = self._audio_started[session_id]
        ended = self._session_ended[session_id]
        while await _first_set(ended, heard) is heard:
            heard.clear()
            self._heard_sessions.add(session_id)
            try:
                async with self._member_locks.hold((space_id, user_id)):
                    await stage.set_mic_live(
                        self.services, space_id, user_id, live=True, unmute=unmute
                    )
            except DomainError as refused:
                # Not allowed on air any more (moved down meanwhile): the tool is told by the
                # close.
                log.info("space(%s) session %s not put on air: %s", space_id, session_id, refused)
                await self._close_quietly(session_id)
                return
            except Exception:
                # The store failed (busy, a deadlock): a session nobody is shown heard on is
                # closed, and its client sets up a new one.
                log.exception(
                    "space(%s) session %s: its audio could not be noted", space_id, session_id
                )
                await self._close_quietly(session_id)
                return
            if not await self._until_stalled(session_id, ended):
                return
            log.info("space(%s) session %s: no audio for %ss", space_id, session_id, MIC_STALL_S)
            self._heard_sessions.discard(session_id)
            await self._unheard_unless_elsewhere(space_id, user_id)
            session = self.engine.session(session_id)
            if session is None:
                return
            self.engine.watch_audio(session)  # `heard` is set again when the audio comes back

    async def _until_stalled(self, session_id: str, ended: asyncio.Event) -> bool:
        """True once the session's audio has not arrived for `MIC_STALL_S`; False when it ends."""
        while not ended.is_set():
            session = self.engine.session(session_id)
            if session is None or session.queue is None:
                return False
            quiet_s = time.monotonic() - session.queue.last_audio_s
            if quiet_s >= MIC_STALL_S:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), MIC_STALL_S - quiet_s + 0.05)
        return False

    async def _unheard_unless_elsewhere(self, space_id: int, user_id: int) -> None:
        """None of the member's audio reaches this node any more: shown so, and muted. Under the
        member's lock, so a session that replaces this one and is heard meanwhile is seen (its
        `live=True` is never overwritten by this older `live=False`)."""
        try:
            async with self._member_locks.hold((space_id, user_id)):
                if not self._heard_elsewhere(space_id, user_id):
                    await stage.set_mic_live(self.services, space_id, user_id, live=False)
        except DomainError:
            pass
        except Exception:
            log.exception("space(%s) user %s: could not be shown unheard", space_id, user_id)

    def _forget(self, session_id: str) -> None:
        self._answered.discard(session_id)
        self._credentials.pop(session_id, None)
        self._session_ended.pop(session_id, None)
        self._audio_started.pop(session_id, None)
        self._heard_sessions.discard(session_id)

    def _heard_elsewhere(self, space_id: int, user_id: int) -> bool:
        """Whether another publishing session of the member on this node delivers their audio."""
        return any(
            s.kind == "whip"
            and s.space_id == space_id
            and s.user_id == user_id
            and s.id in self._heard_sessions
            for s in self.engine.sessions()
        )

    def _on_audio_started(self, session_id: str) -> None:
        started = self._audio_started.get(session_id)
        if started is not None:
            started.set()

    def _on_session_closed(self, session_id: str) -> None:
        ended = self._session_ended.get(session_id)
        if ended is not None:
            ended.set()

    async def _close_quietly(self, session_id: str) -> None:
        try:
            await self.engine.close_session(session_id)
        except Exception:
            log.exception("media: session %s did not close", session_id)

    # --- from the bus and the engine ------------------------------------------------------------
    def _on_lifecycle_message(self, channel: str, message: str) -> None:
        if self._stopping:
            return
        try:
            notice = SPACE_LIVE.validate_json(message)
        except ValidationError:
            log.warning("bus: dropped a malformed notice on %s", channel)
            return
        self._spawn(self.open_space(notice.space_id))

    def _on_room_message(self, channel: str, message: str) -> None:
        """A change of a space open here."""
        space_id = space_of_channel(channel)
        if self._stopping or space_id not in self._writers:
            return
        try:
            event = SERVER_MESSAGE.validate_json(message)
        except ValidationError:
            log.warning("space(%s) media dropped a malformed bus message", space_id)
            return
        if isinstance(event, MemberUpdated | MemberRemoved):
            # Changes carry their seq: the engine orders them against the seats it read.
            seq = event.seq
            if seq is None:
                log.warning("space(%s) media dropped a %s without a seq", space_id, event.type)
            elif isinstance(event, MemberUpdated):
                self.captions.member_updated(space_id, event.member)
                on_stage = event.member.role in ON_STAGE
                self.engine.apply_seat(
                    space_id, event.member.user.id, seq, on_stage=on_stage, muted=event.member.muted
                )
            else:
                self.engine.remove_member(space_id, event.user_id, seq)
        elif isinstance(event, Presence):
            writer = self._writers.get(space_id)
            if writer is not None:
                writer.note(listeners=event.listener_count)
        elif isinstance(event, SpaceUpdated) and event.space.state in _ENDED_STATES:
            self._spawn(self.close_space(space_id))
        elif isinstance(event, SpaceUpdated):
            self.captions.space_updated(event.space)

    def _publish_levels(self, space_id: int, levels: dict[int, float]) -> None:
        if self._stopping:
            return
        event = Levels(levels={str(member): value for member, value in levels.items()})
        self._spawn(publish(self.services, [(space_channel(space_id), event.model_dump_json())]))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Work started from a bus or engine callback, referenced until done; stop() waits for
        it. A failure is logged, not left for the collector."""
        self._tasks.spawn(work)


def _decrement(counter: Counter[K], key: K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


async def _first_set(*events: asyncio.Event) -> asyncio.Event:
    """Waits until one of `events` is set and returns it (the first given, if several are)."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return next(event for event in events if event.is_set())
