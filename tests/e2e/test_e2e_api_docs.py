"""The API docs (/api/docs) in the browser: Swagger UI runs from our own files under the page's
Content-Security-Policy (its start-up script allowed by its hash), and nothing is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import ConsoleMessage, Request, expect

if TYPE_CHECKING:
    from conftest import Client

pytestmark = pytest.mark.e2e


def test_the_api_docs_run_under_their_policy(
    new_client: Callable[..., Client], parley_server: str
) -> None:
    client = new_client()
    page = client.page
    refused: list[str] = []
    elsewhere: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def on_request(request: Request) -> None:
        if not request.url.startswith((parley_server, "data:", "blob:")):
            elsewhere.append(request.url)

    page.on("console", on_console)
    page.on("request", on_request)
    page.goto("/api/docs")
    # The spec is fetched and rendered: its title, and the operations, sign-up among them.
    expect(page.locator(".info .title")).to_contain_text("Parley")
    expect(page.locator('.opblock-summary-path[data-path="/api/auth/signup"]')).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert not refused, refused
    assert not elsewhere, f"requests to other origins: {elsewhere}"
