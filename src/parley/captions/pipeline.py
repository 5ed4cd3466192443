"""Live captions of this node's spaces: each stage member's own audio, cut into utterances and
transcribed off the media clock's thread and off the API's event loop.

- The media clock hands each captioned space's unmixed, allowed blocks (on stage, unmuted) to
  `tap` every tick: one queue put, nothing more on that thread.
- The pipeline's thread (`parley-captions`) runs voice detection and the utterance cutter per
  speaker (captions/stream.py) and queues the work for the engine.
- A pool of worker threads (sized by settings, CTranslate2 runs them in parallel) transcribes:
  finals first, in order; a partial only when no final waits, and only the newest per speaker
  (an older one is dropped). So when the machine cannot keep up, partials go before finals wait,
  and the media clock never waits for any of it.
- Lines come out through `on_line` (called on a worker or the pipeline thread: the caller hops
  to its loop).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from parley.captions.agreement import PartialText
from parley.captions.engine import SpeechEngine
from parley.captions.stream import SpeakerStream
from parley.captions.utterances import Ended, PartialDue, Utterance
from parley.domain.views import CaptionLineView

log = logging.getLogger(__name__)

LineHandler = Callable[[int, CaptionLineView], None]
Tap = Callable[[Mapping[int, npt.NDArray[np.int16]], float], None]
# A speaker unheard this long has their stream dropped (made again when they speak).
IDLE_BLOCKS = 500
# A partial that waited this long for a worker is no use on screen.
PARTIAL_MAX_WAIT_S = 1.5
TICK_S = 0.02


@dataclass
class _Job:
    space_id: int
    user_id: int
    utterance: Utterance
    audio: npt.NDArray[np.float32]
    language: str
    final: bool
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class _Space:
    language: str
    opted_out: frozenset[int]
    numbers: itertools.count[int]
    streams: dict[int, SpeakerStream] = field(default_factory=dict)


@dataclass
class CaptionStats:
    spaces: int = 0
    queued_finals: int = 0
    queued_partials: int = 0
    # How far behind the speech the captions are: the oldest waiting final's age, or the audio
    # waiting for the pipeline's thread (per space), whichever is more.
    backlog_s: float = 0.0
    finals: int = 0
    partials: int = 0
    dropped_partials: int = 0
    engine_busy_s: float = 0.0
    engine: str | None = None


class CaptionPipeline:
    def __init__(
        self,
        load_engine: Callable[[], SpeechEngine],
        on_line: LineHandler,
        *,
        workers: int = 1,
    ) -> None:
        self._load_engine = load_engine
        self.on_line = on_line
        self.workers = max(1, workers)
        self.engine: SpeechEngine | None = None
        self._feed: queue.SimpleQueue[tuple[str, object] | None] = queue.SimpleQueue()
        self._spaces: dict[int, _Space] = {}  # the pipeline thread's only
        self._lock = threading.Condition()
        self._finals: deque[_Job] = deque()
        self._partials: dict[tuple[int, int], _Job] = {}
        # Utterances whose final has been queued: a partial of theirs still running is dropped.
        # Weak: forgotten with the utterance once no job holds it.
        self._finalized: weakref.WeakSet[Utterance] = weakref.WeakSet()
        self._texts: weakref.WeakKeyDictionary[Utterance, PartialText] = weakref.WeakKeyDictionary()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        # Ticks of audio handed to the pipeline's thread, and taken by it.
        self._ticks_pushed = 0
        self._ticks_taken = 0
        self.stats = CaptionStats()
        self.loaded = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._threads = [threading.Thread(target=self._run, name="parley-captions", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"parley-captions-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._feed.put(None)
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []

    # --- from the room (any thread) -------------------------------------------------------------
    def open_space(
        self, space_id: int, *, language: str, opted_out: frozenset[int], first_number: int
    ) -> None:
        """Starts captioning a space; utterances are numbered from `first_number` (after the
        lines it already has, after a restart)."""
        self._feed.put(("open", (space_id, language, opted_out, first_number)))

    def configure(
        self, space_id: int, *, language: str | None = None, opted_out: frozenset[int] | None = None
    ) -> None:
        self._feed.put(("configure", (space_id, language, opted_out)))

    def close_space(self, space_id: int) -> None:
        """Stops captioning it: what its speakers were saying is made final."""
        self._feed.put(("close", space_id))

    def tap(self, space_id: int) -> Tap:
        """What the media clock calls every tick of the space, with its allowed members' blocks
        (never changed after: the mixer only reads them) and where the tick starts on the
        recording's timeline."""

        def push(blocks: Mapping[int, npt.NDArray[np.int16]], at_s: float) -> None:
            self._feed.put(("audio", (space_id, dict(blocks), at_s)))
            self._ticks_pushed += 1  # one writer per space's tap: the media clock's thread

        return push

    def snapshot_stats(self) -> CaptionStats:
        with self._lock:
            now = time.monotonic()
            oldest = min((job.queued_at for job in self._finals), default=now)
            self.stats.queued_finals = len(self._finals)
            self.stats.queued_partials = len(self._partials)
            # The audio waiting for the pipeline's thread: its ticks, per space.
            waiting = max(0, self._ticks_pushed - self._ticks_taken)
            feed_lag_s = waiting * TICK_S / max(1, len(self._spaces))
            self.stats.backlog_s = round(max(now - oldest, feed_lag_s), 3)
            self.stats.spaces = len(self._spaces)
            return CaptionStats(**vars(self.stats))

    # --- the pipeline's thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._feed.get()
            if item is None:
                break
            kind, value = item
            try:
                if kind == "audio":
                    self._audio(*value)  # type: ignore[misc]
                elif kind == "open":
                    self._open(*value)  # type: ignore[misc]
                elif kind == "configure":
                    self._configure(*value)  # type: ignore[misc]
                elif kind == "close":
                    assert isinstance(value, int)
                    self._close(value)
            except Exception:
                log.exception("captions: %s failed", kind)

    def _ensure_engine(self) -> None:
        if self.engine is None:
            started = time.perf_counter()
            self.engine = self._load_engine()
            self.stats.engine = self.engine.capabilities.name
            log.info("captions: engine ready in %.1f s", time.perf_counter() - started)
            self.loaded.set()

    def _open(self, space_id: int, language: str, opted_out: frozenset[int], first: int) -> None:
        if space_id in self._spaces:
            self._configure(space_id, language, opted_out)
            return
        self._ensure_engine()
        self._spaces[space_id] = _Space(language, opted_out, itertools.count(first))

    def _configure(
        self, space_id: int, language: str | None, opted_out: frozenset[int] | None
    ) -> None:
        space = self._spaces.get(space_id)
        if space is None:
            return
        if language is not None:
            space.language = language
        if opted_out is not None:
            space.opted_out = opted_out

    def _close(self, space_id: int) -> None:
        space = self._spaces.pop(space_id, None)
        if space is None:
            return
        for user_id, stream in space.streams.items():
            for cut in stream.flush():
                self._cut(space_id, space, user_id, cut)
        with self._lock:
            for key in [k for k in self._partials if k[0] == space_id]:
                del self._partials[key]

    def _audio(
        self,
        space_id: int,
        blocks: dict[int, npt.NDArray[np.int16]],
        at_s: float,
    ) -> None:
        self._ticks_taken += 1
        space = self._spaces.get(space_id)
        if space is None:
            return
        for user_id in blocks.keys() - space.streams.keys():
            space.streams[user_id] = SpeakerStream(space.numbers.__next__)
        for user_id, stream in list(space.streams.items()):
            for cut in stream.feed(blocks.get(user_id), at_s):
                self._cut(space_id, space, user_id, cut)
            if stream.idle_blocks > IDLE_BLOCKS and stream.cutter.current is None:
                del space.streams[user_id]

    def _cut(self, space_id: int, space: _Space, user_id: int, cut: PartialDue | Ended) -> None:
        utterance = cut.utterance
        if user_id in space.opted_out:
            # Speech without text: shown once as it starts, and once ended.
            if isinstance(cut, Ended) or utterance.partials_due == 1:
                self._emit(space_id, user_id, utterance, None, final=isinstance(cut, Ended))
            return
        job = _Job(
            space_id, user_id, utterance, utterance.audio(), space.language, isinstance(cut, Ended)
        )
        with self._lock:
            if job.final:
                self._finalized.add(utterance)
                self._partials.pop((space_id, user_id), None)
                self._finals.append(job)
            else:
                if (space_id, user_id) in self._partials:
                    self.stats.dropped_partials += 1  # superseded before a worker took it
                self._partials[space_id, user_id] = job
            self._lock.notify()

    # --- the workers ----------------------------------------------------------------------------
    def _next_job(self) -> _Job | None:
        with self._lock:
            while True:
                if self._stopping:
                    return None
                if self._finals:
                    return self._finals.popleft()
                if self._partials:
                    key = min(self._partials, key=lambda k: self._partials[k].queued_at)
                    job = self._partials.pop(key)
                    stale = time.monotonic() - job.queued_at > PARTIAL_MAX_WAIT_S
                    if stale or job.utterance in self._finalized:
                        self.stats.dropped_partials += 1
                        continue
                    return job
                self._lock.wait()

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            engine = self.engine
            if engine is None:
                continue
            started = time.perf_counter()
            try:
                text = engine.transcribe(job.audio, job.language, partial=not job.final)
            except Exception:
                log.exception("captions: space(%s) transcription failed", job.space_id)
                text = ""
            utterance = job.utterance
            with self._lock:
                self.stats.engine_busy_s += time.perf_counter() - started
                if job.final:
                    self.stats.finals += 1
                    partial = self._texts.pop(utterance, None)
                else:
                    if utterance in self._finalized:
                        continue  # its final is on the way or out: this pass is out of date
                    self.stats.partials += 1
                    partial = self._texts.setdefault(utterance, PartialText())
            if job.final:
                if text or (partial is not None and partial.shown):
                    # An empty final still goes out when a partial was shown: it clears it.
                    self._emit(job.space_id, job.user_id, job.utterance, text, final=True)
                continue
            assert partial is not None
            with self._lock:
                # Two workers may finish passes of one utterance together; and its final may
                # have been queued while this one ran.
                shown = None if utterance in self._finalized else partial.update(text)
            if shown is not None:
                self._emit(job.space_id, job.user_id, job.utterance, shown, final=False)

    def _emit(
        self, space_id: int, user_id: int, utterance: Utterance, text: str | None, *, final: bool
    ) -> None:
        line = CaptionLineView(
            id=utterance.number,
            user_id=user_id,
            start_s=round(utterance.start_s, 3),
            end_s=round(utterance.end_s, 3),
            text=text,
            final=final,
        )
        try:
            self.on_line(space_id, line)
        except Exception:
            log.exception("captions: space(%s) line not delivered", space_id)
