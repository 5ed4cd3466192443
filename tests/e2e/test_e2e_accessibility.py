"""axe-core finds nothing on any page, at desktop width and at 360 px (without sideways scroll)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


class Audit:
    """Runs axe (and the 360 px overflow check) on page after page, then reports all at once."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.problems: dict[str, Any] = {}

    def check(self, client: Client, name: str) -> None:
        violations = client.axe_violations()
        if violations:
            self.problems[f"{name}: axe"] = violations
        if self.width <= 360 and client.has_horizontal_scroll():
            widths = client.page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            self.problems[f"{name}: horizontal scroll"] = widths

    def assert_clean(self) -> None:
        assert not self.problems, self.problems


def ready(page: Page, heading: str | None = None) -> None:
    if heading is None:
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    else:
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()


@pytest.mark.parametrize("width", [1280, 360])
def test_every_page_passes_axe(
    width: int, new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    audit = Audit(width)

    # Signed out: sign up, sign in (also with an error shown), home.
    visitor = new_client(width=width)
    visitor.page.goto("/signup")
    ready(visitor.page, "Create your account")
    audit.check(visitor, "signup")
    visitor.page.goto("/signin")
    ready(visitor.page, "Sign in")
    audit.check(visitor, "signin")
    visitor.page.get_by_label("Handle").fill("nobody_here")
    visitor.page.get_by_label("Password").fill("wrong password")
    visitor.page.get_by_role("button", name="Sign in").click()
    expect(visitor.page.get_by_test_id("alert")).not_to_be_empty()
    audit.check(visitor, "signin with error")
    visitor.page.goto("/")
    ready(visitor.page, "Spaces")
    audit.check(visitor, "home signed out")

    # A host with a live space (a speaker on stage, a pending request, a pin), a
    # scheduled space and an ended one.
    host = new_client(width=width)
    host_handle = unique_handle("ahost")
    host.sign_up_via_api(host_handle, "Ada Host")
    # The ended one first: a host has one live space at a time.
    ended = host.api("POST", "/api/spaces", {"title": "Already over"})["space"]
    host.api("POST", f"/api/spaces/{ended['id']}/end")
    live = host.api(
        "POST",
        "/api/spaces",
        {
            "title": f"Accessibility check at {width} px, a title long enough to wrap",
            "topics": ["a11y", "testing"],
        },
    )["space"]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    scheduled = host.api(
        "POST", "/api/spaces", {"title": f"Later on ({width})", "scheduled_for": soon}
    )["space"]
    host.api("POST", f"/api/spaces/{live['id']}/join")
    host.api(
        "POST",
        f"/api/spaces/{live['id']}/pins",
        {"text": "Read the docs", "url": "https://example.org/docs"},
    )

    speaker = new_client(width=width)
    speaker_handle = unique_handle("aspeak")
    speaker_user = speaker.sign_up_via_api(speaker_handle, "Sam Speaker")
    speaker.api("POST", f"/api/spaces/{live['id']}/join")
    speaker.api("POST", f"/api/spaces/{live['id']}/me/request")
    host.api("POST", f"/api/spaces/{live['id']}/members/{speaker_user['id']}/approve")

    listener = new_client(width=width)
    listener_handle = unique_handle("alisten")
    listener.sign_up_via_api(listener_handle, "Lee Listener")
    listener.api("POST", f"/api/spaces/{live['id']}/join")
    listener.api("POST", f"/api/spaces/{live['id']}/me/request")

    page = host.page
    page.goto("/")
    ready(page, "Spaces")
    expect(
        page.get_by_test_id("spaces-live").get_by_role("link", name=live["title"])
    ).to_be_visible()
    expect(
        page.get_by_test_id("spaces-scheduled").get_by_role("link", name=f"Later on ({width})")
    ).to_be_visible()
    audit.check(host, "home")

    page.goto(f"/u/{host_handle}")
    ready(page, "Ada Host")
    expect(page.get_by_label("Bio")).to_be_visible()
    audit.check(host, "own profile")

    page.goto(f"/u/{speaker_handle}")
    ready(page, "Sam Speaker")
    expect(page.get_by_role("button", name="Follow")).to_be_visible()
    audit.check(host, "other profile")

    page.goto("/new")
    ready(page, "Start a space")
    audit.check(host, "new space")
    page.get_by_role("button", name="Start now").click()  # empty title: the server refuses
    expect(page.locator("#space-title-error")).to_be_visible()
    audit.check(host, "new space with error")

    # The listeners panel lists connected listeners: have the listener in the room first.
    listener.page.goto(f"/s/{live['id']}")
    ready(listener.page, live["title"])
    expect(listener.page.get_by_role("button", name="Withdraw request")).to_be_visible()
    audit.check(listener, "room as listener")

    page.goto(f"/s/{live['id']}")
    ready(page, live["title"])
    expect(host.stage_member(speaker_handle)).to_be_visible()
    expect(page.get_by_test_id("requests-badge")).to_contain_text("1")
    expect(page.get_by_test_id("pin")).to_have_count(1)
    # The audience shows without asking.
    expect(
        page.get_by_test_id("listeners").locator(f'[data-user-handle="{listener_handle}"]')
    ).to_be_visible()
    audit.check(host, "room as host")
    host.dock_button("Requests").click()
    expect(
        page.get_by_test_id("requests").locator(f'[data-user-handle="{listener_handle}"]')
    ).to_be_visible()
    audit.check(host, "requests sheet")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("requests-sheet")).to_have_count(0)
    host.person(speaker_handle)
    audit.check(host, "a speaker's card")
    page.keyboard.press("Escape")
    host.dock_button("More").click()
    expect(page.get_by_label("Playback")).to_be_visible()
    audit.check(host, "more sheet")
    page.keyboard.press("Escape")
    host.dock_button("React").click()
    expect(page.get_by_role("button", name="React with fire")).to_be_visible()
    audit.check(host, "reaction tray")
    host.dock_button("React").click()
    page.get_by_role("button", name="End space").click()
    expect(page.get_by_role("button", name="Yes, end space")).to_be_focused()
    audit.check(host, "room as host, ending")
    page.get_by_role("button", name="Keep it going").click()

    page.goto(f"/s/{scheduled['id']}")
    ready(page, f"Later on ({width})")
    expect(page.get_by_role("button", name="Start space")).to_be_visible()
    audit.check(host, "scheduled room as host")

    page.goto(f"/s/{ended['id']}")
    expect(page.get_by_test_id("space-state")).to_have_text("This space has ended")
    audit.check(host, "ended room")

    speaker.page.goto(f"/s/{live['id']}")
    ready(speaker.page, live["title"])
    expect(speaker.dock_button("Unmute")).to_be_visible()
    audit.check(speaker, "room as speaker")
    speaker.dock_button("More").click()
    expect(speaker.page.get_by_role("button", name="Leave stage")).to_be_visible()
    audit.check(speaker, "more sheet as speaker")

    audit.assert_clean()
