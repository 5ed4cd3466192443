"""Keyboard only: sign in, ask to speak, and (as host) approve, with Tab and Enter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from browser_support import AUTOPLAY, fake_microphone

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

MAX_TABS = 60


def tab_to(page: Page, matches: str) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches(el)`."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"() => {{ const el = document.activeElement; return !!el && ({matches}); }}"
        ):
            return
    focused = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 200)")
    pytest.fail(f"Tab never reached {matches!r}; focus is on {focused}")


def focus_is_visible(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return el.matches(':focus-visible') && style.outlineStyle !== 'none'
                    && parseFloat(style.outlineWidth) >= 2;
            }"""
        )
    )


def button_named(text: str) -> str:
    return f"el.tagName === 'BUTTON' && el.textContent.trim().startsWith({text!r})"


def test_sign_in_and_request_to_speak_with_the_keyboard(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str], speech_wav: Path
) -> None:
    host = new_client()
    host_handle = unique_handle("khost")
    host.sign_up_via_api(host_handle, "Kim Host")
    space = host.api("POST", "/api/spaces", {"title": "Keyboard only"})["space"]
    host.page.goto(f"/s/{space['id']}")
    expect(host.stage_member(host_handle)).to_be_visible()

    # The account exists; signing in happens in a fresh browser with the keyboard alone.
    speaker_handle = unique_handle("kkey")
    new_client().sign_up_via_api(speaker_handle, "Kai Keys")
    keys = new_client(browser_args=[*fake_microphone(speech_wav), AUTOPLAY])
    page = keys.page
    page.goto("/signin")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()

    tab_to(page, "el.id === 'signin-handle'")
    assert focus_is_visible(page)
    page.keyboard.type(speaker_handle)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "signin-password"
    page.keyboard.type(keys.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()

    # Follow the space's card from the home page with the keyboard, once the list has loaded
    # (Tab pressed before it goes round the header only: more of it since issue 13's bell).
    expect(page.get_by_role("link", name="Keyboard only")).to_be_visible()
    tab_to(page, f"el.tagName === 'A' && el.getAttribute('href') === '/s/{space['id']}'")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("space-state")).to_have_text("Live")
    expect(keys.stage_member(host_handle)).to_be_visible()

    tab_to(page, "el.getAttribute('aria-label') === 'Request to speak'")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Withdraw request")).to_be_focused()

    # The host approves with the keyboard too: the requests, one Tab stop away in the dock,
    # open in a sheet that keeps focus inside it.
    tab_to(host.page, "el.dataset.testid === 'requests-toggle'")
    assert focus_is_visible(host.page)
    host.page.keyboard.press("Enter")
    request = host.page.get_by_test_id("requests").locator(f'[data-user-handle="{speaker_handle}"]')
    expect(request).to_be_visible()
    tab_to(host.page, button_named("Approve"))
    assert focus_is_visible(host.page)
    host.page.keyboard.press("Enter")
    for client in (host, keys):
        expect(client.stage_member(speaker_handle)).to_be_visible()
    expect(request).to_have_count(0)
    # Focus stays in the sheet (not lost to the page), and Escape closes it.
    assert host.page.evaluate("() => !!document.activeElement.closest('dialog')")
    host.page.keyboard.press("Escape")
    expect(host.page.get_by_test_id("requests-sheet")).to_have_count(0)

    # On stage: unmute with the keyboard (one key press turns the microphone on too).
    tab_to(page, button_named("Unmute"))
    page.keyboard.press("Enter")
    expect(keys.stage_member(speaker_handle)).to_have_attribute(
        "data-muted", "false", timeout=20_000
    )
