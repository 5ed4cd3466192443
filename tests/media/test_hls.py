"""The HLS writer on its own: segments, playlists, a restart mid-space, and the files the archive
makes from what it wrote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from media_support import TICK_SAMPLES, TONE_HZ, new_writer, push_ticks, tone_level
from parley.media import archive, playlist

pytestmark = pytest.mark.unit

HZ = TONE_HZ
BLOCK = TICK_SAMPLES


def _level(audio: np.ndarray, start_s: float, end_s: float) -> float:
    return tone_level(audio[int(start_s * 48000) : int(end_s * 48000)] * 32767, HZ)


def test_segments_playlists_and_the_recording(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    push_ticks(writer, 250, tone_ticks=range(100, 150))  # 5 s, the tone from 2.0 to 3.0 s
    writer.note(listeners=4)
    segments = writer.finish()
    assert [s.number for s in segments] == [1, 2, 3, 4, 5]
    assert all(1.0 <= s.duration_s <= 1.03 for s in segments)
    assert playlist.parse((tmp_path / "index.m3u8").read_text()) == (segments, True)
    live, ended = playlist.parse((tmp_path / "live.m3u8").read_text())
    assert live == segments[-3:] and ended
    assert archive.read_timeline(tmp_path) == [
        {"at_s": pytest.approx(5.0, abs=0.05), "listeners": 4}
    ]

    size = archive.export_recording(tmp_path, segments, tmp_path / "recording.m4a")
    assert size == (tmp_path / "recording.m4a").stat().st_size
    audio = archive.decode_span(tmp_path, segments, 0, 10)
    assert audio.size / 48000 == pytest.approx(playlist.total_duration_s(segments), abs=0.01)
    assert _level(audio, 2.1, 2.9) > 0.1
    assert _level(audio, 0.5, 1.9) < 0.005 and _level(audio, 3.2, 4.5) < 0.005

    clip = archive.decode_span(tmp_path, segments, 1.5, 2.0)
    assert clip.size == 2 * 48000
    assert _level(clip, 0.6, 1.4) > 0.1 and _level(clip, 0.0, 0.4) < 0.005
    archive.export_clip(clip, tmp_path / "clip.m4a", 64000)
    probed = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            str(tmp_path / "clip.m4a"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(probed.stdout) == pytest.approx(2.0, abs=0.03)


def test_a_restart_carries_on_as_a_new_run(tmp_path: Path) -> None:
    first = new_writer(tmp_path)
    push_ticks(first, 120, tone_ticks=range(120))
    before = first.finish()
    # What a crash leaves: the index without its end and with a torn line, the next segment
    # renamed into place but never listed, and one half-written under its temporary name.
    index = tmp_path / "index.m3u8"
    index.write_text(index.read_text().replace(playlist.ENDLIST, "") + "#EXTINF:1.0")
    unlisted = playlist.segment_name(before[-1].number + 1)
    (tmp_path / unlisted).write_bytes(b"\0" * 100)
    (tmp_path / f"{playlist.segment_name(before[-1].number + 2)}.tmp").write_bytes(b"\0" * 50)

    second = new_writer(tmp_path)
    push_ticks(second, 120)
    after = second.finish()
    assert after[: len(before)] == before
    resumed = after[len(before)]
    assert resumed.number == before[-1].number + 1
    assert resumed.run == 2 and resumed.discontinuity
    assert (tmp_path / "init-2.mp4").is_file()
    assert (tmp_path / unlisted).read_bytes()[4:8] == b"moof"  # written over, whole
    audio = archive.decode_span(tmp_path, after, 0, 100)
    total = playlist.total_duration_s(after)
    assert audio.size / 48000 == pytest.approx(total, abs=0.05)
    first_s = playlist.total_duration_s(before)
    assert _level(audio, 0.2, first_s - 0.2) > 0.1
    assert _level(audio, first_s + 0.3, total - 0.1) < 0.005
    archive.export_recording(tmp_path, after, tmp_path / "recording.m4a")
    # The MPEG-TS copy: a group per run at least, a discontinuity where the second starts, and
    # the same audio end to end in a player we did not write.
    assert archive.export_vod(tmp_path, after) == len(playlist.vod_groups(after))
    vod_text = (tmp_path / playlist.VOD_PLAYLIST).read_text()
    assert vod_text.count("#EXT-X-DISCONTINUITY\n") == 1
    decoded = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(tmp_path / playlist.VOD_PLAYLIST),
            "-ac",
            "1",
            "-ar",
            "48000",
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    vod = np.frombuffer(decoded.stdout, dtype=np.float32)
    assert vod.size / 48000 == pytest.approx(total, abs=0.1)
    assert _level(vod, 0.2, first_s - 0.2) > 0.1
    assert _level(vod, first_s + 0.3, total - 0.1) < 0.005


def test_a_server_that_only_stops_leaves_the_playlists_open(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    push_ticks(writer, 120)
    segments = writer.finish(end_playlists=False)
    # Players keep polling through a restart instead of ending the space.
    assert playlist.parse((tmp_path / "live.m3u8").read_text()) == (segments[-3:], False)
    assert playlist.parse((tmp_path / "index.m3u8").read_text()) == (segments, False)


def test_a_failed_writer_stops_taking_audio(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    (tmp_path / "init-1.mp4").mkdir()  # the init segment cannot be written there
    push_ticks(writer, 120)
    writer.finish()
    assert writer._failed
    # Nothing left behind the dead thread, even a tick pushed while it was failing (a race that
    # left one in the queue now and then), and nothing taken after.
    assert writer._queue.qsize() == 0
    writer.push(np.zeros(BLOCK, dtype=np.int16))
    assert writer._queue.qsize() == 0
