"""The pages a shared link opens (/s/{id}, /s/{id}/replay): the web client's page with link
preview tags, read back with the parsers link-preview consumers use (extruct for Open Graph,
lxml for the rest), never with our own patterns; escaping; missing spaces; the preview image."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import extruct
import httpx
import lxml.html
import pytest
from PIL import Image

from support import Client, Running

pytestmark = pytest.mark.integration

# Quotes, markup, an ampersand, accents and an emoji: at most 70 characters.
TRICKY = 'Say "hi" <script>alert(1)</script> & ünïcødé 🎙️'


async def _page(server: Running, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        return await http.get(path)


def _tags(response: httpx.Response) -> dict[str, Any]:
    """What a link-preview consumer reads: og:* through extruct, the rest through lxml."""
    found = extruct.extract(response.text, base_url=str(response.url), syntaxes=["opengraph"])
    og: dict[str, str] = {}
    for block in found["opengraph"]:
        for key, value in block["properties"]:
            assert key not in og, f"{key} given twice"
            og[key] = value
    tree = lxml.html.fromstring(response.text)
    metas = tree.xpath("//head/meta[@name]")
    named = {m.get("name"): m.get("content") for m in metas}
    assert len(named) == len(metas), "a meta name given twice"
    canonical = tree.xpath("//head/link[@rel='canonical']/@href")
    return {
        "og": og,
        "named": named,
        "canonical": canonical,
        "title": tree.findtext(".//title"),
        "scripts": tree.xpath("//script"),
        "app": tree.xpath("//div[@id='app']"),
    }


async def test_a_live_space_link_previews_it(server: Running) -> None:
    host = await server.signup("host", "Ada “the host”")
    guest = await server.signup("guest", "Grace")
    space = await host.create_space(TRICKY, topics=["music", "late night"])
    sid = space["id"]
    await guest.join(sid)
    await guest.ok("POST", f"/api/spaces/{sid}/me/request")
    await host.ok("POST", f"/api/spaces/{sid}/members/{guest.id}/approve")
    response = await _page(server, f"/s/{sid}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    tags = _tags(response)
    og = tags["og"]
    assert og["og:title"] == TRICKY
    assert og["og:type"] == "website" and og["og:site_name"] == "Parley"
    assert og["og:url"] == f"{server.base_url}/s/{sid}"
    description = og["og:description"]
    assert description.startswith("Live now on Parley")
    assert "hosted by Ada “the host” (@host)" in description and "with Grace" in description
    assert "music, late night" in description
    assert og["og:image"] == f"{server.base_url}/og-image.png"
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "630")
    named = tags["named"]
    assert named["twitter:card"] == "summary_large_image"
    assert named["twitter:title"] == TRICKY and named["twitter:description"] == description
    assert named["twitter:image"] == og["og:image"] and named["description"] == description
    assert tags["canonical"] == [og["og:url"]]
    assert tags["title"] == f"{TRICKY} · Parley"
    # The title's markup stayed text: the page's only scripts are the app's own.
    assert all(script.get("src", "").startswith("/assets/") for script in tags["scripts"])
    assert "<script>alert" not in response.text
    # And the page is the app, which renders the room at this path.
    assert tags["app"] and tags["scripts"]


async def test_a_scheduled_space_says_when(server: Running) -> None:
    host = await server.signup("host")
    at = (datetime.now(UTC) + timedelta(days=2)).replace(hour=18, minute=30, second=0)
    sid = (await host.create_space("Tomorrow-ish", scheduled_for=at.isoformat()))["id"]
    og = _tags(await _page(server, f"/s/{sid}"))["og"]
    assert og["og:description"].startswith(f"Scheduled for {at:%a %d %b %Y}, 18:30 UTC on Parley")
    await host.ok("POST", f"/api/spaces/{sid}/cancel")
    og = _tags(await _page(server, f"/s/{sid}"))["og"]
    assert og["og:description"].startswith("Canceled on Parley")


async def _published_replay(host: Client, sid: int) -> None:
    await host.ok("POST", f"/api/spaces/{sid}/end")
    for _ in range(200):
        response = await host.get(f"/api/spaces/{sid}/recording")
        if response.status_code == 200 and response.json()["recording"]["state"] == "complete":
            break
        await asyncio.sleep(0.05)
    await host.ok("POST", f"/api/spaces/{sid}/replay")


async def test_an_ended_space_leads_to_its_replay(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Recorded"))["id"]
    unpublished = await _page(server, f"/s/{sid}/replay")
    assert unpublished.status_code == 404
    await asyncio.sleep(1.5)  # a segment or so
    await _published_replay(host, sid)
    for path in (f"/s/{sid}", f"/s/{sid}/replay"):
        tags = _tags(await _page(server, path))
        assert tags["og"]["og:url"] == f"{server.base_url}/s/{sid}/replay", path
        assert tags["canonical"] == [f"{server.base_url}/s/{sid}/replay"]
        assert tags["og"]["og:title"] == "Replay: Recorded"
        assert tags["og"]["og:description"].startswith("Replay on Parley")
    await host.ok("DELETE", f"/api/spaces/{sid}/replay")
    tags = _tags(await _page(server, f"/s/{sid}"))
    assert tags["og"]["og:url"] == f"{server.base_url}/s/{sid}"
    assert tags["og"]["og:description"].startswith("Ended on Parley")
    assert (await _page(server, f"/s/{sid}/replay")).status_code == 404


async def test_a_missing_space_is_a_404_page(server: Running) -> None:
    for path in ("/s/999999", "/s/0", "/s/abc", "/s/99999999999999999999", "/s/999999/replay"):
        response = await _page(server, path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        tags = _tags(response)
        assert tags["og"] == {} and "twitter:card" not in tags["named"], path
        assert tags["app"], path  # the app's page, which says what is missing


@pytest.mark.parley_settings(public_url="https://parley.example")
async def test_links_use_the_public_url(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Behind a proxy"))["id"]
    og = _tags(await _page(server, f"/s/{sid}"))["og"]
    assert og["og:url"] == f"https://parley.example/s/{sid}"
    assert og["og:image"] == "https://parley.example/og-image.png"


async def test_the_preview_image_is_a_card(server: Running) -> None:
    response = await _page(server, "/og-image.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        image.load()
        assert image.format == "PNG" and image.size == (1200, 630)
        colors = image.getcolors(maxcolors=100_000)
    assert colors is not None and len(colors) > 10  # a gradient and bars, not a blank
    assert len(response.content) < 200_000


async def test_the_pages_own_description_replaces_the_apps(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web client's index.html has a description of its own (and icons, a manifest): the
    page keeps one description and one title, its own, and the rest of the head."""
    from parley.api import pages

    source = Path(__file__).resolve().parents[2] / "web" / "index.html"
    monkeypatch.setattr(pages, "app_shell", source.read_text)
    host = await server.signup("host")
    sid = (await host.create_space("Described"))["id"]
    response = await _page(server, f"/s/{sid}")
    tags = _tags(response)  # fails on a meta name given twice
    assert tags["named"]["description"] == tags["og"]["og:description"]
    assert tags["title"] == "Described · Parley"
    tree = lxml.html.fromstring(response.text)
    assert len(tree.xpath("//title")) == 1 and tree.xpath("//head/meta[@charset]")
