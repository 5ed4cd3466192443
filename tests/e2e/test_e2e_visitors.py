"""Open doors: a space's link works for someone without an account. A visitor sees the space
(title, host, topics, state, stage, listener count), hears a public live space (over HLS,
measured at the page's audio), counts as a listener, and is asked to sign in (and brought
back) to react or ask to speak. A space that needs accounts, and a missing one, say so."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from browser_support import AUTOPLAY, fake_microphone, hls_heard

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000


@pytest.mark.parametrize("width", [1280, 360])
def test_a_visitor_listens_to_a_public_space_and_signs_in_to_take_part(
    new_client: Callable[..., Client],
    unique_handle: Callable[[str], str],
    speech_wav: Path,
    width: int,
) -> None:
    host = new_client(browser_args=[*fake_microphone(speech_wav), AUTOPLAY])
    host_handle = unique_handle("vhost")
    host.sign_up_via_api(host_handle, "Vera Host")
    space = host.api("POST", "/api/spaces", {"title": f"Open doors {width}", "topics": ["radio"]})[
        "space"
    ]
    room = f"/s/{space['id']}"
    host.page.goto(room)
    host.dock_button("Unmute").click()
    expect(host.stage_member(host_handle)).to_have_attribute(
        "data-muted", "false", timeout=TIMEOUT_MS
    )

    # Someone with no account opens the link: the space, its host, topics and stage.
    visitor = new_client(width=width, height=900 if width > 600 else 740, browser_args=[AUTOPLAY])
    page = visitor.page
    page.goto(room)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Open doors {width}")
    expect(page.get_by_test_id("space-state")).to_have_text("Live")
    expect(page.get_by_role("link", name="Vera Host")).to_be_visible()
    expect(page.get_by_role("list", name="Topics")).to_contain_text("radio")
    expect(visitor.stage_member(host_handle)).to_be_visible()
    expect(page.get_by_test_id("guest-card")).to_be_visible()
    # They hear the stage (HLS: a few seconds behind, encoded once for the whole crowd).
    heard = hls_heard(page)
    assert not heard["paused"], heard
    # They count as a listener, for the host as for themselves.
    expect(host.page.get_by_test_id("listener-count")).to_have_text("1 listener")
    expect(page.get_by_test_id("listener-count")).to_have_text("1 listener")
    assert visitor.axe_violations() == []
    assert not visitor.has_horizontal_scroll()
    visitor.screenshot("room-visitor")

    # To react they are asked to sign in, and come back to the same room.
    visitor.dock_button("React (sign in first)").click()
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    account = unique_handle("vguest")
    visitor.sign_up_via_api(account, "Guest Now")  # the account exists; sign in on the page
    visitor.context.clear_cookies()
    page.get_by_label("Handle").fill(account)
    page.get_by_label("Password").fill(visitor.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"{room}$"))
    expect(visitor.dock_button("Request to speak")).to_be_visible()
    expect(page.get_by_test_id("guest-card")).to_have_count(0)


def test_a_space_that_needs_accounts_and_a_missing_one(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("ahost")
    host.sign_up_via_api(host_handle, "Abe Host")
    space = host.api("POST", "/api/spaces", {"title": "Members only", "accounts_required": True})[
        "space"
    ]
    host.page.goto(f"/s/{space['id']}")
    expect(host.stage_member(host_handle)).to_be_visible()

    visitor = new_client(width=360, height=740)
    page = visitor.page
    page.goto(f"/s/{space['id']}")
    # The link still says what the space is, and why there is nothing to hear.
    expect(page.get_by_role("heading", level=1)).to_have_text("Members only")
    expect(page.get_by_test_id("space-state")).to_have_text("Live")
    expect(visitor.stage_member(host_handle)).to_be_visible()
    expect(page.get_by_text("the host asked that listeners have an account")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_have_attribute(
        "href", f"/signin?next=%2Fs%2F{space['id']}"
    )
    expect(page.get_by_test_id("hls-audio")).to_have_count(0)
    assert visitor.axe_violations() == []

    page.goto("/s/999999")
    expect(page.get_by_role("heading", level=1)).to_have_text("Space not found")
    assert visitor.axe_violations() == []
