"""The main flow of a live space, seen from two browsers (host and listener) at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


def test_host_and_listener_share_a_live_space(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
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
    expect(host.stage_member(host_handle)).to_be_visible()
    expect(host.stage_member(host_handle).get_by_test_id("role-badge")).to_have_text("Host")

    # A listener (who prefers reduced motion) signs up in a second browser, opens the link
    # and asks to speak.
    listener = new_client(reduced_motion=True)
    listener_handle = unique_handle("lisa")
    listener.sign_up_via_ui(listener_handle, "Lisa Listener")
    listener.page.goto(space_url)
    expect(listener.page.get_by_test_id("space-state")).to_have_text("Live")
    expect(listener.stage_member(host_handle)).to_be_visible()
    expect(host.page.get_by_test_id("listener-count")).to_have_text("1 listener")

    # Sharing: the link is copied, or selected for copying by hand; either way it says so.
    listener.page.get_by_role("button", name="Copy link").click()
    expect(
        listener.page.get_by_role("status")
        .filter(has_text="Link copied")
        .or_(listener.page.get_by_role("status").filter(has_text="Copy the selected link"))
    ).to_be_visible()
    listener.page.get_by_role("button", name="Request to speak").click()
    expect(listener.page.get_by_role("button", name="Withdraw request")).to_be_visible()

    # The host sees the request and approves it.
    request = host.page.get_by_test_id("requests").locator(
        f'[data-user-handle="{listener_handle}"]'
    )
    expect(request).to_be_visible()
    request.get_by_role("button", name="Approve").click()
    for client in (host, listener):
        expect(client.stage_member(listener_handle)).to_be_visible()
        # Everyone joins the stage muted.
        expect(client.stage_member(listener_handle).get_by_test_id("muted-icon")).to_be_visible()
    expect(request).to_have_count(0)
    expect(host.page.get_by_test_id("announcer")).to_contain_text("Lisa Listener joined the stage")
    expect(listener.page.get_by_test_id("announcer")).to_contain_text("You joined the stage")

    # The listener reacts; the reaction floats up in both pages.
    listener.page.get_by_role("button", name="React with fire").click()
    animations = {}
    for client in (host, listener):
        fire = client.page.get_by_test_id("reactions").locator('[data-emoji="🔥"]').first
        expect(fire).to_be_attached()
        animations[client] = fire.evaluate("el => getComputedStyle(el).animationName")
    # The listener's browser asks for reduced motion: the emoji fades instead of flying.
    assert animations[host] == "float-up"
    assert animations[listener] == "fade-only"

    # The speaker unmutes; the host mutes them; both pages show the muted icon.
    listener.page.get_by_role("button", name="Unmute", exact=True).click()
    for client in (host, listener):
        expect(client.stage_member(listener_handle).get_by_test_id("muted-icon")).to_have_count(0)
    host.stage_member(listener_handle).get_by_role("button", name="Mute").click()
    for client in (host, listener):
        expect(client.stage_member(listener_handle).get_by_test_id("muted-icon")).to_be_visible()
        expect(client.stage_member(listener_handle)).to_have_attribute("data-muted", "true")
    expect(host.page.get_by_test_id("announcer")).to_contain_text("Lisa Listener was muted")
    # Nobody unmutes someone else: the host has no Unmute control for the speaker.
    expect(host.stage_member(listener_handle).get_by_role("button", name="Unmute")).to_have_count(0)
    expect(listener.page.get_by_role("button", name="Unmute", exact=True)).to_be_visible()

    # The host ends the space; both pages say so.
    host.page.get_by_role("button", name="End space").click()
    host.page.get_by_role("button", name="Yes, end space").click()
    for client in (host, listener):
        expect(client.page.get_by_test_id("space-state")).to_have_text("This space has ended")
        expect(client.page.get_by_role("button", name="Request to speak")).to_have_count(0)
        expect(client.page.get_by_role("button", name="React with fire")).to_have_count(0)
    expect(listener.page.get_by_test_id("announcer")).to_contain_text("Space ended")
