"""A space's media folder read back: what a crash left (recovery), the replay's timeline, and the
files made from the segments (the recording's .m4a, clips decoded from any span).

Everything here reads whole segments only: the writer (media/hls.py) lists a segment after its file
is complete, so the index playlist is the journal of what exists.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from parley.media import playlist
from parley.media.folders import write_atomically
from parley.media.mixer import SAMPLE_RATE_HZ
from parley.media.playlist import Segment

AAC_FRAME_SAMPLES = 1024
TIMELINE = "timeline.jsonl"
RECORDING_FILE = "recording.m4a"
# Each AAC frame stays in a PES of its own, so every packet a player reads carries its time and
# FFmpeg's HLS seek lands on the exact frame (with PES of several frames it lands at the segment's
# start); the clock reference every 100 ms (the most ISO/IEC 13818-1 s2.7.2 allows, not FFmpeg's
# 20 ms) and the tables once a second (each segment still starts with them) keep the overhead down.
_TS_OPTIONS = {"pcr_period": "100", "pat_period": "1"}


@dataclass
class Recovered:
    segments: list[Segment]
    ended: bool


def recover(folder: Path) -> Recovered:
    """Reads a media folder back: the listed segments whose files are whole (listing happens only
    after the rename, so a missing file means the folder was tampered with, not a crash)."""
    index = folder / playlist.INDEX_PLAYLIST
    if not index.is_file():
        return Recovered([], False)
    segments, ended = playlist.parse(index.read_text())
    whole = []
    for segment in segments:
        if not (folder / playlist.segment_name(segment.number)).is_file():
            break
        whole.append(segment)
    return Recovered(whole, ended)


def close_playlists(folder: Path, window: int) -> list[Segment]:
    """Ends a folder's playlists (EXT-X-ENDLIST), e.g. after a crash: what was listed stays."""
    found = recover(folder)
    index = folder / playlist.INDEX_PLAYLIST
    if found.segments or index.is_file():
        text = playlist.header(playlist_type="EVENT")
        for i, segment in enumerate(found.segments):
            text += playlist.entry(segment, with_map=i == 0)
        write_atomically(index, text + playlist.ENDLIST)
        write_atomically(
            folder / playlist.LIVE_PLAYLIST,
            playlist.live_playlist(found.segments, window, ended=True),
        )
    subtitles = folder / playlist.SUBTITLES_PLAYLIST
    if subtitles.is_file():  # a captioned space's: what it lists stays
        text = subtitles.read_text()
        if not text.endswith(playlist.ENDLIST):
            write_atomically(subtitles, text + playlist.ENDLIST)
    return found.segments


def read_timeline(folder: Path) -> list[dict[str, float]]:
    path = folder / TIMELINE
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            break  # torn by a crash
    return lines


# --- files made from the segments ---------------------------------------------------------------
def _runs(folder: Path, segments: list[Segment]) -> list[bytes]:
    """Each run's init segment followed by its media segments: one playable fMP4 stream each."""
    streams: list[bytes] = []
    current: list[bytes] = []
    run = None
    for segment in segments:
        if segment.run != run:
            if current:
                streams.append(b"".join(current))
            run = segment.run
            current = [(folder / playlist.init_name(run)).read_bytes()]
        current.append((folder / playlist.segment_name(segment.number)).read_bytes())
    if current:
        streams.append(b"".join(current))
    return streams


def export_recording(folder: Path, segments: list[Segment], target: Path) -> int:
    """The whole recording as one .m4a (AAC copied, not re-encoded): the runs of a space that
    outlived a restart are joined end to end. Returns its size in bytes."""
    temporary = target.with_name(target.name + ".tmp")
    with av.open(str(temporary), "w", format="ipod", options={"movflags": "faststart"}) as out:
        out_stream = None
        offset = 0
        for data in _runs(folder, segments):
            with av.open(io.BytesIO(data), "r", format="mp4") as source:
                in_stream = source.streams.audio[0]
                if out_stream is None:
                    out_stream = out.add_stream_from_template(in_stream)
                last = offset
                for packet in source.demux(in_stream):
                    if packet.dts is None or packet.size == 0:
                        continue
                    packet.pts = (packet.pts or 0) + offset
                    packet.dts = packet.dts + offset
                    last = max(last, packet.pts + (packet.duration or AAC_FRAME_SAMPLES))
                    packet.stream = out_stream
                    out.mux(packet)
                offset = last
    temporary.replace(target)
    return target.stat().st_size


