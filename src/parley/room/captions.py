"""This node's live captions, driven from the room: the one place the caption pipeline meets the
store, the bus and the HLS writer.

The node that claimed a space (it writes its HLS and recording) captions it, when the space's
captions are on: the media engine hands the pipeline each tick's unmixed allowed audio, the
pipeline's lines come back here. Partial lines go straight out on the room's channel (ephemeral);
a final line is kept first (the transcript), then goes out and into the HLS subtitles. Switching
captions and consent arrive as the room's changes (`space_updated`, `member_updated`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from parley.actions import captions
from parley.actions.base import Services, publish
from parley.bus.channels import space_channel
from parley.captions.engine import SpeechEngine
from parley.captions.engines import create_engine
from parley.captions.pipeline import CaptionPipeline, CaptionStats
from parley.domain.events import Caption
from parley.domain.views import CaptionLineView, MemberView, SpaceView
from parley.media.engine import MediaEngine
from parley.media.hls import HlsWriter
from parley.room.tasks import TaskSet

log = logging.getLogger(__name__)


class CaptionsRuntime:
    def __init__(self, services: Services, media: MediaEngine) -> None:
        self.services = services
        self.media = media
        self.pipeline: CaptionPipeline | None = None
        # The spaces this node claimed and has open, with their HLS writer: captioned or not.
        self._writers: dict[int, HlsWriter] = {}
        self._captioned: dict[int, captions.CaptionSetup] = {}
        self._tasks = TaskSet(log, "captions: delivery failed")
        self._loop: asyncio.AbstractEventLoop | None = None
        # The highest utterance number seen per space: numbering goes on from it when captions
        # are turned off and on again before the last finals reached the store.
        self._highest: dict[int, int] = {}
        self._stopping = False

    # --- lifecycle (API loop) -------------------------------------------------------------------
    async def stop(self) -> None:
        if self.pipeline is not None:
            await asyncio.to_thread(self.pipeline.stop)
            self.pipeline = None
        # Lines the workers gave before they stopped are delivered (their hop to this loop runs
        # on its next turn); none come after.
        await asyncio.sleep(0)
        self._stopping = True
        await self._tasks.finish(10.0)

    def stats(self) -> CaptionStats | None:
        return self.pipeline.snapshot_stats() if self.pipeline is not None else None

    def _ensure_pipeline(self) -> CaptionPipeline:
        if self.pipeline is None:
            settings = self.services.settings
            workers = settings.resolved_caption_workers

            def load() -> SpeechEngine:
                return create_engine(settings.caption_engine, workers)

            self._loop = asyncio.get_running_loop()
            self.pipeline = CaptionPipeline(load, self._on_line, workers=workers)
            self.pipeline.start()
        return self.pipeline

    # --- spaces (API loop) ----------------------------------------------------------------------
    async def space_opened(self, space_id: int, writer: HlsWriter) -> None:
        """A space this node claimed started its media: captioned from now if its captions are
        on."""
        self._writers[space_id] = writer
        setup = await captions.setup(self.services, space_id)
        if setup.captions and space_id in self._writers:
            self._start(space_id, setup)

    def space_closed(self, space_id: int) -> None:
        self._writers.pop(space_id, None)
        self._highest.pop(space_id, None)
        if self._captioned.pop(space_id, None) is not None and self.pipeline is not None:
            self.media.set_caption_tap(space_id, None)
            self.pipeline.close_space(space_id)

    def space_updated(self, space: SpaceView) -> None:
        if space.id not in self._writers:
            return
        current = self._captioned.get(space.id)
        if space.captions and current is None:
            self._tasks.spawn(self._start_later(space.id))
        elif not space.captions and current is not None:
            self._captioned.pop(space.id)
            self.media.set_caption_tap(space.id, None)
            if self.pipeline is not None:
                self.pipeline.close_space(space.id)
        elif current is not None and current.language != space.caption_language:
            self._captioned[space.id] = replace(current, language=space.caption_language)
            self._ensure_pipeline().configure(space.id, language=space.caption_language)
            self._writers[space.id].enable_subtitles(space.caption_language)

    def member_updated(self, space_id: int, member: MemberView) -> None:
        current = self._captioned.get(space_id)
        if current is None:
            return
        user_id = member.user.id
        opted_out = (
            current.opted_out - {user_id} if member.captioned else current.opted_out | {user_id}
        )
        if opted_out != current.opted_out:
            self._captioned[space_id] = replace(current, opted_out=opted_out)
            self._ensure_pipeline().configure(space_id, opted_out=opted_out)

    async def _start_later(self, space_id: int) -> None:
        setup = await captions.setup(self.services, space_id)
        if setup.captions and space_id in self._writers and space_id not in self._captioned:
            self._start(space_id, setup)

    def _start(self, space_id: int, setup: captions.CaptionSetup) -> None:
        pipeline = self._ensure_pipeline()
        self._captioned[space_id] = setup
        pipeline.open_space(
            space_id,
            language=setup.language,
            opted_out=setup.opted_out,
            first_number=max(setup.next_number, self._highest.get(space_id, 0) + 1),
        )
        self.media.set_caption_tap(space_id, pipeline.tap(space_id))
        self._writers[space_id].enable_subtitles(setup.language)
        log.info("space(%s) captions on (%s)", space_id, setup.language)

    # --- lines ----------------------------------------------------------------------------------
    def _on_line(self, space_id: int, line: CaptionLineView) -> None:
        """From the pipeline's threads."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._line, space_id, line)

    def _line(self, space_id: int, line: CaptionLineView) -> None:
        if self._stopping:
            return
        self._highest[space_id] = max(self._highest.get(space_id, 0), line.id)
        self._tasks.spawn(self._deliver(space_id, line))

    async def _deliver(self, space_id: int, line: CaptionLineView) -> None:
        if line.final and line.text != "":
            # (An empty final only clears the partial shown: nothing is kept of it.)
            speaker = await captions.keep_line(self.services, space_id, line)
            if speaker is None:
                return
            writer = self._writers.get(space_id)
            if writer is not None and line.text:
                writer.caption(line.start_s, line.end_s, speaker, line.text)
        event = Caption(line=line)
        await publish(self.services, [(space_channel(space_id), event.model_dump_json())])
