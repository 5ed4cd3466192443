"""Accounts and profiles in the browser: field errors, sign in and out, follow, block, edit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


def test_sign_up_errors_sign_out_and_back_in(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    taken = unique_handle("taken")
    new_client().sign_up_via_api(taken, "First Owner")

    visitor = new_client()
    page = visitor.page
    page.goto("/signup")
    page.get_by_label("Handle").fill(taken.upper())  # unique without regard to case
    page.get_by_label("Display name").fill("Second Try")
    page.get_by_label("Password").fill(visitor.password)
    page.get_by_role("button", name="Sign up").click()
    # The server's message sits next to the field it names, and focus goes there.
    expect(page.locator("#signup-handle-error")).to_be_visible()
    expect(page.get_by_label("Handle")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Handle")).to_be_focused()
    expect(page.get_by_test_id("alert")).not_to_be_empty()

    handle = unique_handle("fresh")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#signup-password-error")).to_be_visible()
    expect(page.locator("#signup-handle-error")).to_have_count(0)

    page.get_by_label("Password").fill(visitor.password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()
    expect(page.get_by_role("heading", name="Live now")).to_be_visible()
    expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("link", name="Start a space")).to_have_count(0)
    expect(page.get_by_text("Sign in to see live and upcoming spaces")).to_be_visible()

    # A space link while signed out: sign in, then land back on it.
    page.goto("/new")
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("alert")).not_to_be_empty()
    page.get_by_label("Password").fill(visitor.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Start a space")).to_be_visible()
    expect(page.get_by_label("Title")).to_be_visible()


def test_profile_follow_block_and_edit(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    other_handle = unique_handle("otto")
    new_client().sign_up_via_api(other_handle, "Otto Other")
    me = new_client()
    my_handle = unique_handle("myself")
    me.sign_up_via_api(my_handle, "Maya Me")
    page = me.page

    page.goto(f"/u/{other_handle}")
    expect(page.get_by_role("heading", level=1, name="Otto Other")).to_be_visible()
    expect(page.get_by_test_id("follower-count")).to_have_text("0")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_test_id("follower-count")).to_have_text("1")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    page.get_by_role("button", name="Unfollow").click()
    expect(page.get_by_test_id("follower-count")).to_have_text("0")
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_role("button", name="Unblock")).to_be_visible()
    page.get_by_role("button", name="Unblock").click()
    expect(page.get_by_role("button", name="Block", exact=True)).to_be_visible()

    # My own profile: no follow button, an edit form instead.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", level=1, name="Maya Me")).to_be_visible()
    expect(page.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
    page.get_by_label("Display name").fill("Maya M.")
    page.get_by_label("Bio").fill("Talks about audio.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("heading", level=1, name="Maya M.")).to_be_visible()
    expect(page.get_by_text("Talks about audio.", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Maya M.")).to_be_visible()

    page.goto("/u/nobody_at_all")
    expect(page.get_by_role("heading", level=1, name="No such user")).to_be_visible()
