"""The HLS writer on its own: segments, playlists, a restart mid-space, files made from them."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from media_support import tone_level
from parley.media import hls, playlist
from parley.media.space import SPEAKER_CHANGE_TICKS, SpeakerChanges

pytestmark = pytest.mark.unit

HZ = 440.0
BLOCK = 960  # one 20 ms tick


def _push(writer: hls.HlsWriter, ticks: int, *, tone_ticks: range = range(0)) -> None:
    for tick in range(ticks):
        n = np.arange(BLOCK) + tick * BLOCK
        loud = tick in tone_ticks
        block = np.sin(2 * np.pi * HZ * n / 48000) * 8000 if loud else np.zeros(BLOCK)
        writer.push(block.astype(np.int16))


def _writer(folder: Path) -> hls.HlsWriter:
    writer = hls.HlsWriter(folder, bitrate=64000, window=3, clock=lambda: datetime.now(UTC))
    writer.start()
    return writer


def _level(audio: np.ndarray, start_s: float, end_s: float) -> float:
    return tone_level(audio[int(start_s * 48000) : int(end_s * 48000)] * 32767, HZ)


def test_segments_playlists_and_the_recording(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    _push(writer, 250, tone_ticks=range(100, 150))  # 5 s, the tone from 2.0 to 3.0 s
    writer.note(listeners=4)
    segments = writer.finish()
    assert [s.number for s in segments] == [1, 2, 3, 4, 5]
    assert all(1.0 <= s.duration_s <= 1.03 for s in segments)
    assert playlist.parse((tmp_path / "index.m3u8").read_text()) == (segments, True)
    live, ended = playlist.parse((tmp_path / "live.m3u8").read_text())
    assert live == segments[-3:] and ended
    assert hls.read_timeline(tmp_path) == [{"at_s": pytest.approx(5.0, abs=0.05), "listeners": 4}]

    size = hls.export_recording(tmp_path, segments, tmp_path / "recording.m4a")
    assert size == (tmp_path / "recording.m4a").stat().st_size
    audio = hls.decode_span(tmp_path, segments, 0, 10)
    assert audio.size / 48000 == pytest.approx(playlist.total_duration_s(segments), abs=0.01)
    assert _level(audio, 2.1, 2.9) > 0.1
    assert _level(audio, 0.5, 1.9) < 0.005 and _level(audio, 3.2, 4.5) < 0.005

    clip = hls.decode_span(tmp_path, segments, 1.5, 2.0)
    assert clip.size == 2 * 48000
    assert _level(clip, 0.6, 1.4) > 0.1 and _level(clip, 0.0, 0.4) < 0.005
    hls.export_clip(clip, tmp_path / "clip.m4a", 64000)
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
    first = _writer(tmp_path)
    _push(first, 120, tone_ticks=range(120))
    before = first.finish()
    # What a crash leaves: the index without its end and with a torn line, the next segment
    # renamed into place but never listed, and one half-written under its temporary name.
    index = tmp_path / "index.m3u8"
    index.write_text(index.read_text().replace(playlist.ENDLIST, "") + "#EXTINF:1.0")
    unlisted = playlist.segment_name(before[-1].number + 1)
    (tmp_path / unlisted).write_bytes(b"\0" * 100)
    (tmp_path / f"{playlist.segment_name(before[-1].number + 2)}.tmp").write_bytes(b"\0" * 50)

    second = _writer(tmp_path)
    _push(second, 120)
    after = second.finish()
    assert after[: len(before)] == before
    resumed = after[len(before)]
    assert resumed.number == before[-1].number + 1
    assert resumed.run == 2 and resumed.discontinuity
    assert (tmp_path / "init-2.mp4").is_file()
    assert (tmp_path / unlisted).read_bytes()[4:8] == b"moof"  # written over, whole
    audio = hls.decode_span(tmp_path, after, 0, 100)
    total = playlist.total_duration_s(after)
    assert audio.size / 48000 == pytest.approx(total, abs=0.05)
    first_s = playlist.total_duration_s(before)
    assert _level(audio, 0.2, first_s - 0.2) > 0.1
    assert _level(audio, first_s + 0.3, total - 0.1) < 0.005
    hls.export_recording(tmp_path, after, tmp_path / "recording.m4a")


def test_playlists_of_a_crashed_space_are_closed_with_what_was_listed(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    _push(writer, 160)
    segments = writer.finish()
    index = tmp_path / "index.m3u8"
    index.write_text(index.read_text().replace(playlist.ENDLIST, ""))
    assert hls.close_playlists(tmp_path, 3) == segments
    assert playlist.parse(index.read_text()) == (segments, True)


def test_the_splitter_cuts_init_and_fragments_and_counts_samples(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    _push(writer, 100)
    writer.finish()
    init = (tmp_path / "init-1.mp4").read_bytes()
    segment = (tmp_path / "seg-000001.m4s").read_bytes()
    splitter = hls.Fmp4Splitter()
    stream = init + segment
    units = [
        unit for at in range(0, len(stream), 777) for unit in splitter.feed(stream[at : at + 777])
    ]
    assert [(kind, data) for kind, data, _ in units] == [("init", init), ("segment", segment)]
    assert units[1][2] == 47  # AAC frames of 1024 samples in the first second
    with pytest.raises(ValueError, match="bad MP4 box size"):
        hls.Fmp4Splitter().feed(b"\0\0\0\3moof")


def test_the_floor_changes_hands_after_half_a_second() -> None:
    changes = SpeakerChanges()
    heard = [changes.observe(1) for _ in range(SPEAKER_CHANGE_TICKS)]
    assert heard[-1] == 1 and heard[:-1] == [None] * (SPEAKER_CHANGE_TICKS - 1)
    # A short interjection does not move the marker; a held one does.
    assert [changes.observe(2) for _ in range(5)] == [None] * 5
    assert changes.observe(1) is None
    heard = [changes.observe(2) for _ in range(SPEAKER_CHANGE_TICKS)]
    assert heard[-1] == 2
    assert changes.observe(None) is None and changes.speaker == 2


def test_a_server_that_only_stops_leaves_the_playlists_open(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    _push(writer, 120)
    segments = writer.finish(end_playlists=False)
    # Players keep polling through a restart instead of ending the space.
    assert playlist.parse((tmp_path / "live.m3u8").read_text()) == (segments[-3:], False)
    assert playlist.parse((tmp_path / "index.m3u8").read_text()) == (segments, False)


def test_a_failed_writer_stops_taking_audio(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    (tmp_path / "init-1.mp4").mkdir()  # the init segment cannot be written there
    _push(writer, 120)
    writer.finish()
    assert writer._failed
    queued = writer._queue.qsize()
    writer.push(np.zeros(BLOCK, dtype=np.int16))
    assert writer._queue.qsize() == queued <= 1  # at most finish()'s own marker
