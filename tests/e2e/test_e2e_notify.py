"""Notifications in the browser (issue 13): a follower asks to be reminded of a scheduled space,
the host starts it, the follower's bell counts it at once over their own socket (no reload),
the bell's list leads into the room; the notification settings and the share sheet, looked at
1280 and 360 px wide."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

# Screenshots for a reviewer to look at (not kept in the repository).
SHOTS = Path(os.environ.get("PARLEY_SHOTS", "/tmp/shots"))
# A going-live fan-out runs as a background job: give it more than the default 10 s.
FANOUT_TIMEOUT_MS = 30_000


def shoot(client: Client, name: str) -> None:
    """The page at 1280 and at 360 px wide, under SHOTS; no sideways scrolling at 360."""
    page = client.page
    size = page.viewport_size or {"width": 1280, "height": 900}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900 if width > 360 else 780})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=width == 1280)
        if width == 360:
            assert not client.has_horizontal_scroll(), f"{name} scrolls sideways at 360 px"
    page.set_viewport_size(size)


def serious(violations: list[dict[str, object]]) -> list[dict[str, object]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_reminder_bell_settings_and_share(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("nhost")
    host.sign_up_via_api(host_handle, "Nora Host")
    when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    space = host.api("POST", "/api/spaces", {"title": "Night owl", "scheduled_for": when})["space"]
    room = f"/s/{space['id']}"

    # The host fixes the title before anyone asked for a reminder.
    host.page.goto(room)
    host.page.get_by_test_id("edit-space").click()
    form = host.page.get_by_test_id("edit-space-form")
    form.get_by_label("Title").fill("Night owls")
    form.get_by_label("Topics").fill("sleep, radio")
    form.get_by_role("button", name="Save changes").click()
    expect(host.page.get_by_role("heading", level=1, name="Night owls")).to_be_visible()
    expect(host.page.get_by_role("list", name="Topics")).to_contain_text("radio")

    # ...and names a co-host ahead.
    cohost_handle = unique_handle("ccoh")
    new_client().sign_up_via_api(cohost_handle, "Cal Cohost")
    cohosts = host.page.get_by_test_id("cohosts")
    cohosts.get_by_label("Name a co-host").fill(f"@{cohost_handle}")
    cohosts.get_by_role("button", name="Add").click()
    expect(cohosts.get_by_role("listitem")).to_have_text(
        re.compile(rf"^Cal Cohost \(@{cohost_handle}\)Remove")
    )

    fan = new_client()
    fan_handle = unique_handle("ffan")
    fan.sign_up_via_api(fan_handle, "Fay Follower")
    fan.api("PUT", f"/api/users/{host_handle}/follow")

    # The follower asks to be reminded, from the scheduled space's page.
    page = fan.page
    page.goto(room)
    expect(page.get_by_test_id("space-state")).to_have_attribute("data-state", "scheduled")
    toggle = page.get_by_test_id("reminder-toggle")
    expect(toggle).to_have_text(re.compile("Remind me"))
    toggle.click()
    expect(toggle).to_have_text(re.compile("Reminder set"))
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert fan.api("GET", f"/api/spaces/{space['id']}")["reminded"] is True
    expect(page.get_by_test_id("add-to-calendar")).to_have_attribute(
        "href", f"/api/spaces/{space['id']}/calendar.ics"
    )
    shoot(fan, "notify-scheduled-listener")

    # The host sees how many asked.
    host.page.reload()
    expect(host.page.get_by_test_id("reminder-count")).to_have_text("1 person asked for a reminder")
    shoot(host, "notify-scheduled-host")

    # The follower browses elsewhere; their bell's socket is open and nothing is unread.
    page.goto("/")
    bell = page.get_by_test_id("bell")
    expect(bell).to_have_attribute("data-connected", "true")
    expect(page.get_by_test_id("bell-badge")).to_have_count(0)

    # The host starts it: the follower's bell counts one (followed and reminded: told once).
    host.page.get_by_role("button", name="Start space").click()
    expect(host.page.get_by_test_id("space-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("bell-badge")).to_have_text("1", timeout=FANOUT_TIMEOUT_MS)
    expect(bell).to_have_accessible_name(re.compile("1 unread notification"))
    page.wait_for_timeout(1000)
    expect(page.get_by_test_id("bell-badge")).to_have_text("1")
    shoot(fan, "notify-bell-badge")

    # The bell's list: who, what, when; opening it marks it read.
    bell.click()
    expect(page.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
    item = page.get_by_test_id("notification")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Night owls")
    expect(item).to_contain_text("just now")
    expect(item.locator(".new-badge")).to_be_visible()
    expect(page.get_by_test_id("bell-badge")).to_have_count(0)
    assert fan.api("GET", "/api/notifications")["unread"] == 0
    assert not serious(fan.axe_violations())
    shoot(fan, "notify-bell-list")

    # Its link goes into the live room.
    item.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"{room}$"))
    expect(page.get_by_test_id("space-state")).to_have_attribute("data-state", "live")
    expect(fan.stage_member(host_handle)).to_be_visible()

    # The share sheet from the room's dock.
    fan.dock_button("Share").click()
    sheet = page.get_by_test_id("share-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("button", name="Copy link")).to_be_visible()
    repost = sheet.get_by_role("button", name="Share to my followers")
    expect(repost).to_be_visible()
    sheet.locator("summary", has_text="Embed").click()
    expect(sheet.get_by_label("Code to put this space on another site")).to_have_value(
        re.compile(rf'<iframe src="http://127\.0\.0\.1:\d+/embed/s/{space["id"]}" width="100%"')
    )
    assert not serious(fan.axe_violations())
    shoot(fan, "notify-share-sheet")
    repost.click()
    expect(sheet.get_by_role("button", name="Shared with your followers")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert fan.api("GET", f"/api/spaces/{space['id']}/repost")["reposted"] is True
    send_to = sheet.get_by_label("Send to…")
    send_to.fill(f"@{host_handle}")
    sheet.get_by_role("button", name="Send", exact=True).click()
    expect(sheet.get_by_role("status").filter(has_text="Sent to")).to_have_text(
        f"Sent to @{host_handle}."
    )
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_have_count(0)

    # Someone who follows the follower sees the space on their home, shared by them.
    reader = new_client()
    reader_handle = unique_handle("rread")
    reader.sign_up_via_api(reader_handle, "Rae Reader")
    reader.api("PUT", f"/api/users/{fan_handle}/follow")
    reader.page.goto("/")
    shared = reader.page.get_by_test_id("spaces-shared")
    expect(shared.get_by_test_id("shared-by")).to_have_text("Shared by Fay Follower")
    expect(shared.get_by_role("link", name="Night owls")).to_be_visible()
    shoot(reader, "notify-home-shared")

    # The host invites the follower to speak, by message, from the room's More sheet.
    host.dock_button("More").click()
    more = host.page.get_by_test_id("more-sheet")
    invite = more.get_by_test_id("invite-people")
    invite.get_by_label("Invite people").fill(f"@{fan_handle}")
    invite.get_by_label("Speak").check()
    invite.get_by_role("button", name="Send invitations").click()
    expect(invite.get_by_role("status")).to_have_text("Invited 1 person.")
    more.get_by_role("button", name="Close").click()

    # The follower's thread with the host: the shared space, then the invitation; accepting it
    # puts them on stage.
    page.goto(f"/messages/{host_handle}")
    card = page.get_by_test_id("invitation-card")
    expect(card).to_contain_text("Invites you to speak in")
    expect(card).to_contain_text("Night owls")
    expect(page.get_by_test_id("message-space")).to_contain_text("Night owls")
    assert not serious(fan.axe_violations())
    # Opening the thread read its message and invitation; what is left is Rae's follow.
    expect(page.get_by_test_id("bell-badge")).to_have_text("1")
    shoot(fan, "notify-thread")
    card.get_by_role("button", name="Accept to speak").click()
    expect(page).to_have_url(re.compile(rf"{room}$"))
    expect(fan.stage_member(fan_handle)).to_be_visible()

    # The settings: a kinds x channels table, quiet hours in the browser's zone, who may message.
    page.goto("/settings/notifications")
    expect(page.get_by_role("heading", level=1, name="Notification settings")).to_be_visible()
    table = page.get_by_test_id("channel-table")
    expect(table.locator("tbody tr")).to_have_count(7)
    # No email from this server: the email column is off and says why.
    expect(page.get_by_test_id("email-column-hint")).to_be_visible()
    expect(page.get_by_label("Going live: Email")).to_be_disabled()
    expect(page.get_by_test_id("push-panel")).to_be_visible()
    # Push on this device: permission, then the browser's push service. Headless Chromium has
    # none, so it either turns on or says why, in words, without breaking the page.
    fan.context.grant_permissions(["notifications"])
    page.get_by_test_id("push-enable").click()
    panel = page.get_by_test_id("push-panel")
    outcome = '[data-testid="push-panel"][data-push-state="on"], [data-testid="push-problem"]'
    expect(page.locator(outcome)).to_be_visible(timeout=20_000)
    if panel.get_attribute("data-push-state") == "on":
        assert fan.api("GET", "/api/notifications/settings")["settings"]["push_subscriptions"] == 1
    else:
        expect(panel.get_by_test_id("push-problem")).to_have_text(
            re.compile("^This browser could not set up push: ")
        )
        # ...and what it means: the bell still works.
        expect(panel).to_contain_text("the bell in Parley still shows everything")
    assert not serious(fan.axe_violations())
    shoot(fan, "notify-settings")
    page.get_by_label("New followers: Push").check()
    page.get_by_label("From").fill("22:00")
    page.get_by_label("Until").fill("07:30")
    page.get_by_label("People you follow").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    settings = fan.api("GET", "/api/notifications/settings")["settings"]
    assert "push" in settings["channels"]["follower"]
    assert (settings["quiet_start"], settings["quiet_end"]) == ("22:00", "07:30")
    assert settings["dm_policy"] == "following"
    zone = page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert settings["time_zone"] == zone

    # A host's profile: their spaces as a calendar feed (webcal, in the browser's zone), and
    # a way to message them.
    page.goto(f"/u/{host_handle}")
    subscribe = page.get_by_test_id("subscribe-calendar")
    expect(subscribe).to_have_attribute(
        "href",
        re.compile(
            rf"^webcal://127\.0\.0\.1:\d+/api/users/{host_handle}/calendar\.ics\?tz="
            + re.escape(zone.replace("/", "%2F"))
            + "$"
        ),
    )
    expect(page.get_by_test_id("message-link")).to_have_attribute(
        "href", f"/messages/{host_handle}"
    )
    shoot(fan, "notify-profile")

    # The host's messages: the conversation with the follower, newest first.
    host.page.goto("/messages")
    conversation = host.page.get_by_test_id("conversation")
    expect(conversation).to_have_attribute("data-user-handle", fan_handle)
    expect(conversation).to_contain_text("Fay Follower")
    assert not serious(host.axe_violations())
    shoot(host, "notify-messages")
