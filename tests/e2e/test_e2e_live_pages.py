"""Pages see spaces change as it happens, through the public feed (no polling): home lists a
space once it is scheduled and moves it when it goes live; a scheduled space's page opens the
room when its host starts it; a profile shows its person going live."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

# Far below any polling period a page might fall back on (the lists used to poll every 30 s).
PUSHED_WITHIN_MS = 4000


def test_home_a_scheduled_page_and_a_profile_follow_spaces_as_they_change(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    viewer = new_client(width=360, height=740)
    viewer.sign_up_via_api(unique_handle("fview"), "Fay Viewer")
    viewer.page.goto("/")
    expect(viewer.page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()

    host = new_client()
    host_handle = unique_handle("fhost")
    host.sign_up_via_api(host_handle, "Finn Host")
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    title = f"Pushed {host_handle}"
    space = host.api("POST", "/api/spaces", {"title": title, "scheduled_for": soon})["space"]
    upcoming = viewer.page.get_by_test_id("spaces-scheduled").get_by_role("link", name=title)
    expect(upcoming).to_be_visible(timeout=PUSHED_WITHIN_MS)

    # On the scheduled space's page: the host starts it, the page goes live by itself.
    upcoming.click()
    expect(viewer.page.get_by_test_id("space-state")).to_contain_text("Scheduled for")
    host.api("POST", f"/api/spaces/{space['id']}/start")
    expect(viewer.page.get_by_test_id("space-state")).to_have_text("Live", timeout=PUSHED_WITHIN_MS)
    expect(viewer.page.get_by_test_id("announcer")).to_contain_text("Space started")
    viewer.dock_button("Leave").click()

    # Home moved it to the live list; the host's profile shows it live, then not.
    live = viewer.page.get_by_test_id("spaces-live").get_by_role("link", name=title)
    expect(live).to_be_visible(timeout=PUSHED_WITHIN_MS)
    viewer.page.goto(f"/u/{host_handle}")
    expect(viewer.page.get_by_role("link", name=title)).to_be_visible()
    host.api("POST", f"/api/spaces/{space['id']}/end")
    expect(viewer.page.get_by_role("link", name=title)).to_have_count(0, timeout=PUSHED_WITHIN_MS)
    assert viewer.axe_violations() == []
