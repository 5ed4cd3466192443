"""HLS playlist math and text (RFC 8216), with no I/O.

A space's media folder holds fMP4 segments numbered from 1 across the whole space, an init
segment per run of the writer (a server restart mid-space starts a new run), and two playlists:
- `index.m3u8`: every segment, appended as each one is written (it is also the recording's
  journal, read back after a crash), closed with EXT-X-ENDLIST when the space ends;
- `live.m3u8`: the last few segments, what live listeners poll (s6.2.2: a sliding window keeps
  each poll small however long the space runs).
A captioned space adds a WebVTT subtitles rendition (media/subtitles.py): `subs.m3u8`, a sliding
window of `sub-NNNNNN.vtt` segments numbered as the audio's, and the multivariant playlist
`main.m3u8` that groups it with `live.m3u8` (s4.3.4.1, s4.3.4.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

INDEX_PLAYLIST = "index.m3u8"
LIVE_PLAYLIST = "live.m3u8"
MAIN_PLAYLIST = "main.m3u8"
SUBTITLES_PLAYLIST = "subs.m3u8"
SUBTITLES_GROUP = "subs"
AAC_LC_CODEC = "mp4a.40.2"  # RFC 6381 s3.3: MPEG-4 audio, object type 2 (AAC-LC)
# A finished recording is also packaged as MPEG-TS segments of about 6 s, listed by `vod.m3u8`:
# the players built on FFmpeg before 8.0 (ffmpeg, mpv, and so VLC-like tools on Debian 12) cannot
# seek in fMP4 HLS (FFmpeg ticket 7359), and seek in MPEG-TS HLS.
VOD_PLAYLIST = "vod.m3u8"
VOD_GROUP_SEGMENTS = 6
# RFC 8216 s4.3.3.1: EXTINF rounded to the nearest integer must not exceed the target duration.
# Segments are cut at the first AAC frame past the 1 s mark (1.0027 s), which rounds to 1; and a
# client reloads a live playlist no sooner than the target duration after it changed (s6.3.4), so
# 1, not 2, keeps a second of delay out of every listener's ear.
TARGET_DURATION_S = 1


def segment_name(number: int) -> str:
    return f"seg-{number:06d}.m4s"


def init_name(run: int) -> str:
    return f"init-{run}.mp4"


def vod_segment_name(number: int) -> str:
    return f"vod-{number:06d}.ts"


def subtitle_name(number: int) -> str:
    return f"sub-{number:06d}.vtt"


def is_media_file(name: str) -> bool:
    """The only names a media folder's URL may ask for."""
    if name in (INDEX_PLAYLIST, LIVE_PLAYLIST, VOD_PLAYLIST, MAIN_PLAYLIST, SUBTITLES_PLAYLIST):
        return True
    for prefix, suffix in (("seg-", ".m4s"), ("init-", ".mp4"), ("vod-", ".ts"), ("sub-", ".vtt")):
        middle = name[len(prefix) : -len(suffix)] if name.endswith(suffix) else ""
        if name.startswith(prefix) and middle.isdigit() and len(middle) <= 9:
            return True
    return False


@dataclass(frozen=True)
class Segment:
    number: int
    duration_s: float
    run: int
    # Wall-clock time of the segment's first sample (EXT-X-PROGRAM-DATE-TIME, s4.3.2.6).
    starts_at: datetime
    # First segment of a run after the first: timestamps and init segment change (s4.3.2.3).
    discontinuity: bool = False


def header(*, playlist_type: str | None, media_sequence: int = 1, discontinuities: int = 0) -> str:
    lines = [
        "#EXTM3U",
        # Version 7 for EXT-X-MAP with fMP4 segments (s4.3.2.5, s7).
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{TARGET_DURATION_S}",
        f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}",
    ]
    if discontinuities:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuities}")
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    return "\n".join(lines) + "\n"


def entry(segment: Segment, *, with_map: bool) -> str:
    """One segment's lines; `with_map` repeats the init segment (needed after a discontinuity
    and at the top of a sliding window)."""
    lines = []
    if segment.discontinuity:
        lines.append("#EXT-X-DISCONTINUITY")
    if with_map or segment.discontinuity:
        lines.append(f'#EXT-X-MAP:URI="{init_name(segment.run)}"')
    stamp = segment.starts_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
    lines.append(f"#EXTINF:{segment.duration_s:.5f},")
    lines.append(segment_name(segment.number))
    return "\n".join(lines) + "\n"


ENDLIST = "#EXT-X-ENDLIST\n"


def live_playlist(segments: list[Segment], window: int, *, ended: bool) -> str:
    """The sliding window over the last `window` segments."""
    shown = segments[-window:]
    first = shown[0].number if shown else 1
    skipped = segments[: len(segments) - len(shown)]
    discontinuities = sum(1 for s in skipped if s.discontinuity)
    text = header(playlist_type=None, media_sequence=first, discontinuities=discontinuities)
    for index, segment in enumerate(shown):
        text += entry(segment, with_map=index == 0)
    return text + (ENDLIST if ended else "")


