"""What the browser tests share: Chromium flags and the audio levels they assert."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from playwright.sync_api import Page

SPEECH = (
    "Welcome to the stage. This is a test of live audio in Parley, spoken by a machine "
    "so that every listener in the room can hear a steady stream of words without long pauses."
)
AUTOPLAY = "--autoplay-policy=no-user-gesture-required"
CHROMIUM = "/usr/bin/chromium"
# `playwright install` cannot download browsers here; these flags keep Debian's Chromium headless
# and quiet (no calls to outside hosts).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def fake_microphone(wav: object) -> list[str]:
    """Chromium flags for a microphone that plays `wav` (48 kHz mono), granted without asking."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    ]


# RMS of the received signal (full scale 1.0): speech at the fake microphone's level gives
# about -20 dBFS; an idle Opus stream decodes to (near) digital silence.
SPEAKING_MIN_RMS = 0.01
SILENCE_MAX_RMS = 0.002

# What an <audio> element plays, measured in the page for `ms` milliseconds through an
# AnalyserNode: its remote stream (`srcObject`, WebRTC) or, `capture` true, captureStream() (what
# hls.js feeds it). RMS and peak on a full scale of 1.0, and how far `currentTime` moved.
MEASURE_AUDIO_JS = """async ([selector, capture, ms]) => {
    const el = document.querySelector(selector);
    if (!el) return null;
    const stream = capture ? (el.captureStream ? el.captureStream() : null) : el.srcObject;
    if (!stream || stream.getAudioTracks().length === 0) return null;
    window.__parleyTestCtx = window.__parleyTestCtx || new AudioContext();
    const ctx = window.__parleyTestCtx;
    await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    const sink = ctx.createGain();
    sink.gain.value = 0;
    source.connect(analyser);
    analyser.connect(sink);
    sink.connect(ctx.destination);
    const buffer = new Float32Array(analyser.fftSize);
    const values = [];
    const started = el.currentTime;
    const end = performance.now() + ms;
    while (performance.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        analyser.getFloatTimeDomainData(buffer);
        let sum = 0;
        for (const v of buffer) sum += v * v;
        values.push(Math.sqrt(sum / buffer.length));
    }
    source.disconnect();
    analyser.disconnect();
    sink.disconnect();
    const rms = Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
    return { rms, peak: Math.max(...values), samples: values.length, paused: el.paused,
             state: ctx.state, advanced: el.currentTime - started };
}"""


def _dbfs(rms: float) -> str:
    return f"{20 * math.log10(rms):.1f} dBFS" if rms > 0 else "-inf dBFS"


def received(page: Page, ms: int = 2500) -> dict[str, Any]:
    result: dict[str, Any] | None = page.evaluate(
        MEASURE_AUDIO_JS, ['audio[data-testid="room-audio"]', False, ms]
    )
    assert result is not None, "the page's <audio> element has no remote stream"
    return result


def wait_for_energy(page: Page, above: bool, limit_s: float = 15.0) -> dict[str, Any]:
    """Measure until the received audio is above speech level (or below silence level)."""
    last: dict[str, Any] = {}
    for _ in range(max(1, int(limit_s / 1.5))):
        last = received(page, 1500)
        if above and last["rms"] > SPEAKING_MIN_RMS:
            return last
        if not above and last["rms"] < SILENCE_MAX_RMS:
            return last
    want = f"above {SPEAKING_MIN_RMS}" if above else f"below {SILENCE_MAX_RMS}"
    pytest.fail(f"received audio never went {want}: last {last} ({_dbfs(last.get('rms', 0))})")


def hls_heard(page: Page, limit_s: float = 20.0) -> dict[str, Any]:
    last: dict[str, Any] | None = None
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        # What the HLS <audio> element plays, through captureStream().
        last = page.evaluate(MEASURE_AUDIO_JS, ['audio[data-testid="hls-audio"]', True, 2000])
        if last and last["rms"] > SPEAKING_MIN_RMS and last["advanced"] > 1.5:
            return last
    pytest.fail(f"hls.js never played the speech: last {last}")
