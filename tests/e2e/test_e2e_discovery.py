"""Discovery in a real browser at 1280 and 360 px: a replay on home, the header's search box
(by keyboard) finding a person and their spaces, a space by topic, the empty and error states,
a profile's Live now / Upcoming / Replays sections and its followers list; axe on each state."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e

TIMEOUT_S = 30.0


def _get(client: Client, path: str) -> tuple[int, Any]:
    response = client.context.request.get(path)
    text = response.text()
    return response.status, (json.loads(text) if text else None)


def _recording_state(host: Client, space_id: int) -> str | None:
    status, body = _get(host, f"/api/spaces/{space_id}/recording")
    return str(body["recording"]["state"]) if status == 200 else None


def _wait_for_recording(host: Client, space_id: int, state: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while _recording_state(host, space_id) != state:
        if time.monotonic() > deadline:
            pytest.fail(f"space {space_id}'s recording never became {state}")
        time.sleep(0.2)


def _published_replay(host: Client, title: str, topics: list[str]) -> dict[str, Any]:
    """A space that went live, was recorded, ended and has its replay published."""
    space: dict[str, Any] = host.api("POST", "/api/spaces", {"title": title, "topics": topics})[
        "space"
    ]
    _wait_for_recording(host, space["id"], "recording")
    host.api("POST", f"/api/spaces/{space['id']}/end")
    _wait_for_recording(host, space["id"], "complete")
    host.api("POST", f"/api/spaces/{space['id']}/replay")
    return space


def _tab_to(page: Page, matches: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"() => {{ const el = document.activeElement; return !!el && ({matches}); }}"
        ):
            return
    pytest.fail(f"Tab never reached {matches!r}")


class Audit:
    def __init__(self, width: int) -> None:
        self.width = width
        self.problems: dict[str, Any] = {}

    def check(self, client: Client, name: str) -> None:
        for found in client.axe_violations():
            self.problems[f"{name} at {self.width}px: {found['id']}"] = found
        if self.width <= 360 and client.has_horizontal_scroll():
            self.problems[f"{name} at {self.width}px"] = "horizontal scroll"


def test_search_profiles_followers_and_replays(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("disco")
    host.sign_up_via_api(host_handle, "Renée Discovery")
    # A run-unique word, so other tests' spaces on the same server never match.
    topic = f"t{unique_handle('x')[1:]}"[:24]
    replay = _published_replay(host, f"Replayed {topic}", [topic])
    live = host.api("POST", "/api/spaces", {"title": "Live and loud", "topics": [topic]})["space"]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    upcoming = host.api(
        "POST", "/api/spaces", {"title": "Coming soon", "topics": [topic], "scheduled_for": soon}
    )["space"]
    fan = new_client()
    fan_handle = unique_handle("fan")
    fan.sign_up_via_api(fan_handle, "Fay Fan")
    fan.api("PUT", f"/api/users/{host_handle}/follow")

    for width in (1280, 360):
        audit = Audit(width)
        me = new_client(width=width)
        my_handle = unique_handle("seek")
        me.sign_up_via_api(my_handle, "Sam Seeker")
        page = me.page

        # Home lists the published replay.
        page.goto("/")
        expect(page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()
        replays = page.get_by_test_id("replays")
        expect(replays.get_by_role("link", name=replay["title"])).to_be_visible()
        audit.check(me, "home with replays")

        # The header's search box, by keyboard: a name typed without its accent.
        _tab_to(page, "el.id === 'header-search-q'")
        page.keyboard.type("renee disco")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
        assert "/search?q=renee%20disco" in page.url
        people = page.get_by_test_id("people-results-list")
        expect(people.get_by_role("link", name="Renée Discovery")).to_be_visible()
        expect(page.get_by_test_id("announcer")).to_contain_text("Found 1 person")
        spaces = page.get_by_test_id("space-results-list")
        cards = spaces.get_by_test_id("space-card")
        # Live, then upcoming, then the replay; the scheduled time says its zone.
        expect(cards).to_have_count(3)
        expect(cards.nth(0)).to_have_attribute("data-state", "live")
        expect(cards.nth(0).get_by_role("link", name=live["title"])).to_be_visible()
        expect(cards.nth(1)).to_have_attribute("data-state", "scheduled")
        when = cards.nth(1).locator("time")
        expect(when).to_have_attribute("datetime", upcoming["scheduled_for"])
        zone = r"\b(UTC|GMT([+-]\d+)?|[A-Z]{2,4}T)\b"
        assert re.search(zone, when.inner_text()), when.inner_text()
        expect(cards.nth(2).get_by_role("link", name=replay["title"])).to_have_attribute(
            "href", f"/spaces/{replay['id']}/replay"
        )
        audit.check(me, "search results")

        # The page's own box: a space by topic, in capitals.
        box = page.get_by_role("search", name="People and spaces").get_by_role("searchbox")
        box.fill(topic.upper())
        box.press("Enter")
        expect(spaces.get_by_test_id("space-card")).to_have_count(3)
        expect(page.get_by_test_id("people-results-empty")).to_contain_text("No people match")

        # Nothing found: said in plain words.
        box.fill(f"{topic} nothing like it")
        box.press("Enter")
        expect(page.get_by_test_id("people-results-empty")).to_be_visible()
        expect(page.get_by_test_id("space-results-empty")).to_contain_text(
            "No live, upcoming or replayable spaces match"
        )
        audit.check(me, "search with no results")

        # A query the server would refuse: the field says why, nothing is sent.
        box.fill("tab\there")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_test_id("search-problem")).to_contain_text("control characters")
        expect(box).to_have_attribute("aria-invalid", "true")
        expect(box).to_be_focused()
        audit.check(me, "search with an error")

        # The person's profile: live, upcoming, replays, and their followers.
        box.fill("@" + host_handle)
        box.press("Enter")
        people.get_by_role("link", name="Renée Discovery").click()
        expect(page.get_by_role("heading", level=1, name="Renée Discovery")).to_be_visible()
        expect(
            page.get_by_test_id("profile-live").get_by_role("link", name=live["title"])
        ).to_be_visible()
        expect(
            page.get_by_test_id("profile-upcoming").get_by_role("link", name=upcoming["title"])
        ).to_be_visible()
        expect(
            page.get_by_test_id("profile-replays").get_by_role("link", name=replay["title"])
        ).to_be_visible()
        expect(page.get_by_test_id("follower-count")).to_have_text("1")
        audit.check(me, "profile")

        page.get_by_role("link", name="1 follower").click()
        expect(
            page.get_by_role("heading", level=1, name="People following Renée Discovery")
        ).to_be_visible()
        followers = page.get_by_test_id("followers-list")
        expect(followers.get_by_role("link", name="Fay Fan")).to_be_visible()
        audit.check(me, "followers list")
        page.get_by_role("link", name="Following (0)").click()
        expect(page.get_by_text(f"@{host_handle} does not follow anybody yet.")).to_be_visible()

        # A replay opens from the profile.
        page.goto(f"/u/{host_handle}")
        page.get_by_test_id("profile-replays").get_by_role("link", name=replay["title"]).click()
        expect(page.get_by_role("heading", level=1, name=replay["title"])).to_be_visible()

        # My own profile: empty sections say so, and the edit form is there.
        page.goto(f"/u/{my_handle}")
        expect(page.get_by_role("heading", level=1, name="Sam Seeker")).to_be_visible()
        expect(page.get_by_text(f"@{my_handle} is not live now.")).to_be_visible()
        expect(page.get_by_text("No published replays.")).to_be_visible()
        expect(page.get_by_label("Bio")).to_be_visible()
        audit.check(me, "own profile")

        assert not audit.problems, audit.problems


def test_visitors_search_and_see_profiles(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host_handle = unique_handle("open")
    host.sign_up_via_api(host_handle, "Olga Open")
    host.api("POST", "/api/spaces", {"title": f"Open door {host_handle}"})
    for width in (1280, 360):
        audit = Audit(width)
        visitor = new_client(width=width)
        page = visitor.page
        # Home: the public lists, and how to take part.
        page.goto("/")
        expect(page.get_by_role("heading", level=1, name="Spaces")).to_be_visible()
        expect(
            page.get_by_test_id("spaces-live").get_by_role("link", name=f"Open door {host_handle}")
        ).to_be_visible()
        expect(page.get_by_role("heading", level=2, name="Replays")).to_be_visible()
        audit.check(visitor, "home as a visitor")
        page.goto(f"/search?q={host_handle}")
        people = page.get_by_test_id("people-results-list")
        expect(people.get_by_role("link", name="Olga Open")).to_be_visible()
        expect(
            page.get_by_test_id("space-results-list").get_by_role(
                "link", name=f"Open door {host_handle}"
            )
        ).to_be_visible()
        audit.check(visitor, "search as a visitor")
        people.get_by_role("link", name="Olga Open").click()
        expect(page.get_by_role("heading", level=1, name="Olga Open")).to_be_visible()
        expect(page.get_by_role("button", name="Follow", exact=True)).to_have_count(0)
        expect(page.get_by_text(f"Sign in to follow @{host_handle}")).to_be_visible()
        audit.check(visitor, "profile as a visitor")
        assert not audit.problems, audit.problems
