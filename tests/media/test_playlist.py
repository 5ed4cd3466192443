"""Playlist text, its reading back after a crash, and the spans clips take: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.media import playlist, urls
from parley.media.playlist import Segment

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _segments(count: int, *, run_break: int | None = None) -> list[Segment]:
    found, run = [], 1
    for n in range(1, count + 1):
        discontinuity = n == run_break
        if discontinuity:
            run = 2
        found.append(Segment(n, 1.0, run, T0 + timedelta(seconds=n), discontinuity))
    return found


def _index(segments: list[Segment], ended: bool = False) -> str:
    text = playlist.header(playlist_type="EVENT")
    for i, segment in enumerate(segments):
        text += playlist.entry(segment, with_map=i == 0)
    return text + (playlist.ENDLIST if ended else "")


def test_an_index_reads_back_as_written() -> None:
    segments = _segments(5, run_break=4)
    text = _index(segments, ended=True)
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n")
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1
    assert '#EXT-X-MAP:URI="init-2.mp4"' in text
    assert playlist.parse(text) == (segments, True)


def test_a_line_torn_by_a_crash_ends_the_list_there() -> None:
    segments = _segments(3)
    text = _index(segments)
    torn = text + "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T09:00:0"
    assert playlist.parse(torn) == (segments, False)
    half = text + "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T09:00:04.000Z\n#EXTINF:1.00000,\nseg-0"
    assert playlist.parse(half) == (segments, False)


def test_the_live_window_slides_and_counts_what_it_dropped() -> None:
    segments = _segments(10, run_break=3)
    text = playlist.live_playlist(segments, 4, ended=False)
    assert "#EXT-X-MEDIA-SEQUENCE:7\n" in text
    # RFC 8216 s6.2.2: the discontinuity that left the window is still counted.
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in text
    assert '#EXT-X-MAP:URI="init-2.mp4"' in text
    assert playlist.parse(text)[0] == segments[-4:]
    assert playlist.live_playlist(segments, 4, ended=True).endswith("#EXT-X-ENDLIST\n")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("live.m3u8", True),
        ("index.m3u8", True),
        ("seg-000001.m4s", True),
        ("init-2.mp4", True),
        ("vod.m3u8", True),
        ("vod-000012.ts", True),
        ("vod-x.ts", False),
        ("recording.m4a", False),
        ("seg-../../x.m4s", False),
        ("init-.mp4", False),
        ("timeline.jsonl", False),
        ("parley.db", False),
    ],
)
def test_only_media_files_are_served(name: str, ok: bool) -> None:
    assert playlist.is_media_file(name) is ok


def test_an_index_never_lists_vod_segments() -> None:
    text = _index(_segments(2)).replace("seg-000002.m4s", "vod-000002.ts")
    assert [s.number for s in playlist.parse(text)[0]] == [1]


def test_the_vod_playlist_groups_segments_within_runs() -> None:
    segments = _segments(15, run_break=10)  # run 1: 1-9, run 2: 10-15
    groups = playlist.vod_groups(segments)
    assert [[s.number for s in g] for g in groups] == [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
        [10, 11, 12, 13, 14, 15],
    ]
    text = playlist.vod_playlist(groups)
    lines = text.splitlines()
    assert lines[:6] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:6",
        "#EXT-X-MEDIA-SEQUENCE:1",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    assert [line for line in lines if line.startswith("#EXTINF")] == [
        "#EXTINF:6.00000,",
        "#EXTINF:3.00000,",
        "#EXTINF:6.00000,",
    ]
    assert [line for line in lines if not line.startswith("#")] == [
        "vod-000001.ts",
        "vod-000002.ts",
        "vod-000003.ts",
    ]
    # The second run's timestamps start again: a discontinuity before its first group only.
    assert lines.index("#EXT-X-DISCONTINUITY") == lines.index("vod-000002.ts") + 1
    assert text.count("#EXT-X-DISCONTINUITY") == 1
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T09:00:10.000Z" in lines
    assert text.endswith("#EXT-X-ENDLIST\n")


def test_a_span_takes_the_segments_it_overlaps() -> None:
    segments = _segments(10)
    found = playlist.span(segments, 2.5, 3.0)
    assert [s.number for s in found.segments] == [3, 4, 5, 6]
    assert found.skip_s == pytest.approx(0.5)
    assert found.duration_s == pytest.approx(3.0)
    tail = playlist.span(segments, 8.5, 30)
    assert [s.number for s in tail.segments] == [9, 10]
    assert tail.duration_s == pytest.approx(1.5)


def test_signed_links_check_space_scope_holder_expiry_and_secret() -> None:
    url = urls.hls_url(7, "live", "u3", 2000, "s3cret", "live.m3u8")
    _, _, space, scope, holder, expires, signature, _ = url.split("/")
    assert (space, scope, holder, expires) == ("7", "live", "u3", "2000")
    ok = urls.Check.VALID
    assert urls.check(7, "live", "u3", 2000, signature, "s3cret", now_s=1999) is ok
    assert urls.check(7, "live", "u3", 2000, signature, "s3cret", now_s=2001) is urls.Check.EXPIRED
    assert urls.check(8, "live", "u3", 2000, signature, "s3cret", now_s=1999) is urls.Check.BAD
    assert urls.check(7, "replay", "u3", 2000, signature, "s3cret", now_s=1999) is urls.Check.BAD
    assert urls.check(7, "live", "u4", 2000, signature, "s3cret", now_s=1999) is urls.Check.BAD
    assert urls.check(7, "live", "u3", 2001, signature, "s3cret", now_s=1999) is urls.Check.BAD
    assert urls.check(7, "live", "u3", 2000, signature, "other", now_s=1999) is urls.Check.BAD
    # What nginx's secure_link_md5 "$expires/hls/$space/$scope/$holder secret" computes.
    assert signature == urls.signature(7, "live", "u3", 2000, "s3cret")
    import base64
    import hashlib

    expected = base64.urlsafe_b64encode(hashlib.md5(b"2000/hls/7/live/u3 s3cret").digest())
    assert signature == expected.rstrip(b"=").decode()
