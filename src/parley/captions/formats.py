"""A transcript's lines as files: WebVTT (W3C WebVTT), SubRip (.srt) and plain text. No I/O.

Each line is a `Cue` on the recording's timeline. The WebVTT segment of a live space's HLS
subtitles (`webvtt_segment`) is written the same way; media/subtitles.py, which the HLS writer
uses, keeps its own copy of these few rules (media may not import captions, the layers of
tests/test_layers.py) and tests/captions/test_formats.py checks the two write the same text.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

# C0 and C1 controls and DEL: a speech engine or a display name could carry them, and in a cue
# a line break would end the cue early (a blank line ends a WebVTT block, and an SRT block).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r" {2,}")
# WebVTT s4.2.2 (cue text) and s5.4 (a voice span's annotation): these three are written as
# character references; `>` also keeps "-->" out of the text.
_WEBVTT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
MPEG_CLOCK_HZ = 90_000


@dataclass(frozen=True)
class Cue:
    """One line of speech: who said it, and when on the recording's timeline."""

    start_s: float
    end_s: float
    speaker: str
    text: str


def clean(text: str) -> str:
    """The text on one line, without control characters (line breaks become spaces)."""
    return _SPACES.sub(" ", _CONTROLS.sub(" ", text)).strip()


def _milliseconds(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _clock(milliseconds: int, separator: str) -> str:
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _times(cue: Cue) -> tuple[int, int]:
    """Start and end in milliseconds; WebVTT s4.2.3 wants the end after the start."""
    start = _milliseconds(cue.start_s)
    return start, max(start + 1, _milliseconds(cue.end_s))


def webvtt_cue_text(cue: Cue) -> str:
    """The cue's payload: the text in a voice span naming the speaker (WebVTT s4.2.2)."""
    text = clean(cue.text).translate(_WEBVTT_ESCAPES)
    speaker = clean(cue.speaker).translate(_WEBVTT_ESCAPES)
    return f"<v {speaker}>{text}</v>" if speaker else text


def _webvtt_block(cue: Cue, *, identified: bool = False) -> str:
    start, end = _times(cue)
    payload = webvtt_cue_text(cue)
    timing = f"{_clock(start, '.')} --> {_clock(end, '.')}\n{payload}\n"
    if not identified:
        return timing
    # HLS: the same identifier in every segment repeating the cue, by which hls.js drops repeats.
    return f"{start}-{end}-{zlib.crc32(payload.encode()):08x}\n{timing}"


def _in_order(cues: Iterable[Cue]) -> list[Cue]:
    # WebVTT s4.1: cues in order of their start times.
    return sorted(cues, key=lambda cue: (cue.start_s, cue.end_s))


def to_webvtt(cues: Iterable[Cue]) -> str:
    """A whole WebVTT file."""
    blocks = [_webvtt_block(cue) for cue in _in_order(cues)]
    return "\n".join(["WEBVTT\n", *blocks])


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip: numbered blocks, comma before the milliseconds, "Speaker: text"."""
    blocks = []
    for number, cue in enumerate(_in_order(cues), start=1):
        start, end = _times(cue)
        blocks.append(
            f"{number}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{_speaker_line(cue)}\n"
        )
    return "\n".join(blocks)


def _speaker_line(cue: Cue) -> str:
    speaker, text = clean(cue.speaker), clean(cue.text)
    return f"{speaker}: {text}" if speaker else text


def to_text(cues: Iterable[Cue]) -> str:
    """A readable transcript: one "Speaker: text" line per cue."""
    return "".join(_speaker_line(cue) + "\n" for cue in _in_order(cues))


def text_only(cues: Iterable[Cue]) -> str:
    """Only the words, joined with spaces (no speakers, no times, no final newline)."""
    return " ".join(t for t in (clean(cue.text) for cue in _in_order(cues)) if t)


def webvtt_segment(
    cues: Iterable[Cue], segment_start_s: float, segment_end_s: float, media_start_s: float
) -> str:
    """One WebVTT segment of an HLS subtitles rendition covering [segment_start_s,
    segment_end_s) of the recording's timeline: the cues overlapping it (a cue spanning segments
    is in each, with the same identifier: players drop the repeats), cue times on the recording's
    timeline.

    `media_start_s` is the segment's start on the audio's own clock (its fMP4 decode time): the
    X-TIMESTAMP-MAP (RFC 8216 s3.5) ties the segment's start to it on the 90 kHz clock, which is
    how a player (hls.js: cue + MPEGTS/90000 - LOCAL, less the audio's first decode time) puts
    the cues at the audio they belong to, in every run of the writer.
    """
    # Rounded up: the map's instant is in the segment, so its MPEGTS is never below 0.
    local_ms = math.ceil(round(segment_start_s * 1000, 6))
    mpegts = round((media_start_s + local_ms / 1000 - segment_start_s) * MPEG_CLOCK_HZ)
    shown = [c for c in _in_order(cues) if c.end_s > segment_start_s and c.start_s < segment_end_s]
    header = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:{_clock(local_ms, '.')}\n"
    # Ends with a blank line: FFmpeg (before 8) reads a subtitles playlist's segments as one
    # stream, and the next segment's header then starts a block of its own, which it skips.
    return "\n".join([header, *(_webvtt_block(cue, identified=True) for cue in shown), ""])
