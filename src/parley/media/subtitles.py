"""The WebVTT subtitles rendition of a captioned space's HLS (RFC 8216 s3.5, s4.3.4.1): when each
subtitle segment is written, which caption cues it holds, and its text. No I/O.

Subtitle segment N covers the same stretch of the recording as audio segment N (same number, same
EXTINF, same discontinuities). Captions arrive after the speech they transcribe (a final line about
0.3 to 2 s after it ends), so segment N is written only once audio segment N + LAG_SEGMENTS is;
a line that comes later still is not lost but shown late (`place`). The WebVTT rules here are the
same as captions/formats.py's, which the media layer may not import (tests/test_layers.py);
tests/captions/test_formats.py checks both write the same segment.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

# Players load a subtitle segment a little ahead of playing it (hls.js stays about three target
# durations behind the live edge), so two segments of delay still reach them in time.
LAG_SEGMENTS = 2
# A late line is moved after what was already written; shown for at least this long.
MIN_LATE_CUE_S = 1.5
MPEG_CLOCK_HZ = 90_000

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r" {2,}")
# WebVTT s4.2.2 and s5.4: written as character references in cue text and voice annotations.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# BCP 47 (RFC 5646) in short: what EXT-X-MEDIA's LANGUAGE may hold (s4.3.4.1).
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class Cue:
    """A final caption line on the recording's timeline."""

    start_s: float
    end_s: float
    speaker: str
    text: str


def check_language(language: str) -> str:
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(f"not a language tag: {language!r}")
    return language


def due(last_audio_number: int, next_subtitle_number: int, *, ending: bool) -> range:
    """The subtitle segments to write now that audio segment `last_audio_number` is written:
    those LAG_SEGMENTS behind it, or all of them when the space ends."""
    last = last_audio_number if ending else last_audio_number - LAG_SEGMENTS
    return range(next_subtitle_number, max(next_subtitle_number, last + 1))


def place(cue: Cue, written_until_s: float) -> Cue:
    """Where a line arriving now goes, subtitles being written up to `written_until_s` of the
    recording: where it was said; or, when it starts in what is written, from the first segment
    not written yet, for its own length and at least MIN_LATE_CUE_S (late, never lost)."""
    length_s = max(0.0, cue.end_s - cue.start_s)
    if cue.start_s >= written_until_s:
        return replace(cue, end_s=cue.start_s + length_s)
    return replace(
        cue, start_s=written_until_s, end_s=written_until_s + max(length_s, MIN_LATE_CUE_S)
    )


def overlapping(cues: Iterable[Cue], start_s: float, end_s: float) -> list[Cue]:
    """The cues shown during [start_s, end_s), in order (WebVTT s4.1)."""
    shown = [cue for cue in cues if cue.end_s > start_s and cue.start_s < end_s]
    return sorted(shown, key=lambda cue: (cue.start_s, cue.end_s))


def still_needed(cues: Iterable[Cue], written_until_s: float) -> list[Cue]:
    """The cues a segment not written yet may still show."""
    return [cue for cue in cues if cue.end_s > written_until_s]


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _CONTROLS.sub(" ", text)).strip()


def _milliseconds(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _clock(milliseconds: int) -> str:
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _block(cue: Cue) -> str:
    start = _milliseconds(cue.start_s)
    end = max(start + 1, _milliseconds(cue.end_s))  # WebVTT s4.2.3: the end after the start
    text = _clean(cue.text).translate(_ESCAPES)
    speaker = _clean(cue.speaker).translate(_ESCAPES)
    payload = f"<v {speaker}>{text}</v>" if speaker else text
    # The same identifier in every segment repeating the cue: hls.js drops a repeat by its id,
    # and without one makes the id of the times it computed, which differ in the last bit from
    # one segment's timestamp map to the next (the e2e test saw the cue twice).
    identifier = f"{start}-{end}-{zlib.crc32(payload.encode()):08x}"
    return f"{identifier}\n{_clock(start)} --> {_clock(end)}\n{payload}\n"


def segment_text(
    cues: Iterable[Cue], segment_start_s: float, segment_end_s: float, media_start_s: float
) -> str:
    """The WebVTT segment covering [segment_start_s, segment_end_s) of the recording: the cues
    overlapping it (a cue spanning segments is in each; players drop the repeats), timed on the
    recording's timeline.

    `media_start_s` is the segment's start on the audio's own clock, its fMP4 decode time (tfdt),
    which starts again at 0 in each run of the writer. RFC 8216 s3.5: X-TIMESTAMP-MAP ties a cue
    time (LOCAL) to a media time on the 90 kHz clock (MPEGTS); hls.js places a cue at
    cue + MPEGTS/90000 - LOCAL less the first decode time it saw, so stating the segment's start
    in both keeps the cues on the audio across restarts (the recording's timeline goes on, the
    decode times start again).
    """
    # Rounded up: the map's instant is in the segment, so its MPEGTS is never below 0.
    local_ms = math.ceil(round(segment_start_s * 1000, 6))
    mpegts = round((media_start_s + local_ms / 1000 - segment_start_s) * MPEG_CLOCK_HZ)
    header = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:{_clock(local_ms)}\n"
    blocks = [_block(cue) for cue in overlapping(cues, segment_start_s, segment_end_s)]
    # Ends with a blank line: FFmpeg before 8.0 reads a subtitles playlist's segments as one
    # stream, so the next segment's header must start a block of its own (which it skips).
    return "\n".join([header, *blocks, ""])
