"""The room socket resumes with ?last_seq= after a gap in seq and after a dropped connection.

Playwright sits between the page and the server's WebSocket: it can drop one change (so the
next one arrives out of order) or close the connection, as a flaky network would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import WebSocketRoute, expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


def is_change(message: str | bytes) -> bool:
    """A seq'd delta (not the snapshot, not an ephemeral message)."""
    if not isinstance(message, str):
        return False
    event = json.loads(message)
    return event.get("seq") is not None and event.get("type") != "snapshot"


def test_room_resumes_after_a_gap_and_after_a_drop(
    new_client: Callable[..., Client], unique_handle: Callable[[str], str]
) -> None:
    host = new_client()
    host.sign_up_via_api(unique_handle("rhost"), "Rita Host")
    space = host.api("POST", "/api/spaces", {"title": "Resume me"})["space"]
    host.api("POST", f"/api/spaces/{space['id']}/join")

    listener = new_client()
    listener_handle = unique_handle("rlist")
    listener.sign_up_via_api(listener_handle, "Ray Listener")

    urls: list[str] = []
    routes: list[WebSocketRoute] = []
    from_page: list[str | bytes] = []
    drop_next_change = [False]

    def route(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        routes.append(ws)
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if drop_next_change[0] and is_change(message):
                drop_next_change[0] = False
                return
            ws.send(message)

        def from_client(message: str | bytes) -> None:
            from_page.append(message)
            server.send(message)

        server.on_message(from_server)
        ws.on_message(from_client)

    listener.page.route_web_socket(re.compile(r"/api/spaces/\d+/ws"), route)
    listener.page.goto(f"/s/{space['id']}")
    expect(listener.page.get_by_test_id("space-state")).to_have_text("Live")
    expect(listener.page.get_by_test_id("stage-member")).to_have_count(1)
    assert len(urls) == 1
    assert "last_seq" not in urls[0]

    # A heartbeat is answered with a pong.
    routes[-1].send(json.dumps({"type": "ping", "seq": None}))

    def pongs() -> int:
        return sum(1 for m in from_page if json.loads(m) == {"type": "pong"})

    for _ in range(50):
        if pongs():
            break
        listener.page.wait_for_timeout(100)
    assert pongs() >= 1, from_page

    # One change is lost on the way: the next one reveals the gap and the client resumes.
    drop_next_change[0] = True
    host.api("POST", f"/api/spaces/{space['id']}/pins", {"text": "First pin"})
    host.api("POST", f"/api/spaces/{space['id']}/pins", {"text": "Second pin"})
    pins = listener.page.get_by_test_id("pin")
    expect(pins).to_have_count(2)
    expect(pins.nth(0)).to_contain_text("First pin")
    expect(pins.nth(1)).to_contain_text("Second pin")
    assert len(urls) == 2, urls
    assert re.search(r"[?&]last_seq=\d+", urls[1]), urls

    # The connection drops: the client comes back on its own and catches up.
    routes[-1].close(code=1012, reason="server restart")
    host.api("POST", f"/api/spaces/{space['id']}/pins", {"text": "Third pin"})
    expect(pins).to_have_count(3)
    expect(pins.nth(2)).to_contain_text("Third pin")
    assert len(urls) == 3, urls
    assert re.search(r"[?&]last_seq=\d+", urls[2]), urls

    # Still fully working: a request to speak reaches the host.
    listener.dock_button("Request to speak").click()
    expect(listener.page.get_by_role("button", name="Withdraw request")).to_be_visible()
    host.page.goto(f"/s/{space['id']}")
    host.dock_button("Requests").click()
    expect(
        host.page.get_by_test_id("requests").locator(f'[data-user-handle="{listener_handle}"]')
    ).to_be_visible()
