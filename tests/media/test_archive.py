"""Reading a media folder back: after a crash (the writer's output as the journal), and once the
space ended, as files players we did not write seek in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from media_support import new_writer, push_ticks
from parley.media import archive, playlist
from support import require_service

pytestmark = pytest.mark.unit


def test_playlists_of_a_crashed_space_are_closed_with_what_was_listed(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    push_ticks(writer, 160)
    segments = writer.finish()
    index = tmp_path / "index.m3u8"
    index.write_text(index.read_text().replace(playlist.ENDLIST, ""))
    assert archive.close_playlists(tmp_path, 3) == segments
    assert playlist.parse(index.read_text()) == (segments, True)


# --- a finished recording in players we did not write ---------------------------------------------
SIX_MINUTES_TICKS = 6 * 60 * 50
TONE_AT_S = 300.0  # two seconds of tone at 5:00 of a 6-minute recording


@pytest.fixture(scope="module")
def six_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-minute recording as the server writes one (fed faster than real time), finished: its
    .m4a and its MPEG-TS replay playlist."""
    folder = tmp_path_factory.mktemp("six-minutes")
    writer = new_writer(folder)
    start = int(TONE_AT_S * 50)
    push_ticks(writer, SIX_MINUTES_TICKS, tone_ticks=range(start, start + 100), pace_every=500)
    segments = writer.finish()
    archive.export_recording(folder, segments, folder / archive.RECORDING_FILE)
    assert archive.export_vod(folder, segments) == 60  # 6 s each
    return folder


def _tone_windows(samples: np.ndarray) -> list[float]:
    """The starts (s) of the 100 ms windows where the tone is."""
    windows = samples[: samples.size // 4800 * 4800].reshape(-1, 4800).astype(np.float64)
    return [i / 10 for i, w in enumerate(windows) if np.sqrt(np.mean(w**2)) > 1000]


_RAW_OUT = ["-ac", "1", "-ar", "48000", "-f", "s16le", "-"]
_MPV_RAW = [
    *("mpv", "--no-config", "--really-quiet", "--no-video", "--ao=pcm", "--ao-pcm-waveheader=no"),
    *("--audio-format=s16", "--audio-channels=mono", "--audio-samplerate=48000"),
]


def _ffmpeg_from(source: Path, start_s: float) -> np.ndarray:
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(start_s), "-i", str(source), "-t", "4", *_RAW_OUT],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return np.frombuffer(done.stdout, dtype=np.int16)


def _mpv_from(source: Path, start_s: float, out: Path) -> np.ndarray:
    if shutil.which("mpv") is None:
        require_service("mpv (scripts/install.sh --test installs it)", "absent", 0)
    subprocess.run(
        [*_MPV_RAW, f"--ao-pcm-file={out}", f"--start={start_s}", "--length=4", str(source)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return np.fromfile(out, dtype=np.int16)


@pytest.mark.slow
@pytest.mark.parametrize("name", [archive.RECORDING_FILE, playlist.VOD_PLAYLIST])
def test_ffmpeg_and_mpv_seek_to_five_minutes_and_find_the_tone(
    six_minutes: Path, name: str, tmp_path: Path
) -> None:
    source = six_minutes / name
    # From one second before the tone: it begins one second in, for two seconds.
    for player, heard in (
        ("ffmpeg", _ffmpeg_from(source, TONE_AT_S - 1)),
        ("mpv", _mpv_from(source, TONE_AT_S - 1, tmp_path / "mpv.raw")),
    ):
        windows = _tone_windows(heard)
        assert heard.size >= 3.9 * 48000, player
        assert windows and abs(windows[0] - 1.0) <= 0.15 and abs(windows[-1] - 2.9) <= 0.15, (
            player,
            windows,
        )
