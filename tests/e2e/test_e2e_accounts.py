"""Accounts and profiles in the browser: field errors, sign in and out, follow, block, edit."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from picture_support import GREEN, near, picture

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
    # Visitors see the lists (public), and how to take part.
    expect(page.get_by_role("heading", name="Live now")).to_be_visible()
    expect(
        page.get_by_text("Sign in to start a space, follow people and take the stage")
    ).to_be_visible()

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


# The colour in the middle of a loaded <img>, read back through a canvas (same origin).
PICTURE_CENTRE_JS = """img => {
    if (!img.complete || img.naturalWidth === 0) return null;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const [r, g, b] = ctx.getImageData(img.naturalWidth / 2, img.naturalHeight / 2, 1, 1).data;
    return { width: img.naturalWidth, height: img.naturalHeight, rgb: [r, g, b] };
}"""


def test_change_and_remove_profile_picture(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    me = new_client()
    handle = unique_handle("pia")
    me.sign_up_via_api(handle, "Pia Picture")
    page = me.page
    page.goto(f"/u/{handle}")
    expect(page.get_by_role("heading", level=1, name="Pia Picture")).to_be_visible()
    head = page.locator(".profile-head")
    expect(head.get_by_test_id("avatar-picture")).to_have_count(0)  # initials until then
    expect(page.get_by_role("button", name="Remove picture")).to_have_count(0)
    chooser = page.get_by_label("Change picture")
    expect(chooser).to_have_attribute("accept", "image/png,image/jpeg,image/webp,image/gif")

    # Not a picture: said once, next to the control, and nothing is sent.
    chooser.set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}]
    )
    error = page.locator("#picture-error")
    expect(error).to_have_text(re.compile("not a picture"))
    expect(page.get_by_role("alert").filter(has_text="not a picture")).to_have_count(1)
    expect(chooser).to_have_attribute("aria-invalid", "true")

    # A picture: uploaded at once, confirmed, and shown in place of the initials.
    png = picture("PNG", (600, 300), GREEN)
    chooser.set_input_files(files=[{"name": "me.png", "mimeType": "image/png", "buffer": png}])
    expect(page.get_by_test_id("picture-status")).to_have_text("Picture updated.")
    expect(error).to_have_count(0)
    shown = head.get_by_test_id("avatar-picture")
    expect(shown).to_have_attribute("src", f"/api/users/{handle}/avatar?v=1")
    expect(shown).to_have_attribute("alt", "")
    expect(shown).to_have_attribute("loading", "lazy")
    expect(shown).to_have_attribute("width", "72")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
    )
    drawn = shown.evaluate(PICTURE_CENTRE_JS)
    assert (drawn["width"], drawn["height"]) == (256, 256)
    assert near(tuple(drawn["rgb"]), GREEN), drawn
    assert me.axe_violations() == []

    # Anyone else sees it too.
    visitor = new_client()
    visitor.page.goto(f"/u/{handle}")
    seen = visitor.page.locator(".profile-head").get_by_test_id("avatar-picture")
    expect(seen).to_have_attribute("src", f"/api/users/{handle}/avatar?v=1")
    visitor.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=seen.element_handle()
    )

    page.get_by_role("button", name="Remove picture").click()
    expect(page.get_by_test_id("picture-status")).to_have_text("Picture removed.")
    expect(head.get_by_test_id("avatar-picture")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove picture")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Pia Picture")).to_be_visible()
    expect(head.get_by_test_id("avatar-picture")).to_have_count(0)
