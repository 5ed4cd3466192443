"""A captioned space's HLS: the WebVTT subtitles rendition beside the audio (RFC 8216 s3.5,
s4.3.4.1), its timing rule, and what FFmpeg (a player we did not write) makes of it."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from media_support import TONE_HZ, push_ticks, tone_level
from parley.media import archive, playlist, subtitles
from parley.media.hls import HlsWriter
from parley.media.playlist import Segment
from parley.media.subtitles import Cue

pytestmark = pytest.mark.unit

TICKS_PER_S = 50
# Where FFmpeg before 8.0 reads a subtitles rendition at all (its HLS demuxer calls it
# experimental, hls.c "Can't support the subtitle").
EXPERIMENTAL = ["-strict", "experimental"]
COPY_VTT = ["-c:s", "copy", "-f", "webvtt", "-"]
MONO_F32 = ["-ac", "1", "-ar", "48000", "-f", "f32le", "-"]
STREAMS = "stream=codec_type,codec_name:stream_tags=language"


def _writer(folder: Path, *, window: int = 100) -> HlsWriter:
    return HlsWriter(folder, bitrate=64000, window=window, clock=lambda: datetime.now(UTC))


def _subtitle_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("sub-*.vtt"))


# --- the timing rule ----------------------------------------------------------------------------
def test_a_subtitle_segment_is_written_two_audio_segments_behind() -> None:
    assert subtitles.due(1, 1, ending=False) == range(1, 1)
    assert subtitles.due(3, 1, ending=False) == range(1, 2)
    assert subtitles.due(7, 2, ending=False) == range(2, 6)  # catching up (after a restart)
    assert subtitles.due(7, 8, ending=False) == range(8, 8)
    assert subtitles.due(7, 6, ending=True) == range(6, 8)  # the end: all that is left


def test_a_line_in_time_stays_where_it_was_said() -> None:
    cue = Cue(4.2, 5.0, "Ann", "hello")
    assert subtitles.place(cue, 4.0) == cue
    assert subtitles.place(cue, 4.2) == cue
    assert subtitles.place(Cue(4.2, 4.0, "Ann", "odd"), 1.0) == Cue(4.2, 4.2, "Ann", "odd")


def test_a_late_line_is_shown_from_the_first_segment_not_written() -> None:
    # Its own length, at least MIN_LATE_CUE_S.
    assert subtitles.place(Cue(2.5, 6.0, "Ann", "long"), 3.0) == Cue(3.0, 6.5, "Ann", "long")
    assert subtitles.place(Cue(2.5, 2.9, "Ann", "short"), 3.0) == Cue(
        3.0, 3.0 + subtitles.MIN_LATE_CUE_S, "Ann", "short"
    )


def test_which_cues_a_segment_shows_and_which_are_still_needed() -> None:
    cues = [Cue(2.9, 3.1, "", "b"), Cue(0.5, 1.0, "", "a"), Cue(3.5, 4.0, "", "c")]
    assert [c.text for c in subtitles.overlapping(cues, 3.0, 4.0)] == ["b", "c"]
    assert [c.text for c in subtitles.overlapping(cues, 4.0, 5.0)] == []
    assert [c.text for c in subtitles.still_needed(cues, 3.1)] == ["c"]


def test_languages_are_checked() -> None:
    assert subtitles.check_language("pt-BR") == "pt-BR"
    for bad in ("", "e", "en,fr", 'en"', "en\n"):
        with pytest.raises(ValueError, match="not a language tag"):
            subtitles.check_language(bad)


# --- the playlists --------------------------------------------------------------------------------
def _segments(count: int, *, run_break: int = 0) -> list[Segment]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Segment(
            number=n,
            duration_s=1.00267,
            run=2 if run_break and n >= run_break else 1,
            starts_at=start + timedelta(seconds=n),
            discontinuity=n == run_break,
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("main.m3u8", True),
        ("subs.m3u8", True),
        ("sub-000001.vtt", True),
        ("sub-x.vtt", False),
        ("sub-../1.vtt", False),
        ("seg-000001.vtt", False),
        ("sub-000001.m4s", False),
        ("subs.vtt", False),
    ],
)
def test_the_subtitle_files_are_media_files(name: str, ok: bool) -> None:
    assert playlist.is_media_file(name) is ok


def test_the_subtitles_window_follows_the_audio_numbers_and_discontinuities() -> None:
    segments = _segments(12, run_break=6)
    # Written 3..10 (captions on at 3; 11 and 12 not yet), a window of 4: 7..10.
    text = playlist.subtitles_playlist(segments, 3, 10, 4, ended=False)
    assert "#EXT-X-MEDIA-SEQUENCE:7\n" in text
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in text  # the one at 6, out of the window
    assert re.findall(r"sub-\d+\.vtt", text) == [f"sub-{n:06d}.vtt" for n in range(7, 11)]
    assert "EXT-X-MAP" not in text and "ENDLIST" not in text
    assert text.count("#EXTINF:1.00267,\n") == 4
    # The discontinuity itself, when in the window.
    shown = playlist.subtitles_playlist(segments, 3, 8, 4, ended=True)
    assert "#EXT-X-MEDIA-SEQUENCE:5\n" in shown and "DISCONTINUITY-SEQUENCE" not in shown
    assert "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:06.000Z\n" in shown
    assert shown.endswith("sub-000008.vtt\n#EXT-X-ENDLIST\n")
    # Nothing written yet: an empty window waiting at the first number.
    empty = playlist.subtitles_playlist(segments, 13, 12, 4, ended=False)
    assert "#EXT-X-MEDIA-SEQUENCE:13\n" in empty and "#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in empty
    assert "#EXTINF" not in empty


def test_the_multivariant_playlist() -> None:
    text = playlist.multivariant_playlist(language="fr", name="Sous-titres", bandwidth=70400)
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Sous-titres",LANGUAGE="fr",'
        "DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,"
        'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog",URI="subs.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=70400,CODECS="mp4a.40.2",SUBTITLES="subs"\n'
        "live.m3u8\n"
    )
    with pytest.raises(ValueError, match="not usable"):
        playlist.multivariant_playlist(language="en", name='a "quoted" name', bandwidth=1)


# --- the writer, read back by FFmpeg -----------------------------------------------------------
def _ffmpeg_cues(source: Path) -> list[tuple[float, float, str]]:
    """The subtitle stream of an HLS playlist as FFmpeg reads it (cue text as written)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", *EXPERIMENTAL, "-i", str(source), "-map", "0:s", *COPY_VTT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for block in out.split("\n\n"):
        lines = block.strip().splitlines()
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = (_seconds(t) for t in lines[timing].split(" --> "))
        found.append((start, end, "\n".join(lines[timing + 1 :])))
    return sorted(set(found))  # a cue spanning segments is in each


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.strip().split()[0].split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def _probe_streams(source: Path) -> list[tuple[str, str, str]]:
    """Codec, kind and language of each stream ffprobe finds."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", *EXPERIMENTAL, "-show_entries", STREAMS, "-of", "json", source],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    streams = json.loads(out)["streams"]
    return sorted(
        (s["codec_name"], s["codec_type"], s.get("tags", {}).get("language", "")) for s in streams
    )


def _decoded(source: Path) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", *EXPERIMENTAL, "-i", str(source), "-map", "0:a", *MONO_F32],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, dtype=np.float32)


def test_a_captioned_space_has_subtitles_ffmpeg_reads_beside_the_audio(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    writer.enable_subtitles("en", name="English")
    writer.start()
    # A tone from 2.1 to 3.5 s; each line comes about a second after it ends, as live.
    push_ticks(writer, 130, tone_ticks=range(105, 130))
    writer.caption(0.4, 1.2, "Ann", "Hello & welcome")
    push_ticks(writer, 100, tone_ticks=range(0, 45))
    writer.caption(2.1, 3.5, "Bob <B>", "A tone, now")
    push_ticks(writer, 120)
    writer.caption(5.0, 6.25, "Ann", "Last words")
    push_ticks(writer, 50)
    segments = writer.finish()
    assert len(segments) == 8

    names = [playlist.subtitle_name(s.number) for s in segments]
    assert _subtitle_files(tmp_path) == names  # one per audio segment, flushed at the end
    subs = (tmp_path / "subs.m3u8").read_text()
    live = (tmp_path / "live.m3u8").read_text()
    assert re.findall(r"sub-\d+\.vtt", subs) == names
    assert re.findall("#EXTINF:.*", subs) == re.findall("#EXTINF:.*", live)
    assert re.findall("#EXT-X-PROGRAM-DATE-TIME:.*", subs) == re.findall(
        "#EXT-X-PROGRAM-DATE-TIME:.*", live
    )
    assert subs.endswith(playlist.ENDLIST) and live.endswith(playlist.ENDLIST)
    main = (tmp_path / "main.m3u8").read_text()
    assert 'LANGUAGE="en"' in main and 'NAME="English"' in main
    assert main.endswith('SUBTITLES="subs"\nlive.m3u8\n')

    # Each segment maps its own start: LOCAL on the recording, MPEGTS on the decode clock.
    starts = playlist.timeline_starts(segments)
    for name, start_s in zip(names, starts, strict=True):
        head = (tmp_path / name).read_text().splitlines()[:2]
        stamp = re.fullmatch(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:([\d:.]+)", head[1])
        assert head[0] == "WEBVTT" and stamp is not None
        # LOCAL rounded up (the playlist's EXTINF are rounded to 10 us)
        assert -0.0001 < _seconds(stamp[2]) - start_s < 0.001
        assert int(stamp[1]) / 90000 == pytest.approx(_seconds(stamp[2]), abs=1e-5)

    assert _probe_streams(tmp_path / "main.m3u8") == [
        ("aac", "audio", ""),
        ("webvtt", "subtitle", "en"),
    ]
    assert _ffmpeg_cues(tmp_path / "main.m3u8") == [
        (0.4, 1.2, "<v Ann>Hello &amp; welcome</v>"),
        (2.1, 3.5, "<v Bob &lt;B&gt;>A tone, now</v>"),
        (5.0, 6.25, "<v Ann>Last words</v>"),
    ]
    # The line about the tone is where the tone is in the audio FFmpeg plays.
    audio = _decoded(tmp_path / "main.m3u8") * 32767
    assert tone_level(audio[int(2.2 * 48000) : int(3.4 * 48000)], TONE_HZ) > 0.1
    assert tone_level(audio[int(0.2 * 48000) : int(2.0 * 48000)], TONE_HZ) < 0.005
    assert tone_level(audio[int(3.7 * 48000) : int(6.0 * 48000)], TONE_HZ) < 0.005


def test_a_late_line_is_shown_late_not_lost(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    writer.enable_subtitles("en")
    writer.start()
    push_ticks(writer, 260)  # 5.2 s: audio 1-5 written, so subtitles 1-3 (to 3.008 s)
    writer.caption(1.0, 1.6, "Ann", "Sorry, late")
    writer.caption(2.5, 4.5, "Bob", "Also late")
    push_ticks(writer, 150)
    segments = writer.finish()
    until_s = playlist.timeline_starts(segments)[3]
    at = pytest.approx(until_s, abs=0.001)
    assert _ffmpeg_cues(tmp_path / "main.m3u8") == [
        (at, pytest.approx(until_s + 1.5, abs=0.001), "<v Ann>Sorry, late</v>"),  # the least
        (at, pytest.approx(until_s + 2.0, abs=0.001), "<v Bob>Also late</v>"),  # its own length
    ]
    assert "late" not in (tmp_path / "sub-000003.vtt").read_text()
    assert "Sorry, late" in (tmp_path / "sub-000004.vtt").read_text()


def test_bad_values_fail_the_caller_not_the_writer(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    writer.start()
    with pytest.raises(ValueError, match="not a language tag"):
        writer.enable_subtitles('en"')
    with pytest.raises(ValueError, match="not usable in a playlist"):
        writer.enable_subtitles("en", name='The "best" captions')
    push_ticks(writer, 100)
    assert len(writer.finish()) == 2 and not writer._failed
    assert not (tmp_path / "main.m3u8").exists()


def test_a_space_without_captions_writes_no_subtitles(tmp_path: Path) -> None:
    writer = _writer(tmp_path, window=3)
    writer.start()
    push_ticks(writer, 200)
    writer.caption(0.5, 1.5, "Ann", "not captioned")  # dropped: the rendition is off
    writer.finish()
    assert not (tmp_path / "main.m3u8").exists()
    assert not (tmp_path / "subs.m3u8").exists()
    assert _subtitle_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "index.m3u8",
        "init-1.mp4",
        "live.m3u8",
        *(f"seg-{n:06d}.m4s" for n in range(1, 5)),
    ]


def test_captions_turned_on_mid_space_start_at_the_next_segment(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    writer.start()
    push_ticks(writer, 160)  # audio 1-3 written
    writer.enable_subtitles("fr")
    push_ticks(writer, 40)
    writer.caption(3.2, 3.8, "Ann", "Bonjour")
    push_ticks(writer, 150)
    segments = writer.finish()
    assert _subtitle_files(tmp_path) == [
        playlist.subtitle_name(s.number) for s in segments if s.number >= 4
    ]
    subs = (tmp_path / "subs.m3u8").read_text()
    assert "#EXT-X-MEDIA-SEQUENCE:4\n" in subs
    assert _probe_streams(tmp_path / "main.m3u8")[1] == ("webvtt", "subtitle", "fr")
    assert [c[2] for c in _ffmpeg_cues(tmp_path / "main.m3u8")] == ["<v Ann>Bonjour</v>"]


def test_a_restart_carries_the_subtitles_on_as_a_new_run(tmp_path: Path) -> None:
    first = _writer(tmp_path)
    first.enable_subtitles("en")
    first.start()
    push_ticks(first, 150)
    first.caption(1.0, 2.0, "Ann", "Before the restart")
    push_ticks(first, 100)
    before = first.finish(end_playlists=False)
    # A crash loses the last subtitle segment (written, never listed: it is written again).
    (tmp_path / playlist.subtitle_name(before[-1].number)).unlink()

    second = _writer(tmp_path)
    second.enable_subtitles("en")
    second.start()
    offset_s = playlist.total_duration_s(before)
    push_ticks(second, 100)
    assert second.timeline_s == pytest.approx(offset_s + 2.0)
    second.caption(offset_s + 0.5, offset_s + 1.5, "Bob", "After it")
    push_ticks(second, 150)
    after = second.finish()

    assert _subtitle_files(tmp_path) == [playlist.subtitle_name(s.number) for s in after]
    resumed = after[len(before)]
    assert resumed.discontinuity
    subs = (tmp_path / "subs.m3u8").read_text()
    assert subs.count("#EXT-X-DISCONTINUITY\n") == 1
    assert "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:" in subs
    assert re.findall(r"sub-\d+\.vtt", subs) == [playlist.subtitle_name(s.number) for s in after]
    # The new run's decode clock starts again at 0; the recording's timeline goes on.
    head = (tmp_path / playlist.subtitle_name(resumed.number)).read_text().splitlines()[1]
    local = _seconds(head.split("LOCAL:")[1])
    assert -0.0001 < local - offset_s < 0.001
    assert int(head.split("MPEGTS:")[1].split(",")[0]) == round((local - offset_s) * 90000)
    texts = [c[2] for c in _ffmpeg_cues(tmp_path / "main.m3u8")]
    assert texts == ["<v Ann>Before the restart</v>", "<v Bob>After it</v>"]


def test_playlists_closed_after_a_crash_end_the_subtitles_too(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    writer.enable_subtitles("en")
    writer.start()
    push_ticks(writer, 200)
    writer.finish(end_playlists=False)
    assert not (tmp_path / "subs.m3u8").read_text().endswith(playlist.ENDLIST)
    archive.close_playlists(tmp_path, 100)
    archive.close_playlists(tmp_path, 100)  # once only
    text = (tmp_path / "subs.m3u8").read_text()
    assert text.endswith(playlist.ENDLIST) and text.count(playlist.ENDLIST) == 1
