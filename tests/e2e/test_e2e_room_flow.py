"""The main flow of a live space, seen from three browsers at once (host, speaker, listener), at
a laptop's width and a phone's: the stage as avatars, the audience below it kept current, the
dock at the bottom (one-gesture unmute, requests one tap away, reactions, share, Leave)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from browser_support import AUTOPLAY, fake_microphone, wait_for_energy

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

AUDIO_TIMEOUT_MS = 20_000


def _no_axe_violations(client: Client, state: str) -> None:
    violations = client.axe_violations()
    assert violations == [], f"{state}: {violations}"


@pytest.mark.parametrize("width", [1280, 360])
def test_host_speaker_and_listener_share_a_live_space(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    speech_wav: Path,
    width: int,
) -> None:
    height = 900 if width > 600 else 740
    host = new_client(width=width, height=height)
    host_handle = unique_handle("host")
    host.sign_up_via_ui(host_handle, "Hana Host")

    # The host creates a space through the form and lands in its room.
    host.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Start a space"
    ).click()
    expect(host.page).to_have_url(re.compile(r"/new$"))
    host.page.get_by_label("Title").fill("Parley end-to-end flow")
    host.page.get_by_label("Topic 1").fill("testing")
    host.page.get_by_role("button", name="Start now").click()
    expect(host.page).to_have_url(re.compile(r"/s/\d+$"))
    space_url = host.page.url
    expect(host.page.get_by_role("heading", level=1)).to_have_text("Parley end-to-end flow")
    expect(host.page.get_by_test_id("space-state")).to_have_text("Live")
    expect(host.stage_member(host_handle).get_by_test_id("role-badge")).to_have_text("Host")
    # The host has no microphone on yet: shown muted with the microphone off.
    expect(host.stage_member(host_handle)).to_have_attribute("data-mic", "off")
    # The dock: in view at the bottom of the window, Leave included.
    for name in ("Unmute", "React", "Requests", "Share", "More", "Leave"):
        expect(host.dock_button(name)).to_be_in_viewport()
    _no_axe_violations(host, "host alone")

    # A speaker (a fake microphone) and a listener (who prefers reduced motion) open the link.
    speaker = new_client(
        width=width, height=height, browser_args=[*fake_microphone(speech_wav), AUTOPLAY]
    )
    speaker_handle = unique_handle("sam")
    speaker.sign_up_via_api(speaker_handle, "Sam Speaker")
    listener = new_client(width=width, height=height, reduced_motion=True, browser_args=[AUTOPLAY])
    listener_handle = unique_handle("lisa")
    listener.sign_up_via_api(listener_handle, "Lisa Listener")
    for client in (speaker, listener):
        client.page.goto(space_url)
        expect(client.page.get_by_test_id("space-state")).to_have_text("Live")
        expect(client.stage_member(host_handle)).to_be_visible()
    # The audience updates by itself as people arrive: no Show or Refresh to press.
    audience = host.page.get_by_test_id("listeners")
    for handle in (speaker_handle, listener_handle):
        expect(audience.locator(f'[data-user-handle="{handle}"]')).to_be_visible()
    expect(host.page.get_by_test_id("listener-count")).to_have_text("2 listeners")

    # The speaker asks to speak: the host cannot miss it (a badge on the dock and a toast).
    speaker.dock_button("Request to speak").click()
    expect(speaker.dock_button("Withdraw request")).to_be_visible()
    expect(host.page.get_by_test_id("requests-badge")).to_contain_text("1")
    toast = host.page.get_by_test_id("toast")
    expect(toast).to_contain_text("Sam Speaker asked to speak")
    host.screenshot("room-request")
    toast.get_by_role("button", name="Review").click()
    sheet = host.page.get_by_test_id("requests-sheet")
    expect(sheet).to_be_visible()
    _no_axe_violations(host, "requests sheet")
    sheet.get_by_test_id("requests").locator(f'[data-user-handle="{speaker_handle}"]').get_by_role(
        "button", name="Approve"
    ).click()
    sheet.get_by_role("button", name="Close").click()
    for client in (host, speaker, listener):
        expect(client.stage_member(speaker_handle)).to_be_visible()
        expect(client.stage_member(speaker_handle)).to_have_attribute("data-muted", "true")
    expect(host.page.get_by_test_id("requests-badge")).to_have_count(0)
    expect(speaker.page.get_by_test_id("announcer")).to_contain_text("You joined the stage")

    # One gesture: Unmute turns the microphone on, waits until the server receives its audio,
    # and unmutes. The listener hears the speech (energy at the listener's <audio>).
    expect(listener.page.get_by_test_id("audio-status")).to_have_attribute(
        "data-audio-status", "connected", timeout=AUDIO_TIMEOUT_MS
    )
    speaker.dock_button("Unmute").click()
    for client in (host, listener):
        member = client.stage_member(speaker_handle)
        expect(member).to_have_attribute("data-muted", "false", timeout=AUDIO_TIMEOUT_MS)
        expect(member).to_have_attribute("data-mic", "live")
    expect(speaker.dock_button("Mute")).to_be_visible()
    heard = wait_for_energy(listener.page, above=True)
    assert not heard["paused"], heard

    # The listener reacts: the emoji shows on their avatar (as on Spaces) and floats up.
    listener.dock_button("React").click()
    listener.page.get_by_role("button", name="React with fire").click()
    on_avatar = host.page.get_by_test_id("listeners").locator(
        f'[data-user-handle="{listener_handle}"] .tile-reaction'
    )
    expect(on_avatar).to_have_text("🔥")
    fire = listener.page.get_by_test_id("reactions").locator('[data-emoji="🔥"]').first
    expect(fire).to_be_attached()
    # The listener's browser asks for reduced motion: the emoji fades instead of flying.
    assert fire.evaluate("el => getComputedStyle(el).animationName") == "fade-only"
    listener.dock_button("React").click()
    for client, who in ((host, "host"), (speaker, "speaker"), (listener, "listener")):
        _no_axe_violations(client, f"live, as the {who}")
        assert not client.has_horizontal_scroll(), who
        client.screenshot(f"room-live-{who}")

    # The host mutes the speaker from their card: muted everywhere, the listener hears silence.
    card = host.person(speaker_handle)
    _no_axe_violations(host, "a speaker's card")
    host.screenshot("room-person-card")
    # Nobody unmutes someone else: the card has Mute, never Unmute.
    expect(card.get_by_role("button", name="Unmute")).to_have_count(0)
    card.get_by_role("button", name=re.compile("^Mute")).click()
    for client in (host, speaker, listener):
        expect(client.stage_member(speaker_handle)).to_have_attribute("data-muted", "true")
    wait_for_energy(listener.page, above=False)
    expect(host.page.get_by_test_id("announcer")).to_contain_text("Sam Speaker was muted")
    expect(speaker.dock_button("Unmute")).to_be_visible()

    # Removing someone asks first.
    card = host.person(listener_handle)
    card.get_by_role("button", name="Remove Lisa Listener").click()
    card.get_by_role("button", name="Yes, remove Lisa Listener").click()
    expect(listener.page.get_by_test_id("space-state")).to_have_attribute("data-state", "removed")
    expect(audience.locator(f'[data-user-handle="{listener_handle}"]')).to_have_count(0)

    # The host ends the space: every page says so and shows no stale stage or listener count.
    host.page.get_by_role("button", name="End space").click()
    host.page.get_by_role("button", name="Yes, end space").click()
    for client in (host, speaker):
        expect(client.page.get_by_test_id("space-state")).to_have_text("This space has ended")
        expect(client.page.get_by_test_id("stage")).to_have_count(0)
        expect(client.page.get_by_test_id("listener-count")).to_have_count(0)
        expect(client.page.get_by_test_id("dock")).to_have_count(0)
    expect(speaker.page.get_by_test_id("announcer")).to_contain_text("Space ended")
    _no_axe_violations(speaker, "ended")
    speaker.screenshot("room-ended")


def test_leave_is_in_the_room(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client(width=360, height=740)
    host.sign_up_via_api(unique_handle("lhost"), "Leah Host")
    space = host.api("POST", "/api/spaces", {"title": "Short stay"})["space"]
    guest = new_client(width=360, height=740)
    guest.sign_up_via_api(unique_handle("lguest"), "Gus Guest")
    guest.page.goto(f"/s/{space['id']}")
    expect(guest.page.get_by_test_id("space-state")).to_have_text("Live")
    guest.dock_button("Leave").click()
    expect(guest.page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()
    expect(guest.page.get_by_test_id("mini-player")).to_have_count(0)
    expect(guest.page.get_by_test_id("announcer")).to_contain_text("Left Short stay")
