"""A live space's full mix as HLS (RFC 8216): AAC-LC in fragmented MP4, 1 s segments.

The media clock hands each tick's mix to `HlsWriter.push`; a thread of the writer's own encodes
AAC, lets PyAV's MP4 muxer cut a fragment about every second (media/fmp4.py splits its output),
and writes each fragment as a segment file, then appends it to `index.m3u8` and rewrites the live
window. The segments are the recording too: a segment is written under a temporary name and
renamed when whole, and only then listed, so after a `kill -9` every listed segment is complete
and the playlist is the journal the next start reads back (media/archive.py).

A captioned space (`enable_subtitles`) also gets a WebVTT subtitles rendition of the final caption
lines (`caption`), written on the same thread a couple of segments behind the audio
(media/subtitles.py), and `main.m3u8`, which groups the two.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np

from parley.media import playlist, subtitles
from parley.media.archive import AAC_FRAME_SAMPLES, TIMELINE, recover
from parley.media.fmp4 import Fmp4Splitter
from parley.media.folders import write_atomically
from parley.media.mixer import SAMPLE_RATE_HZ
from parley.media.playlist import Segment
from parley.telemetry.metrics import HLS_BYTES, HLS_ENCODE_SECONDS, HLS_SEGMENTS, count_error

log = logging.getLogger(__name__)


class _Sink:
    """The file-like object PyAV's muxer writes to (never seeks: fragmented output)."""

    def __init__(self, on_bytes: Callable[[bytes], None]) -> None:
        self.on_bytes = on_bytes

    def write(self, data: bytes) -> int:
        self.on_bytes(bytes(data))
        return len(data)


