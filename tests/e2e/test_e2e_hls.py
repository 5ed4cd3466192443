"""HLS in a real browser: hls.js plays a live space, the switch from WebRTC is seamless, and the
clip and replay pages work (and pass axe at 1280 and 360 px)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from browser_support import AUTOPLAY, fake_microphone, hls_heard

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000


def test_hls_plays_a_live_space_and_its_clip_and_replay(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    speech_wav: Path,
) -> None:
    host = new_client(
        browser_args=[
            *fake_microphone(speech_wav),
            AUTOPLAY,
        ]
    )
    host_handle = unique_handle("hlshost")
    host.sign_up_via_api(host_handle, "Hal Host")
    space = host.api("POST", "/api/spaces", {"title": "HLS check"})["space"]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    host.dock_button("Unmute").click()  # the microphone turns on with it
    expect(host.stage_member(host_handle)).to_have_attribute(
        "data-muted", "false", timeout=TIMEOUT_MS
    )
    expect(host.page.get_by_test_id("audio-status")).to_have_attribute("data-audio-kind", "whip")

    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("hlslis"), "Liz Listener")
    page = listener.page
    page.goto(room)
    status = page.get_by_test_id("audio-status")
    expect(status).to_have_attribute("data-playback", "webrtc", timeout=TIMEOUT_MS)

    # The listener asks for data saver (HLS): WebRTC keeps playing until hls.js does.
    listener.dock_button("More").click()
    expect(page.get_by_label("Playback").locator("option")).to_have_text(
        ["Live (instant)", "Live (data saver)"]
    )
    page.get_by_label("Playback").select_option("hls")
    expect(status).to_have_attribute("data-playback-target", "hls")
    seen = []
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        now = status.get_attribute("data-playback")
        seen.append(now)
        if now == "hls":
            break
        assert now == "webrtc", seen  # never "off" in between: no gap
        time.sleep(0.05)
    assert seen[-1] == "hls", seen
    heard = hls_heard(page)
    assert not heard["paused"], heard

    # Anyone in the room clips the last 30 s.
    page.get_by_role("button", name="Clip last 30 s").click()
    link = page.get_by_test_id("clip-link")
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    clip_url = link.get_attribute("href")
    assert clip_url is not None and clip_url.startswith("/clips/")

    # The host ends the space and publishes the replay.
    host.api("POST", f"/api/spaces/{space['id']}/end")
    host.page.goto(room)
    publish = host.page.get_by_test_id("replay-publish")
    expect(publish).to_be_visible(timeout=TIMEOUT_MS)
    publish.click()
    expect(host.page.get_by_test_id("replay-published")).to_have_attribute("data-published", "true")

    problems: dict[str, Any] = {}
    for width in (1280, 360):
        viewer = new_client(width=width, browser_args=[AUTOPLAY])
        viewer.sign_up_via_api(unique_handle("hlsview"), "Vi Viewer")
        # The clip page: the audio file plays, share and download are offered.
        viewer.page.goto(clip_url)
        expect(viewer.page.get_by_role("heading", level=1, name="HLS check")).to_be_visible()
        audio = viewer.page.get_by_test_id("clip-audio")
        expect(audio).to_have_attribute("src", f"/api/clips/{clip_url.rsplit('/', 1)[1]}/audio.m4a")
        duration = viewer.page.evaluate(
            """async () => { const a = document.querySelector('[data-testid="clip-audio"]');
            if (a.readyState < 1) await new Promise(r => a.addEventListener('loadedmetadata', r));
            return a.duration; }"""
        )
        assert 1.0 < duration <= 30.0
        expect(viewer.page.get_by_role("button", name="Copy share link")).to_be_visible()
        expect(viewer.page.get_by_test_id("clip-download")).to_be_visible()
        for found in viewer.axe_violations():
            problems[f"clip page {width}px: {found['id']}"] = found
        if width <= 360 and viewer.has_horizontal_scroll():
            problems[f"clip page {width}px"] = "horizontal scroll"

        # The replay: a player that seeks, the host's marker, the listener count.
        viewer.page.goto(f"/spaces/{space['id']}/replay")
        expect(viewer.page.get_by_role("heading", level=1, name="HLS check")).to_be_visible()
        marker = viewer.page.get_by_test_id("marker").first
        expect(marker).to_contain_text(f"@{host_handle}", timeout=TIMEOUT_MS)
        expect(viewer.page.get_by_test_id("listener-summary")).to_be_visible()
        for found in viewer.axe_violations():
            problems[f"replay page {width}px: {found['id']}"] = found
        if width <= 360 and viewer.has_horizontal_scroll():
            problems[f"replay page {width}px"] = "horizontal scroll"
    assert not problems, problems

    # Playing the replay from a marker: time advances past the marker's place.
    marker.click()
    at = float(marker.get_attribute("data-at") or 0)
    viewer.page.wait_for_function(
        """(at) => { const a = document.querySelector('[data-testid="replay-audio"]');
        return a && !a.paused && a.currentTime > at + 0.5; }""",
        arg=at,
        timeout=TIMEOUT_MS,
    )
