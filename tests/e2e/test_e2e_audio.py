"""Live audio in real browsers: a speaker's microphone reaches a listener's page.

The speaker's Chromium has a fake microphone that plays speech made with espeak-ng and sox;
the listener's Chromium may autoplay. The test measures the energy of the audio the listener's
page actually receives (an AnalyserNode on the stream of the app's <audio> element), watches
the speaking ring, and checks that muting silences the speaker, that the audio keeps playing
on other pages with the mini-player, and that moving the speaker down sends them back to
listening without leaving the room.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Route, expect

from browser_support import (
    AUTOPLAY,
    fake_microphone,
    wait_for_energy,
)

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

AUDIO_TIMEOUT_MS = 20_000


def audio_status(client: Client) -> Any:
    return client.page.get_by_test_id("audio-status")


def test_a_speaker_is_heard_by_a_listener(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str], speech_wav: Path
) -> None:
    host = new_client()
    host_handle = unique_handle("auhost")
    host.sign_up_via_api(host_handle, "Ava Host")
    space = host.api("POST", "/api/spaces", {"title": "Audio check"})["space"]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    expect(host.stage_member(host_handle)).to_be_visible()

    speaker = new_client(
        browser_args=[
            *fake_microphone(speech_wav),
            AUTOPLAY,
        ]
    )
    speaker_handle = unique_handle("auspk")
    speaker.sign_up_via_api(speaker_handle, "Sid Speaker")
    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("aulis"), "Lou Listener")

    # The listener hears the room over WHEP as soon as it is open.
    listener.page.goto(room)
    expect(listener.page.get_by_test_id("space-state")).to_have_text("Live")
    status = audio_status(listener)
    expect(status).to_have_attribute("data-audio-kind", "whep")
    expect(status).to_have_attribute("data-audio-status", "connected", timeout=AUDIO_TIMEOUT_MS)
    expect(status).to_have_attribute("data-audio-blocked", "false")

    # The speaker asks to speak, the host approves; the speaker turns the microphone on after
    # reading why, publishes over WHIP and unmutes.
    speaker.page.goto(room)
    expect(audio_status(speaker)).to_have_attribute(
        "data-audio-status", "connected", timeout=AUDIO_TIMEOUT_MS
    )
    speaker.dock_button("Request to speak").click()
    host.approve(speaker_handle)
    expect(speaker.stage_member(speaker_handle)).to_have_attribute("data-muted", "true")
    # Joined muted, the microphone not even on: the room shows it off, the listener hears
    # nothing.
    expect(listener.stage_member(speaker_handle)).to_have_attribute("data-mic", "off")
    expect(audio_status(speaker)).to_have_attribute("data-audio-kind", "whep")
    wait_for_energy(listener.page, above=False)
    # One gesture: Unmute turns the microphone on, publishes, and unmutes once the server
    # receives the audio.
    speaker.dock_button("Unmute").click()
    expect(listener.stage_member(speaker_handle)).to_have_attribute(
        "data-muted", "false", timeout=AUDIO_TIMEOUT_MS
    )
    expect(listener.stage_member(speaker_handle)).to_have_attribute("data-mic", "live")
    expect(audio_status(speaker)).to_have_attribute("data-audio-kind", "whip")

    # The listener's page receives the speech, and the speaker's ring lights up there.
    heard = wait_for_energy(listener.page, above=True)
    assert not heard["paused"], heard
    expect(listener.stage_member(speaker_handle)).to_have_attribute(
        "data-speaking", "true", timeout=AUDIO_TIMEOUT_MS
    )
    expect(listener.stage_member(speaker_handle).get_by_test_id("speaking")).to_have_text(
        "speaking"
    )
    # The ring is not announced: the live region never says "speaking".
    expect(listener.page.get_by_test_id("announcer")).not_to_contain_text("speaking")

    # The host mutes the speaker: the listener's audio falls to near silence, the ring goes out.
    host.person(speaker_handle).get_by_role("button", name=re.compile("^Mute")).click()
    expect(listener.stage_member(speaker_handle)).to_have_attribute("data-muted", "true")
    expect(listener.stage_member(speaker_handle)).to_have_attribute("data-speaking", "false")
    silent = wait_for_energy(listener.page, above=False)
    assert silent["rms"] < heard["rms"] / 10, (heard, silent)

    # Audio keeps playing while the listener moves around the app: the mini-player shows the
    # space on other pages.
    speaker.dock_button("Unmute").click()
    expect(listener.stage_member(speaker_handle)).to_have_attribute("data-muted", "false")
    listener.page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect(listener.page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()
    player = listener.page.get_by_test_id("mini-player")
    expect(player).to_be_visible()
    expect(player.get_by_role("link", name="Audio check")).to_be_visible()
    expect(player.get_by_role("button", name="Unmute")).to_have_count(0)  # not on stage
    wait_for_energy(listener.page, above=True)
    assert listener.axe_violations() == []
    listener.page.set_viewport_size({"width": 360, "height": 740})
    assert listener.axe_violations() == []
    assert not listener.has_horizontal_scroll()

    # Back in the room through the mini-player: the same connection carries on.
    player.get_by_role("link", name="Audio check").click()
    expect(listener.page.get_by_role("heading", level=1, name="Audio check")).to_be_visible()
    expect(player).to_have_count(0)
    expect(audio_status(listener)).to_have_attribute("data-audio-status", "connected")

    # Moved down, the speaker stops publishing and listens again, still in the room.
    host.person(speaker_handle).get_by_role("button", name="Move to audience").click()
    expect(speaker.stage_member(speaker_handle)).to_have_count(0)
    expect(speaker.dock_button("Unmute")).to_have_count(0)
    expect(audio_status(speaker)).to_have_attribute("data-audio-kind", "whep")
    expect(audio_status(speaker)).to_have_attribute(
        "data-audio-status", "connected", timeout=AUDIO_TIMEOUT_MS
    )
    expect(speaker.page.get_by_test_id("space-state")).to_have_text("Live")
    expect(speaker.dock_button("Request to speak")).to_be_visible()
    wait_for_energy(listener.page, above=False)

    # Leaving from the mini-player ends the sessions.
    listener.page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect(player).to_be_visible()
    player.get_by_role("button", name="Leave").click()
    expect(player).to_have_count(0)
    expect(listener.page.get_by_role("heading", level=1, name="Spaces")).to_be_focused()
    assert listener.page.evaluate(
        "() => document.querySelector('audio[data-testid=\"room-audio\"]').srcObject === null"
    )


def test_listening_comes_back_after_the_session_drops(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host.sign_up_via_api(unique_handle("rchost"), "Ray Host")
    space = host.api("POST", "/api/spaces", {"title": "Flaky network"})["space"]
    host.api("POST", f"/api/spaces/{space['id']}/join")

    listener = new_client(browser_args=[AUTOPLAY])
    listener.sign_up_via_api(unique_handle("rclis"), "Rae Listener")
    page = listener.page
    posts: list[str] = []
    sessions: list[str] = []

    # The first offer meets a server that is down for a moment: the client tries again.
    def whep(route: Route) -> None:
        posts.append(route.request.method)
        if len(posts) == 1:
            route.fulfill(
                status=503,
                content_type="application/json",
                body='{"error": "unavailable", "message": "try later"}',
            )
        else:
            response = route.fetch()
            if response.status == 201:
                sessions.append(response.headers["location"])
            route.fulfill(response=response)

    page.route("**/api/spaces/*/whep", whep)
    page.goto(f"/s/{space['id']}")
    status = audio_status(listener)
    expect(status).to_have_attribute("data-audio-status", "connected", timeout=AUDIO_TIMEOUT_MS)
    assert len(posts) == 2 and len(sessions) == 1, (posts, sessions)

    # The server drops the session (as after a restart): the client notices the dead peer
    # connection and sets up a new session on its own.
    listener.api("DELETE", sessions[0])
    expect(status).to_have_attribute("data-audio-status", "reconnecting", timeout=AUDIO_TIMEOUT_MS)
    expect(page.get_by_test_id("space-state")).to_have_text("Live")
    for _ in range(60):
        if len(sessions) >= 2:
            break
        page.wait_for_timeout(500)
    assert len(sessions) >= 2, f"no new WHEP session after the drop: {posts}"
    expect(status).to_have_attribute("data-audio-status", "connected", timeout=AUDIO_TIMEOUT_MS)


# Headless Chromium never blocks autoplay (whatever --autoplay-policy says), so this page
# gets the desktop behaviour: play() is refused until the user has clicked in the page.
BLOCK_AUTOPLAY_JS = """(() => {
    // Playwright's own script calls count as user activation, so track real clicks instead.
    let clicked = false;
    addEventListener('click', (event) => { if (event.isTrusted) clicked = true; }, true);
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function () {
        if (!clicked) {
            const refusal = new DOMException('play() needs a user gesture', 'NotAllowedError');
            return Promise.reject(refusal);
        }
        return play.call(this);
    };
})();"""


def test_blocked_autoplay_offers_a_button(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host.sign_up_via_api(unique_handle("abhost"), "Abe Host")
    space = host.api("POST", "/api/spaces", {"title": "Autoplay blocked"})["space"]
    host.api("POST", f"/api/spaces/{space['id']}/join")

    listener = new_client()
    listener.sign_up_via_api(unique_handle("ablis"), "Bea Listener")
    page = listener.page
    page.add_init_script(BLOCK_AUTOPLAY_JS)
    page.goto(f"/s/{space['id']}")
    status = audio_status(listener)
    expect(status).to_have_attribute("data-audio-blocked", "true", timeout=AUDIO_TIMEOUT_MS)
    unblock = page.get_by_role("button", name="Audio blocked — tap to listen")
    expect(unblock).to_be_visible()
    assert listener.axe_violations() == []
    unblock.click()
    expect(unblock).to_have_count(0)
    expect(status).to_have_attribute("data-audio-blocked", "false")
    expect(status).to_have_text("Listening")


def test_a_refused_microphone_keeps_the_speaker_muted_and_says_why(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    """The browser refuses the microphone (no permission): the speaker is told why and stays
    muted; the room shows their microphone off; the server never has them unmuted."""
    host = new_client()
    host_handle = unique_handle("dnhost")
    host.sign_up_via_api(host_handle, "Dee Host")
    space = host.api("POST", "/api/spaces", {"title": "No microphone"})["space"]
    listener = new_client()
    listener.sign_up_via_api(unique_handle("dnlis"), "Dan Listener")
    host.page.goto(f"/s/{space['id']}")
    listener.page.goto(f"/s/{space['id']}")
    expect(listener.stage_member(host_handle)).to_be_visible()
    # The browser refuses, as when the user answers "Block" (headless Chromium never asks).
    host.page.evaluate(
        "() => { navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('Permission denied', 'NotAllowedError')); }"
    )
    host.dock_button("Unmute").click()
    message = host.page.get_by_test_id("mic-message")
    expect(message).to_contain_text("Microphone access is blocked, so you stay muted")
    expect(host.dock_button("Unmute")).to_be_visible()
    for client in (host, listener):
        member = client.stage_member(host_handle)
        expect(member).to_have_attribute("data-muted", "true")
        expect(member).to_have_attribute("data-mic", "off")
        expect(member.get_by_test_id("muted-icon")).to_have_text("Mic off")
    seat = host.api("GET", f"/api/spaces/{space['id']}")
    assert seat["me"]["muted"] is True and seat["me"]["mic_live"] is False
    assert host.axe_violations() == []