class HlsWriter:
    """Writes one space's mix as HLS into its media folder, on a thread of its own."""

    def __init__(
        self,
        folder: Path,
        *,
        bitrate: int,
        window: int,
        clock: Callable[[], datetime],
        segment_s: float = 1.0,
    ) -> None:
        self.folder = folder
        self.bitrate = bitrate
        self.window = window
        self.clock = clock
        self.segment_s = segment_s
        self.segments: list[Segment] = []
        self.bytes_written = 0
        self._queue: queue.SimpleQueue[tuple[str, object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="parley-hls", daemon=True)
        self._run_number = 1
        self._run_started_at: datetime | None = None
        self._run_samples = 0  # samples written to segments in this run
        self._offset_s = 0.0  # audio in earlier runs
        self._pending = np.zeros(0, dtype=np.float32)
        self._pts = 0
        self._pushed_samples = 0  # pushed in this run, on the media clock's thread
        self._failed = False
        self._end_lists = True
        # The subtitles rendition, on the writer's thread: off until `enable_subtitles`.
        self._subtitle_language: str | None = None
        self._cues: list[subtitles.Cue] = []
        self._first_subtitle = 1  # the first subtitle segment of the rendition
        self._next_subtitle = 1  # the next one to write
        self._subtitles_until_s = 0.0  # the recording's timeline up to which they are written
        # Each segment's start on the recording's timeline and on its run's decode clock.
        self._starts: dict[int, tuple[float, float]] = {}
        # Encoding time not yet added to the metric: added once per segment, not per tick.
        self._encode_s = 0.0

    # --- on the media clock's thread ----------------------------------------------------------
    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        found = recover(self.folder)
        self.segments = list(found.segments)
        if self.segments:
            # A restart mid-space: carry on after what was written, as a new run.
            self._run_number = self.segments[-1].run + 1
            self._offset_s = playlist.total_duration_s(self.segments)
            # Rewrite the index without a torn tail (or an ENDLIST) before appending to it.
            text = playlist.header(playlist_type="EVENT")
            for i, segment in enumerate(self.segments):
                text += playlist.entry(segment, with_map=i == 0)
            write_atomically(self.folder / playlist.INDEX_PLAYLIST, text)
            self._starts = _segment_starts(self.segments)
        else:
            write_atomically(
                self.folder / playlist.INDEX_PLAYLIST, playlist.header(playlist_type="EVENT")
            )
        # A player that comes before the first segment finds a playlist to wait on, not a 404.
        write_atomically(
            self.folder / playlist.LIVE_PLAYLIST,
            playlist.live_playlist(self.segments, self.window, ended=False),
        )
        self._thread.start()

    def push(self, samples: np.ndarray) -> None:
        """One tick of the mix (int16 mono at 48 kHz); copied, the caller reuses its buffer.
        Dropped once the writer has failed, so nothing piles up behind a dead thread."""
        if not self._failed:
            self._queue.put(("audio", samples.copy()))
        self._pushed_samples += samples.size

    @property
    def timeline_s(self) -> float:
        """Where the next pushed tick starts on the recording's timeline (earlier runs included),
        as the media clock sees it: captions are stamped with it (the writer thread lags)."""
        return self._offset_s + self._pushed_samples / SAMPLE_RATE_HZ

    def note(self, **fields: int) -> None:
        """A line for the replay's timeline (speaker changes, listener counts), stamped with the
        recording's position when the writer thread reaches it."""
        if not self._failed:
            self._queue.put(("note", dict(fields)))

    def caption(self, start_s: float, end_s: float, speaker: str, text: str) -> None:
        """A final caption line, timed on the recording's timeline (`timeline_s`), for the
        subtitles rendition; dropped while it is off."""
        if not self._failed:
            self._queue.put(("caption", subtitles.Cue(start_s, end_s, speaker, text)))

    def enable_subtitles(self, language: str, *, name: str | None = None) -> None:
        """Turns the subtitles rendition on (before `start` or while the space is live), or
        changes its language: writes `main.m3u8`, `subs.m3u8` and from then on the segments.
        `language` is a BCP 47 tag ("en", "pt-BR"); `name` what players list it as."""
        # Checked here: a bad value must fail the caller, not the writer's thread.
        subtitles.check_language(language)
        label = playlist.quoted_string(name or f"Captions ({language})")
        if not self._failed:
            self._queue.put(("subtitles", (language, label)))

    def finish(self, *, end_playlists: bool = True, timeout_s: float = 30.0) -> list[Segment]:
        """Writes what is left and stops the thread; `end_playlists` marks them ended
        (EXT-X-ENDLIST): not when the server only stops, as players would stop with it.
        Raises if the thread is still writing after `timeout_s`: what it returned would be
        short of what it is still adding."""
        self._end_lists = end_playlists
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"hls({self.folder.name}) writer still busy after {timeout_s} s")
        # A push that saw the writer alive just before it failed may have queued after the
        # failed thread's last drain: nothing will ever read it (a flaky test showed it).
        while not self._queue.empty():
            self._queue.get_nowait()
        return self.segments

    @property
    def position_s(self) -> float:
        return self._offset_s + self._pts / SAMPLE_RATE_HZ

    # --- on the writer's thread ----------------------------------------------------------------
    def _run(self) -> None:
        splitter = Fmp4Splitter()
        units: list[tuple[str, bytes, int]] = []
        try:
            output = av.open(
                _Sink(lambda data: units.extend(splitter.feed(data))),
                "w",
                format="mp4",
                options={
                    # A fragment per segment, written whole when the next packet passes the
                    # mark; empty_moov makes the init segment; no index at the end (never seeks).
                    "movflags": "empty_moov+default_base_moof+skip_trailer",
                    "frag_duration": str(int(self.segment_s * 1_000_000)),
                },
            )
            stream = output.add_stream("aac", rate=SAMPLE_RATE_HZ)
            stream.codec_context.layout = "mono"
            stream.codec_context.bit_rate = self.bitrate
            while True:
                item = self._queue.get()
                if item is None:
                    break
                kind, value = item
                if kind == "note":
                    assert isinstance(value, dict)
                    self._append_timeline({"at_s": round(self.position_s, 3), **value})
                    continue
                if kind == "caption":
                    assert isinstance(value, subtitles.Cue)
                    self._add_cue(value)
                    continue
                if kind == "subtitles":
                    assert isinstance(value, tuple)
                    self._enable_subtitles(*value)
                    continue
                assert isinstance(value, np.ndarray)
                if self._run_started_at is None:
                    self._run_started_at = self.clock()
                started = time.perf_counter()
                self._encode(stream, output, value)
                self._encode_s += time.perf_counter() - started
                self._write_units(units)
            for packet in stream.encode(None):
                output.mux(packet)
            output.close()
            self._write_units(units)
            self._write_subtitles(ending=True)
        except Exception:
            self._failed = True
            log.exception("hls(%s) writer failed", self.folder.name)
            count_error("hls_writer")
            while not self._queue.empty():  # what was queued will never be written
                self._queue.get_nowait()
        finally:
            if self._end_lists:
                self._end_playlists()

    def _encode(
        self, stream: av.AudioStream, output: av.container.OutputContainer, samples: np.ndarray
    ) -> None:
        self._pending = np.concatenate([self._pending, samples.astype(np.float32) / 32768.0])
        while self._pending.size >= AAC_FRAME_SAMPLES:
            block, self._pending = (
                self._pending[:AAC_FRAME_SAMPLES],
                self._pending[AAC_FRAME_SAMPLES:],
            )
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = SAMPLE_RATE_HZ
            frame.pts = self._pts
            self._pts += AAC_FRAME_SAMPLES
            for packet in stream.encode(frame):
                output.mux(packet)

    def _write_units(self, units: list[tuple[str, bytes, int]]) -> None:
        while units:
            kind, data, sample_count = units.pop(0)
            if kind == "init":
                write_atomically(self.folder / playlist.init_name(self._run_number), data)
                continue
            assert self._run_started_at is not None
            number = self.segments[-1].number + 1 if self.segments else 1
            starts_at = self._run_started_at + timedelta(seconds=self._run_samples / SAMPLE_RATE_HZ)
            # As the playlist states them, so what is read back after a restart is the same.
            duration_s = round(sample_count * AAC_FRAME_SAMPLES / SAMPLE_RATE_HZ, 5)
            starts_at = starts_at.replace(microsecond=starts_at.microsecond // 1000 * 1000)
            first_of_run = self._run_samples == 0
            run_start_s = self._run_samples / SAMPLE_RATE_HZ
            self._starts[number] = (self._offset_s + run_start_s, run_start_s)
            self._run_samples += sample_count * AAC_FRAME_SAMPLES
            segment = Segment(
                number=number,
                duration_s=duration_s,
                run=self._run_number,
                starts_at=starts_at,
                discontinuity=first_of_run and self._run_number > 1,
            )
            write_atomically(self.folder / playlist.segment_name(number), data)
            self.bytes_written += len(data)
            HLS_SEGMENTS.inc()
            HLS_BYTES.inc(len(data))
            HLS_ENCODE_SECONDS.inc(self._encode_s)
            self._encode_s = 0.0
            with (self.folder / playlist.INDEX_PLAYLIST).open("a") as index:
                index.write(playlist.entry(segment, with_map=number == 1))
            self.segments = [*self.segments, segment]
            write_atomically(
                self.folder / playlist.LIVE_PLAYLIST,
                playlist.live_playlist(self.segments, self.window, ended=False),
            )
            self._write_subtitles(ending=False)

    # --- the subtitles rendition (on the writer's thread) ---------------------------------------
    def _enable_subtitles(self, language: str, name: str) -> None:
        if self._subtitle_language is None:
            # Numbered as the audio: after a restart, go on from the subtitle segments written
            # before (those missing since are written now, with the lines still known: none).
            numbers = [s.number for s in self.segments]
            written = {n for n in numbers if (self.folder / playlist.subtitle_name(n)).is_file()}
            last_audio = numbers[-1] if numbers else 0
            self._next_subtitle = max(written) + 1 if written else last_audio + 1
            self._first_subtitle = self._next_subtitle
            while self._first_subtitle - 1 in written:
                self._first_subtitle -= 1
            previous = self._next_subtitle - 1
            self._subtitles_until_s = (
                self._starts[previous][0] + self._segment(previous).duration_s
                if previous in self._starts
                else 0.0
            )
            self._write_subtitles_playlist(ended=False)
            log.info("hls(%s) subtitles on (%s)", self.folder.name, language)
        self._subtitle_language = language
        # The playlists it lists exist before it does.
        write_atomically(
            self.folder / playlist.MAIN_PLAYLIST,
            playlist.multivariant_playlist(
                language=language,
                name=name,
                # s4.3.4.2: the peak bit rate; the fMP4 boxes add a few percent to the AAC.
                bandwidth=round(self.bitrate * 1.1),
            ),
        )
        self._write_subtitles(ending=False)

    def _add_cue(self, cue: subtitles.Cue) -> None:
        if self._subtitle_language is None:
            return
        self._cues.append(subtitles.place(cue, self._subtitles_until_s))

    def _write_subtitles(self, *, ending: bool) -> None:
        """Writes the subtitle segments due (media/subtitles.py), then their playlist."""
        if self._subtitle_language is None or not self.segments:
            return
        numbers = subtitles.due(self.segments[-1].number, self._next_subtitle, ending=ending)
        for number in numbers:
            segment = self._segment(number)
            start_s, media_start_s = self._starts[number]
            end_s = start_s + segment.duration_s
            text = subtitles.segment_text(self._cues, start_s, end_s, media_start_s)
            write_atomically(self.folder / playlist.subtitle_name(number), text)
            self._subtitles_until_s = end_s
            self._cues = subtitles.still_needed(self._cues, end_s)
            self._next_subtitle = number + 1
        if numbers:
            self._write_subtitles_playlist(ended=False)

    def _segment(self, number: int) -> Segment:
        segment = self.segments[number - self.segments[0].number]  # numbered one after another
        assert segment.number == number
        return segment

    def _write_subtitles_playlist(self, *, ended: bool) -> None:
        write_atomically(
            self.folder / playlist.SUBTITLES_PLAYLIST,
            playlist.subtitles_playlist(
                self.segments,
                self._first_subtitle,
                self._next_subtitle - 1,
                self.window,
                ended=ended,
            ),
        )

    def _append_timeline(self, line: dict[str, object]) -> None:
        with (self.folder / TIMELINE).open("a") as timeline:
            timeline.write(json.dumps(line) + "\n")

    def _end_playlists(self) -> None:
        try:
            with (self.folder / playlist.INDEX_PLAYLIST).open("a") as index:
                index.write(playlist.ENDLIST)
            write_atomically(
                self.folder / playlist.LIVE_PLAYLIST,
                playlist.live_playlist(self.segments, self.window, ended=True),
            )
            if self._subtitle_language is not None:
                self._write_subtitles_playlist(ended=True)
        except OSError:
            log.exception("hls(%s) could not end the playlists", self.folder.name)


def _segment_starts(segments: list[Segment]) -> dict[int, tuple[float, float]]:
    """Each segment's start on the recording's timeline and on its run's decode clock (which
    starts at 0 with each run), counted in AAC frames so the decode times are exact."""
    starts: dict[int, tuple[float, float]] = {}
    at_s, run, run_frames = 0.0, None, 0
    for segment in segments:
        if segment.run != run:
            run, run_frames = segment.run, 0
        starts[segment.number] = (at_s, run_frames * AAC_FRAME_SAMPLES / SAMPLE_RATE_HZ)
        at_s += segment.duration_s
        run_frames += round(segment.duration_s * SAMPLE_RATE_HZ / AAC_FRAME_SAMPLES)
    return starts
