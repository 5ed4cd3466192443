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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from parley.actions import recordings
from parley.actions.base import Services, publish
from parley.bus.channels import LIFECYCLE_CHANNEL, space_channel, space_of_channel
from parley.domain.errors import AtCapacity
from parley.domain.events import (
    SERVER_MESSAGE,
    SPACE_LIVE,
    Levels,
    MemberRemoved,
    MemberUpdated,
    Presence,
    SpaceUpdated,
)
from parley.domain.space import SpaceState
from parley.domain.stage import ON_STAGE
from parley.media import archive, internals
from parley.media.engine import MediaEngine
from parley.media.hls import HlsWriter
from parley.media.sessions import Session, SessionKind

log = logging.getLogger(__name__)

_OVER = frozenset({SpaceState.ENDED, SpaceState.CANCELED})

# Reads who may do what (the store) and returns whether the member's audio may be mixed now and
# the space's change number it read that at.
SeatCheck = Callable[[], Awaitable[tuple[bool, int]]]


class MediaRuntime:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.node = self.settings.resolved_node_name
        self.engine = MediaEngine(self.settings, on_levels=self._levels)
        # The spaces open here, with their HLS writer on the node that claimed them.
        self._open: dict[int, HlsWriter | None] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.engine.start()
        await self.engine.bridge.run(internals.probe())
        await self.services.bus.subscribe(LIFECYCLE_CHANNEL, self._lifecycle)
        await self._resume()

    async def stop(self) -> None:
        await self.services.bus.unsubscribe(LIFECYCLE_CHANNEL, self._lifecycle)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # The spaces stay live: their recordings are taken up again at the next start.
        for space_id in list(self._open):
            await self.close_space(space_id, ended=False)
        await self.engine.stop()

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
        self, kind: SessionKind, space_id: int, user_id: int, offer_sdp: str, check: SeatCheck
    ) -> tuple[str, str]:
        """Answers a WHIP (publish) or WHEP (listen) offer; returns the session id and answer.

        `check` enforces who may do this. It runs once this node hears the space's changes, so
        a change committed meanwhile is never missed.
        """
        if kind == "whep" and self.engine.webrtc_listeners_full:
            raise AtCapacity("this server's low-latency listeners are full: listen over HLS")
        await self._ensure(space_id)
        try:
            allowed, seat_seq = await check()
        except Exception:
            # A space with no media of its own here (not claimed) needs none kept.
            if self._open.get(space_id, False) is None and not await self.engine.has_sessions(
                space_id
            ):
                await self.close_space(space_id)
            raise
        return await self.engine.open_session(
            kind, space_id, user_id, offer_sdp, allowed=allowed, seat_seq=seat_seq
        )

    def session(self, session_id: str) -> Session | None:
        return self.engine.session(session_id)

    async def close_session(self, session_id: str) -> None:
        await self.engine.close_session(session_id)

    @property
    def webrtc_listeners_full(self) -> bool:
        return self.engine.webrtc_listeners_full

    # --- spaces --------------------------------------------------------------------------------
    async def open_space(self, space_id: int) -> None:
        """Starts a live space's media (its mix, HLS and recording) before anyone connects."""
        try:
            await self._ensure(space_id)
            if self._open.get(space_id, False) is None and not await self.engine.has_sessions(
                space_id
            ):
                # Not ours to mix (claimed elsewhere, or it ended before the notice came).
                await self.close_space(space_id, ended=False)
        except Exception:
            log.exception("space(%s) media could not start", space_id)

    async def _ensure(self, space_id: int) -> None:
        async with self._lock:
            if space_id in self._open:
                return
            # Open (without HLS yet) before hearing the room: an end heard while the space is
            # being opened closes it right after.
            self._open[space_id] = None
            try:
                # Hear the room's changes before anything reads a seat, so none is missed.
                await self.services.bus.subscribe(space_channel(space_id), self._heard)
            except Exception:
                del self._open[space_id]
                raise
            writer = None
            try:
                writer = await self._start_hls(space_id)
            except Exception:
                # The room still sounds over WebRTC; the claim stays for a restart to take up.
                log.exception("space(%s) HLS could not start", space_id)
            self._open[space_id] = writer
            # Mixed from here on: the recording starts with the space's first tick.
            await self.engine.open_space(space_id, writer)

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

    async def close_space(self, space_id: int, *, ended: bool = True) -> None:
        """Stops a space's media; `ended` (the space is over) also finishes its recording."""
        # Under the lock: a space still being opened (claim, writer start) is closed after it.
        async with self._lock:
            if space_id not in self._open:
                return
            writer = self._open.pop(space_id)
            await self.engine.close_space(space_id)
        await self.services.bus.unsubscribe(space_channel(space_id), self._heard)
        if writer is None:
            return
        try:
            segments = await asyncio.to_thread(writer.finish, end_playlists=ended)
            if ended:
                await recordings.finish(self.services, space_id, segments)
        except Exception:
            # Left `recording`: the next start finishes it from what was written.
            log.exception("space(%s) recording could not be finished", space_id)

    # --- from the bus and the engine ------------------------------------------------------------
    def _lifecycle(self, channel: str, message: str) -> None:
        try:
            notice = SPACE_LIVE.validate_json(message)
        except ValidationError:
            log.warning("bus: dropped a malformed notice on %s", channel)
            return
        self._spawn(self.open_space(notice.space_id))

    def _heard(self, channel: str, message: str) -> None:
        """A change of a space open here."""
        space_id = space_of_channel(channel)
        if space_id not in self._open:
            return
        try:
            event = SERVER_MESSAGE.validate_json(message)
        except ValidationError:
            log.warning("space(%s) media dropped a malformed bus message", space_id)
            return
        if isinstance(event, MemberUpdated):
            member = event.member
            self.engine.apply_seat(
                space_id,
                member.user.id,
                event.seq or 0,
                on_stage=member.role in ON_STAGE,
                muted=member.muted,
            )
        elif isinstance(event, MemberRemoved):
            self.engine.remove_member(space_id, event.user_id, event.seq or 0)
        elif isinstance(event, Presence):
            writer = self._open.get(space_id)
            if writer is not None:
                writer.note(listeners=event.listener_count)
        elif isinstance(event, SpaceUpdated) and event.space.state in _OVER:
            self._spawn(self.close_space(space_id))

    def _levels(self, space_id: int, levels: dict[int, float]) -> None:
        event = Levels(levels={str(member): value for member, value in levels.items()})
        self._spawn(publish(self.services, [(space_channel(space_id), event.model_dump_json())]))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Work started from a bus or engine callback, referenced until done, cancelled on stop."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