def subtitles_playlist(
    segments: list[Segment], first: int, last: int, window: int, *, ended: bool
) -> str:
    """The subtitles' sliding window: the subtitle segments written (numbers `first` to `last`,
    each covering the audio segment of its number) and, of them, the last `window`. Numbers,
    durations, dates and discontinuities are the audio's, so a player lines the two up (s6.3.2);
    no EXT-X-MAP, as WebVTT segments need none (s3.5)."""
    written = [s for s in segments if first <= s.number <= last]
    shown = written[-window:] if window > 0 else []
    sequence = shown[0].number if shown else max(first, last + 1)
    discontinuities = sum(1 for s in segments if s.number < sequence and s.discontinuity)
    text = header(playlist_type=None, media_sequence=sequence, discontinuities=discontinuities)
    for segment in shown:
        lines = ["#EXT-X-DISCONTINUITY"] if segment.discontinuity else []
        stamp = segment.starts_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        lines.append(f"#EXTINF:{segment.duration_s:.5f},")
        lines.append(subtitle_name(segment.number))
        text += "\n".join(lines) + "\n"
    return text + (ENDLIST if ended else "")


def quoted_string(value: str) -> str:
    """s4.2: a quoted-string attribute value holds no double quote and no line break."""
    if any(c in value for c in '"\r\n'):
        raise ValueError(f"not usable in a playlist: {value!r}")
    return value


def multivariant_playlist(*, language: str, name: str, bandwidth: int) -> str:
    """`main.m3u8`: the live audio with its subtitles rendition (s4.3.4.1, s4.3.4.2). The
    attribute values are quoted strings, which may hold no quote or line break (s4.2)."""
    language, name = quoted_string(language), quoted_string(name)
    rendition = (
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLES_GROUP}",NAME="{name}",'
        f'LANGUAGE="{language}",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,'
        # Apple's HLS authoring spec: captions (the speech written out), not a translation.
        'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog",'
        f'URI="{SUBTITLES_PLAYLIST}"'
    )
    variant = (
        f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS="{AAC_LC_CODEC}",'
        f'SUBTITLES="{SUBTITLES_GROUP}"'
    )
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS", rendition, variant]
    return "\n".join([*lines, LIVE_PLAYLIST]) + "\n"


def parse(text: str) -> tuple[list[Segment], bool]:
    """Reads back a playlist this module wrote: its segments and whether it has ended. A line
    torn by a crash mid-append ends the list there."""
    segments: list[Segment] = []
    ended = False
    duration: float | None = None
    starts_at: datetime | None = None
    run = 1
    discontinuity = False
    for line in text.splitlines():
        if line == "#EXT-X-ENDLIST":
            ended = True
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#EXT-X-MAP:URI="):
            name = line.split("=", 1)[1].strip('"')
            if not (name.startswith("init-") and name.endswith(".mp4")):
                break
            run = int(name[5:-4])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            try:
                starts_at = datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
            except ValueError:
                break
        elif line.startswith("#EXTINF:"):
            try:
                duration = float(line[8:].rstrip(","))
            except ValueError:
                break
        elif line and not line.startswith("#"):
            if duration is None or starts_at is None or not _is_fmp4_segment(line):
                break
            number = int(line[4:-4])
            segments.append(Segment(number, duration, run, starts_at, discontinuity))
            duration, starts_at, discontinuity = None, None, False
    return segments, ended


def _is_fmp4_segment(name: str) -> bool:
    return name.startswith("seg-") and name.endswith(".m4s") and is_media_file(name)


def vod_groups(segments: list[Segment]) -> list[list[Segment]]:
    """The finished recording's segments in groups of up to VOD_GROUP_SEGMENTS, a group never
    spanning two runs (each run has timestamps of its own)."""
    groups: list[list[Segment]] = []
    for segment in segments:
        last = groups[-1] if groups else None
        if last is None or len(last) == VOD_GROUP_SEGMENTS or segment.run != last[0].run:
            groups.append([segment])
        else:
            last.append(segment)
    return groups


def vod_playlist(groups: list[list[Segment]]) -> str:
    """The VOD playlist of a finished recording's MPEG-TS segments (one per group)."""
    durations = [math.fsum(s.duration_s for s in group) for group in groups]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        # s4.3.3.1: each EXTINF, rounded, at most the target duration.
        f"#EXT-X-TARGETDURATION:{max((math.floor(d + 0.5) for d in durations), default=1)}",
        "#EXT-X-MEDIA-SEQUENCE:1",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for number, (group, duration_s) in enumerate(zip(groups, durations, strict=True), start=1):
        if number > 1 and group[0].run != groups[number - 2][0].run:
            lines.append("#EXT-X-DISCONTINUITY")
        stamp = group[0].starts_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        lines.append(f"#EXTINF:{duration_s:.5f},")
        lines.append(vod_segment_name(number))
    return "\n".join(lines) + "\n" + ENDLIST


@dataclass(frozen=True)
class Span:
    """Where a stretch of a recording lies: the segments that hold it and the offset of its
    start within the first of them."""

    segments: list[Segment]
    skip_s: float
    duration_s: float


def timeline_starts(segments: list[Segment]) -> list[float]:
    """Each segment's start on the recording's own timeline (seconds of audio before it)."""
    starts, at = [], 0.0
    for segment in segments:
        starts.append(at)
        at += segment.duration_s
    return starts


def span(segments: list[Segment], start_s: float, duration_s: float) -> Span:
    """The segments covering [start_s, start_s + duration_s) of the recording, clamped to it."""
    starts = timeline_starts(segments)
    total = starts[-1] + segments[-1].duration_s if segments else 0.0
    start_s = min(max(0.0, start_s), total)
    end_s = min(total, start_s + max(0.0, duration_s))
    chosen = [
        (segment, at)
        for segment, at in zip(segments, starts, strict=True)
        if at + segment.duration_s > start_s and at < end_s
    ]
    if not chosen:
        return Span([], 0.0, 0.0)
    return Span([s for s, _ in chosen], start_s - chosen[0][1], end_s - start_s)


def total_duration_s(segments: list[Segment]) -> float:
    return math.fsum(s.duration_s for s in segments)