def export_vod(folder: Path, segments: list[Segment]) -> int:
    """Packages a finished recording as MPEG-TS segments (the AAC copied, not re-encoded) and
    `vod.m3u8`, for the players that seek in no fMP4 HLS (media/playlist.py). Returns the number
    of TS segments. The playlist is written last: a failure leaves no playlist to follow (and
    `remove_vod` takes the segments away)."""
    groups = playlist.vod_groups(segments)
    number = 0
    for run, data in zip(_run_numbers(segments), _runs(folder, segments), strict=True):
        run_groups = [group for group in groups if group[0].run == run]
        with av.open(io.BytesIO(data), "r", format="mp4") as source:
            in_stream = source.streams.audio[0]
            packets = (p for p in source.demux(in_stream) if p.dts is not None and p.size)
            for group in run_groups:
                number += 1
                frames = sum(_aac_frames(segment) for segment in group)
                target = folder / playlist.vod_segment_name(number)
                temporary = target.with_name(target.name + ".tmp")
                with av.open(str(temporary), "w", format="mpegts", options=_TS_OPTIONS) as out:
                    out_stream = out.add_stream_from_template(in_stream)
                    for packet in itertools.islice(packets, frames):
                        packet.stream = out_stream
                        out.mux(packet)
                temporary.replace(target)
    write_atomically(folder / playlist.VOD_PLAYLIST, playlist.vod_playlist(groups))
    return number


def remove_vod(folder: Path) -> None:
    """The MPEG-TS copy of a recording, whole or in part."""
    (folder / playlist.VOD_PLAYLIST).unlink(missing_ok=True)
    for path in folder.glob("vod-*.ts*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _aac_frames(segment: Segment) -> int:
    return round(segment.duration_s * SAMPLE_RATE_HZ / AAC_FRAME_SAMPLES)


def _run_numbers(segments: list[Segment]) -> list[int]:
    return list(dict.fromkeys(segment.run for segment in segments))


def decode_span(
    folder: Path, segments: list[Segment], start_s: float, duration_s: float
) -> np.ndarray:
    """The recording's audio over [start_s, start_s + duration_s), as float32 mono at 48 kHz."""
    chosen = playlist.span(segments, start_s, duration_s)
    pieces: list[np.ndarray] = []
    for data in _runs(folder, chosen.segments):
        with av.open(io.BytesIO(data), "r", format="mp4") as source:
            for frame in source.decode(audio=0):
                pieces.append(frame.to_ndarray().reshape(-1).astype(np.float32))
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    skip = round(chosen.skip_s * SAMPLE_RATE_HZ)
    return audio[skip : skip + round(chosen.duration_s * SAMPLE_RATE_HZ)]


def export_clip(audio: np.ndarray, target: Path, bitrate: int) -> int:
    """A clip as a standalone .m4a (re-encoded, so it starts and ends on the exact sample)."""
    temporary = target.with_name(target.name + ".tmp")
    with av.open(str(temporary), "w", format="ipod", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("aac", rate=SAMPLE_RATE_HZ)
        stream.codec_context.layout = "mono"
        stream.codec_context.bit_rate = bitrate
        for at in range(0, audio.size, AAC_FRAME_SAMPLES):
            block = audio[at : at + AAC_FRAME_SAMPLES]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block.reshape(1, -1)), format="fltp", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE_HZ
            frame.pts = at
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    temporary.replace(target)
    return target.stat().st_size
