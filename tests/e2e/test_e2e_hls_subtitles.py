"""The subtitles rendition of a captioned space in hls.js, an HLS player we did not write: a folder
written by the HLS writer (two runs: a restart mid-space) is served over HTTP and played in
Chromium, and the audio element's text track must hold each line once, with its speaker, at the
time it was said on the recording's timeline, in both runs (RFC 8216 s3.5 X-TIMESTAMP-MAP)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from browser_support import AUTOPLAY, CHROMIUM, CHROMIUM_ARGS
from media_support import push_ticks
from parley.media import playlist
from parley.media.hls import HlsWriter

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# The full build: the client's own player loads hls.js/light, which has no subtitles.
HLS_JS = REPO / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js"
TIMEOUT_MS = 20_000

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>subtitles</title></head>
<body><audio id="player" muted></audio>
<script src="hls.min.js"></script>
<script>
  const audio = document.getElementById('player');
  window.hlsErrors = [];
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, data) => window.hlsErrors.push(data.details));
  hls.loadSource('main.m3u8');
  hls.attachMedia(audio);
  hls.on(Hls.Events.MANIFEST_PARSED, () => audio.play());
  window.subtitleSegments = new Set();
  hls.on(Hls.Events.SUBTITLE_FRAG_PROCESSED, (_, data) => {
    if (data.success) window.subtitleSegments.add(data.frag.sn);
  });
  window.hls = hls;
</script></body></html>
"""

CUES_JS = """() => Array.from(document.getElementById('player').textTracks).flatMap(track =>
  Array.from(track.cues || []).map(cue => ({
    kind: track.kind, language: track.language, label: track.label, mode: track.mode,
    start: cue.startTime, end: cue.endTime, text: cue.text,
    words: cue.getCueAsHTML().textContent,
    voice: cue.getCueAsHTML().querySelector('span[title]')?.title ?? null,
  })))"""


class _Files(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the base class's attribute, replaced)
        ".m3u8": "application/vnd.apple.mpegurl",
        ".m4s": "audio/mp4",
        ".mp4": "audio/mp4",
        ".vtt": "text/vtt",
        ".js": "text/javascript",
        ".html": "text/html",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def captioned_folder(tmp_path: Path) -> tuple[Path, float]:
    """Two runs of a captioned space; returns the folder and where the second run starts."""
    folder = tmp_path / "space"
    first = HlsWriter(folder, bitrate=64000, window=100, clock=lambda: datetime.now(UTC))
    first.enable_subtitles("en", name="English")
    first.start()
    push_ticks(first, 150)
    first.caption(1.0, 2.5, "Ann <A&B>", "Hello & welcome")  # in time: no subtitles written yet
    push_ticks(first, 100)
    first.caption(3.2, 4.0, "Cy", "In a later segment")  # its map is not the run's first
    push_ticks(first, 50)
    before = first.finish(end_playlists=False)

    second = HlsWriter(folder, bitrate=64000, window=100, clock=lambda: datetime.now(UTC))
    second.enable_subtitles("en", name="English")
    second.start()
    offset_s = playlist.total_duration_s(before)
    push_ticks(second, 150)
    second.caption(offset_s + 1.5, offset_s + 2.5, "Bob", "After the restart")
    push_ticks(second, 150)
    second.finish()
    assert HLS_JS.is_file(), "run `npm ci` in web/ (the client's dependencies include hls.js)"
    shutil.copy(HLS_JS, folder / "hls.min.js")
    (folder / "index.html").write_text(PAGE)
    return folder, offset_s


@pytest.fixture
def served(captioned_folder: tuple[Path, float]) -> Iterator[tuple[str, float, int]]:
    folder, offset_s = captioned_folder
    handler = functools.partial(_Files, directory=str(folder))
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=files.serve_forever, name="subtitles-files", daemon=True)
    thread.start()
    subtitle_files = len(list(folder.glob("sub-*.vtt")))
    yield f"http://127.0.0.1:{files.server_address[1]}", offset_s, subtitle_files
    files.shutdown()
    files.server_close()


def test_hls_js_shows_each_line_once_at_its_time_in_both_runs(
    browser: Browser, served: tuple[str, float, int]
) -> None:
    base_url, offset_s, subtitle_files = served
    # A Chromium of its own, which plays without a user's gesture.
    own = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, AUTOPLAY], headless=True
    )
    context = own.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base_url}/index.html")
        # hls.js has read every subtitle segment (a cue spanning segments is in each).
        page.wait_for_function(
            f"() => window.subtitleSegments.size === {subtitle_files}", timeout=TIMEOUT_MS
        )
        cues = page.evaluate(CUES_JS)
        assert len(cues) == 3, cues  # one each: the repeats dropped by their identifiers
        ann, cy, bob = sorted(cues, key=lambda cue: cue["start"])
        assert {(c["kind"], c["language"], c["label"]) for c in cues} == {
            ("subtitles", "en", "English")
        }
        assert ann["start"] == pytest.approx(1.0, abs=0.002)
        assert ann["end"] == pytest.approx(2.5, abs=0.002)
        assert (ann["voice"], ann["words"]) == ("Ann <A&B>", "Hello & welcome")
        assert cy["start"] == pytest.approx(3.2, abs=0.002)
        assert cy["end"] == pytest.approx(4.0, abs=0.002)
        assert (cy["voice"], cy["words"]) == ("Cy", "In a later segment")
        # After the discontinuity: the decode clock started again, the recording's did not.
        assert bob["start"] == pytest.approx(offset_s + 1.5, abs=0.002)
        assert bob["end"] == pytest.approx(offset_s + 2.5, abs=0.002)
        assert (bob["voice"], bob["words"]) == ("Bob", "After the restart")

        # Playing there, it is the line showing.
        page.evaluate(
            f"() => {{ document.getElementById('player').currentTime = {offset_s + 1.7}; }}"
        )
        page.wait_for_function(
            f"""() => {{
                const player = document.getElementById('player');
                return !player.paused && player.currentTime > {offset_s + 1.9}
                    && Array.from(player.textTracks[0].activeCues || [])
                        .some(cue => cue.text.includes('After the restart'));
            }}""",
            timeout=TIMEOUT_MS,
        )
        assert page.evaluate("() => window.hlsErrors") == []
    finally:
        context.close()
        own.close()
    assert errors == []
