"""Host tools in the browser: invitations, co-hosts, pins, removal, scheduling."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


def test_invite_cohost_pin_and_remove(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("mhost")
    host.sign_up_via_api(host_handle, "Mia Host")
    space = host.api("POST", "/api/spaces", {"title": "Invite only", "speaker_policy": "invited"})[
        "space"
    ]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    expect(host.stage_member(host_handle)).to_be_visible()

    guest = new_client()
    guest_handle = unique_handle("mguest")
    guest.sign_up_via_api(guest_handle, "Gus Guest")
    guest.page.goto(room)
    expect(
        guest.page.get_by_role("button", name="Invite only: the host invites who speaks")
    ).to_be_disabled()
    expect(guest.page.get_by_role("button", name="Request to speak")).to_have_count(0)

    # The host finds the guest among the listeners (shown without asking) and invites them up.
    host.person(guest_handle).get_by_role("button", name="Invite to speak").click()
    expect(guest.page.get_by_text("You were invited to speak.")).to_be_visible()
    host.dock_button("Requests").click()
    expect(host.page.get_by_test_id("invitations")).to_contain_text("Gus Guest")
    host.page.get_by_test_id("requests-sheet").get_by_role("button", name="Close").click()
    guest.page.get_by_role("button", name="Accept", exact=True).click()
    for client in (host, guest):
        expect(client.stage_member(guest_handle)).to_be_visible()

    # Co-host: a badge in both pages, and the guest gets the moderator tools.
    host.person(guest_handle).get_by_role("button", name="Make co-host").click()
    for client in (host, guest):
        expect(client.stage_member(guest_handle).get_by_test_id("role-badge")).to_have_text(
            "Co-host"
        )
    expect(guest.dock_button("Requests")).to_be_visible()
    expect(guest.page.get_by_role("button", name="End space")).to_have_count(0)

    # The co-host pins a link; everyone sees it; the host unpins it.
    guest.page.get_by_role("button", name="Pin a post or link").click()
    guest.page.get_by_label("Text to pin").fill("Agenda for today")
    guest.page.get_by_label("Link (optional)").fill("https://example.org/agenda")
    guest.page.get_by_role("button", name="Pin", exact=True).click()
    for client in (host, guest):
        expect(client.page.get_by_test_id("pin")).to_have_count(1)
        expect(
            client.page.get_by_role("link", name=re.compile("Agenda for today"))
        ).to_have_attribute("href", "https://example.org/agenda")
    host.page.get_by_role("button", name=re.compile("^Unpin")).click()
    for client in (host, guest):
        expect(client.page.get_by_test_id("pin")).to_have_count(0)

    # A pin the server refuses shows the server's message next to the field.
    host.page.get_by_role("button", name="Pin a post or link").click()
    host.page.get_by_label("Text to pin").fill("Bad link")
    host.page.get_by_label("Link (optional)").fill("ftp://example.org/file")
    host.page.get_by_role("button", name="Pin", exact=True).click()
    expect(host.page.locator("#pin-url-error")).to_be_visible()
    expect(host.page.get_by_test_id("alert")).not_to_be_empty()

    host.person(guest_handle).get_by_role("button", name="Remove co-host").click()
    for client in (host, guest):
        expect(client.stage_member(guest_handle).get_by_test_id("role-badge")).to_have_count(0)

    # Removal: the guest is told, and cannot come back.
    card = host.person(guest_handle)
    card.get_by_role("button", name="Remove Gus Guest").click()
    card.get_by_role("button", name="Yes, remove Gus Guest").click()
    expect(guest.page.get_by_test_id("space-state")).to_have_text(
        "You were removed from this space"
    )
    expect(host.stage_member(guest_handle)).to_have_count(0)
    guest.page.reload()
    expect(guest.page.get_by_test_id("space-state")).to_have_text(
        "You were removed from this space"
    )
    expect(guest.page.get_by_role("button", name=re.compile("React with"))).to_have_count(0)


def test_schedule_then_start_a_space(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("shost")
    host.sign_up_via_ui(host_handle, "Sol Host")
    page = host.page
    page.goto("/new")
    title = page.get_by_label("Title")
    title.fill("x" * 80)  # maxlength keeps it to 70
    expect(title).to_have_value("x" * 70)
    expect(page.get_by_text("70/70 characters")).to_be_visible()
    title.fill("Tomorrow's chat")
    page.get_by_label("Topic 1").fill("plans")
    page.get_by_label("Topic 2").fill("news")
    page.get_by_label("People you follow").check()
    tomorrow = dt.datetime.now() + dt.timedelta(days=1)
    page.get_by_label("Schedule for later (optional)").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule space").click()
    expect(page).to_have_url(re.compile(r"/s/\d+$"))
    expect(page.get_by_test_id("space-state")).to_contain_text("Scheduled for")
    room_url = page.url

    page.get_by_role("link", name="Home").click()
    upcoming = page.get_by_test_id("spaces-scheduled")
    expect(upcoming.get_by_role("link", name="Tomorrow's chat")).to_be_visible()
    upcoming.get_by_role("link", name="Tomorrow's chat").click()
    expect(page).to_have_url(room_url)

    page.get_by_role("button", name="Start space").click()
    expect(page.get_by_test_id("space-state")).to_have_text("Live")
    expect(host.stage_member(host_handle)).to_be_visible()
    expect(page.get_by_role("list", name="Topics")).to_contain_text("plans")
