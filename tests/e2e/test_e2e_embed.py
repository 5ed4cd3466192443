"""The embeddable player on a page of another origin (issue 13): a blog (a plain page served
from another port) frames /embed/s/{id} of a live space whose host sends a tone; a reader
presses play inside the frame, without an account, and the frame's <audio> plays the tone
(its frequency found by FFT in the frame, time advancing)."""

from __future__ import annotations

import functools
import html
import http.server
import math
import threading
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from playwright.sync_api import Frame, expect

from browser_support import fake_microphone
from support import free_port

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000
AXE_JS = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
TONE_HZ = 660.0
SAMPLE_RATE = 48_000

# In the frame: what its <audio> plays (captureStream: what hls.js feeds it), through an
# AnalyserNode: the loudest frequency, the level, and how far currentTime moved in `ms`.
MEASURE_TONE_JS = """async (ms) => {
    const el = document.querySelector('#player audio');
    if (!el || !el.captureStream) return null;
    const stream = el.captureStream();
    if (stream.getAudioTracks().length === 0) return { tracks: 0, paused: el.paused };
    const ctx = new AudioContext();
    await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    const sink = ctx.createGain();
    sink.gain.value = 0;
    source.connect(analyser);
    analyser.connect(sink);
    sink.connect(ctx.destination);
    const started = el.currentTime;
    await new Promise((resolve) => setTimeout(resolve, ms));
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    let best = 1;
    for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    const samples = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const result = { tracks: 1, peak_hz: best * ctx.sampleRate / analyser.fftSize,
        peak_db: bins[best], rms: Math.sqrt(sum / samples.length), paused: el.paused,
        advanced: el.currentTime - started, state: ctx.state };
    source.disconnect();
    await ctx.close();
    return result;
}"""


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A steady tone, 48 kHz mono 16-bit, for Chromium's fake microphone (which loops it)."""
    path = tmp_path_factory.mktemp("tone") / "tone.wav"
    t = np.arange(SAMPLE_RATE * 4) / SAMPLE_RATE
    samples = (0.3 * np.sin(2 * math.pi * TONE_HZ * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return path


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def blog(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A page of another origin (another port) that frames a URL; its address."""
    folder = tmp_path / "blog"
    folder.mkdir()
    port = free_port()
    files = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(_QuietFiles, directory=str(folder))
    )
    thread = threading.Thread(target=files.serve_forever, name="blog", daemon=True)
    thread.start()

    def page(src: str) -> str:
        (folder / "index.html").write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>A blog</title>"
            "</head><body><h1>Tonight on my blog</h1>"
            f'<iframe id="embed" src="{html.escape(src)}" width="480" height="220"'
            ' frameborder="0" allow="autoplay" title="Parley player"></iframe></body></html>',
            encoding="utf-8",
        )
        return f"http://127.0.0.1:{port}/index.html"

    yield page
    files.shutdown()
    files.server_close()


def _embed_frame(client: Client) -> Frame:
    for frame in client.page.frames:
        if "/embed/s/" in frame.url:
            return frame
    raise AssertionError(f"no embed frame among {[f.url for f in client.page.frames]}")


def test_an_embed_on_another_origin_plays_a_live_space(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    parley_server: str,
    tone_wav: Path,
    blog: Callable[[str], str],
) -> None:
    host = new_client(browser_args=fake_microphone(tone_wav))
    host_handle = unique_handle("ehost")
    host.sign_up_via_api(host_handle, "Tina Tone")
    title = "Tone <b>radio</b> & ünïcødé 🎵"
    space = host.api("POST", "/api/spaces", {"title": title})["space"]
    host.page.goto(f"/s/{space['id']}")
    host.dock_button("Unmute").click()
    expect(host.stage_member(host_handle)).to_have_attribute(
        "data-muted", "false", timeout=TIMEOUT_MS
    )

    # A reader of the blog, no account, no autoplay exemption: they press play in the frame.
    reader = new_client()
    requested: list[str] = []
    reader.page.on("request", lambda request: requested.append(request.url))
    blog_url = blog(f"{parley_server}/embed/s/{space['id']}")
    assert blog_url.split("/")[2] != parley_server.split("/")[2]  # another origin
    reader.page.goto(blog_url)
    embed = reader.page.frame_locator("#embed")
    expect(embed.get_by_role("heading", level=1)).to_have_text(title)
    expect(embed.get_by_text("Tina Tone · @" + host_handle)).to_be_visible()
    embed.get_by_role("button", name="▶ Listen live").click()
    expect(embed.get_by_role("button", name="Pause")).to_be_visible(timeout=TIMEOUT_MS)
    expect(embed.get_by_role("status")).to_have_text("Playing live", timeout=TIMEOUT_MS)

    frame = _embed_frame(reader)
    last: dict[str, Any] | None = None
    for _ in range(10):
        last = frame.evaluate(MEASURE_TONE_JS, 2000)
        if (
            last
            and last.get("tracks")
            and abs(last["peak_hz"] - TONE_HZ) < 15
            and last["advanced"] > 1.5
            and not last["paused"]
        ):
            break
    else:
        pytest.fail(f"the embed never played the tone: last {last}")
    assert last["rms"] > 0.01, last
    reader.screenshot("embed-on-another-origin")
    # Through hls.js (the web client's chunk, from Parley's origin) and the visitor's signed
    # live playlist and segments.
    hls_js = frame.evaluate("() => document.getElementById('player').dataset.hls")
    assert hls_js.startswith("/assets/hls.light-"), hls_js
    assert f"{parley_server}{hls_js}" in requested
    live = [url for url in requested if url.startswith(f"{parley_server}/hls/{space['id']}/live/v")]
    assert any(url.endswith(".m3u8") for url in live), requested
    assert any(url.endswith((".m4s", ".ts", ".mp4")) for url in live), requested

    # The player is accessible as it is (axe-core run inside the frame).
    if not frame.evaluate("() => typeof window.axe !== 'undefined'"):
        frame.evaluate(AXE_JS.read_text(encoding="utf-8"))
    violations = frame.evaluate(
        """async () => (await axe.run(document, { resultTypes: ['violations'] }))
            .violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')))"""
    )
    assert violations == []

    # Pause, and play again: back at the live edge.
    embed.get_by_role("button", name="Pause").click()
    expect(embed.get_by_role("button", name="▶ Listen live")).to_be_visible()
    assert frame.evaluate("() => document.querySelector('#player audio').paused") is True
    embed.get_by_role("button", name="▶ Listen live").click()
    expect(embed.get_by_role("button", name="Pause")).to_be_visible()
