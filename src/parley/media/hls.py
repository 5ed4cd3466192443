"""A live space's full mix as HLS (RFC 8216): AAC-LC in fragmented MP4, 1 s segments.

The media clock hands each tick's mix to `HlsWriter.push`; a thread of the writer's own encodes
AAC, lets PyAV's MP4 muxer cut a fragment about every second (media/fmp4.py splits its output),
and writes each fragment as a segment file, then appends it to `index.m3u8` and rewrites the live
window. The segments are the recording too: a segment is written under a temporary name and
renamed when whole, and only then listed, so after a `kill -9` every listed segment is complete
and the playlist is the journal the next start reads back (media/archive.py).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np

from parley.media import playlist
from parley.media.archive import AAC_FRAME_SAMPLES, TIMELINE, recover
from parley.media.fmp4 import Fmp4Splitter
from parley.media.folders import write_atomically
from parley.media.mixer import SAMPLE_RATE_HZ
from parley.media.playlist import Segment

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
        self._failed = False
        self._end_lists = True

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

    def note(self, **fields: int) -> None:
        """A line for the replay's timeline (speaker changes, listener counts), stamped with the
        recording's position when the writer thread reaches it."""
        if not self._failed:
            self._queue.put(("note", dict(fields)))

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
                assert isinstance(value, np.ndarray)
                if self._run_started_at is None:
                    self._run_started_at = self.clock()
                self._encode(stream, output, value)
                self._write_units(units)
            for packet in stream.encode(None):
                output.mux(packet)
            output.close()
            self._write_units(units)
        except Exception:
            self._failed = True
            log.exception("hls(%s) writer failed", self.folder.name)
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
            with (self.folder / playlist.INDEX_PLAYLIST).open("a") as index:
                index.write(playlist.entry(segment, with_map=number == 1))
            self.segments = [*self.segments, segment]
            write_atomically(
                self.folder / playlist.LIVE_PLAYLIST,
                playlist.live_playlist(self.segments, self.window, ended=False),
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
        except OSError:
            log.exception("hls(%s) could not end the playlists", self.folder.name)
