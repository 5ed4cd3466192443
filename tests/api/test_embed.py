"""The embeddable player and oEmbed (issue 13): a space's page names its oEmbed answer, read back
as consumers read it (the page's head parsed with lxml, and micawber, an oEmbed consumer we did
not write); the player page is framable by any site while every other page keeps refusing it,
needs no cookie, escapes what it shows and shows no more than the space's public link."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import lxml.html
import micawber
import pytest
from PIL import Image

from support import Client, Running

pytestmark = pytest.mark.integration

# Quotes, markup, an ampersand, accents and an emoji: at most 70 characters.
TRICKY = 'Say "hi" <script>alert(1)</script> & ünïcødé 🎙️'


async def _get(server: Running, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        return await http.get(path, params=params or None)


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = sources
    return directives


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _oembed_link(page: httpx.Response) -> str:
    """The oEmbed discovery link (oEmbed s4) of a page, as a consumer finds it in its head."""
    tree = lxml.html.fromstring(page.text)
    links = tree.xpath("//head/link[@rel='alternate'][@type='application/json+oembed']/@href")
    assert len(links) == 1, links
    href: str = links[0]
    return href


def _iframe(answer: dict[str, Any]) -> Any:
    frames = lxml.html.fragment_fromstring(answer["html"], create_parent="div").xpath("//iframe")
    assert len(frames) == 1
    return frames[0]


async def _until_complete(host: Client, sid: int) -> None:
    for _ in range(200):
        response = await host.get(f"/api/spaces/{sid}/recording")
        if response.status_code == 200 and response.json()["recording"]["state"] == "complete":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the recording did not complete")


# --- oEmbed ------------------------------------------------------------------------------------
async def test_a_space_page_names_its_oembed_answer_a_player(server: Running) -> None:
    host = await server.signup("host", "Ada “the host”")
    space = await host.create_space(TRICKY)
    sid = space["id"]
    page = await _get(server, f"/s/{sid}")
    link = _oembed_link(page)
    assert link.startswith(f"{server.base_url}/api/oembed?")
    query = parse_qs(urlsplit(link).query)
    assert query == {"url": [f"{server.base_url}/s/{sid}"], "format": ["json"]}
    async with httpx.AsyncClient(timeout=10) as consumer:
        response = await consumer.get(link)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    answer = response.json()
    assert answer["type"] == "rich" and answer["version"] == "1.0"
    assert answer["title"] == TRICKY
    assert answer["author_name"] == "Ada “the host”"
    assert answer["author_url"] == f"{server.base_url}/u/host"
    assert answer["provider_name"] == "Parley"
    assert answer["provider_url"] == f"{server.base_url}/"
    assert (answer["width"], answer["height"]) == (480, 220)
    assert answer["cache_age"] > 0
    # No profile picture: no thumbnail (and never a null one).
    assert "thumbnail_url" not in answer
    frame = _iframe(answer)
    assert frame.get("src") == f"{server.base_url}/embed/s/{sid}"
    assert (frame.get("width"), frame.get("height")) == ("480", "220")
    assert frame.get("frameborder") == "0" and frame.get("allow") == "autoplay"
    # The title is an attribute's value, escaped: no markup of it survives in the html.
    assert frame.get("title") == TRICKY and "<script>" not in answer["html"]


async def test_the_player_fits_the_consumers_size_and_a_picture_is_the_thumbnail(
    server: Running,
) -> None:
    host = await server.signup("host", "Hanna")
    sid = (await host.create_space("Sized"))["id"]
    picture = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 30, 30)).save(picture, "PNG")
    uploaded = await host.request(
        "PUT", "/api/me/avatar", content=picture.getvalue(), headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code == 200, uploaded.text
    url = f"{server.base_url}/s/{sid}"
    answer = (await _get(server, "/api/oembed", url=url, maxwidth=300, maxheight=100)).json()
    assert (answer["width"], answer["height"]) == (300, 100)
    frame = _iframe(answer)
    assert (frame.get("width"), frame.get("height")) == ("300", "100")
    assert answer["thumbnail_url"].startswith(f"{server.base_url}/")
    assert (answer["thumbnail_width"], answer["thumbnail_height"]) == (256, 256)
    thumbnail = await _get(server, urlsplit(answer["thumbnail_url"]).path)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"].startswith("image/")
    # Larger limits than the player: its own size.
    answer = (await _get(server, "/api/oembed", url=url, maxwidth=2000, maxheight=900)).json()
    assert (answer["width"], answer["height"]) == (480, 220)


async def test_an_oembed_consumer_library_embeds_our_player(server: Running) -> None:
    """micawber, as a blog engine uses it: our endpoint registered for our links."""
    host = await server.signup("host", "Hanna")
    sid = (await host.create_space(TRICKY))["id"]
    base = server.base_url
    providers = micawber.ProviderRegistry()
    providers.register(re.escape(base) + r"/(s|clips)/\S+", micawber.Provider(f"{base}/api/oembed"))
    url = f"{base}/s/{sid}"
    answer = await asyncio.to_thread(providers.request, url, maxwidth=400)
    assert answer["type"] == "rich" and answer["title"] == TRICKY
    # micawber asks for maxheight = maxwidth * 16 / 9 when not given: 400 x 711 allows 400 x 220.
    assert (answer["width"], answer["height"]) == (400, 220)
    post = f"Listen with us:\n{url}\nSee you there."
    rendered = await asyncio.to_thread(providers.parse_text, post)
    tree = lxml.html.fragment_fromstring(rendered, create_parent="div")
    assert tree.xpath("//iframe/@src") == [f"{base}/embed/s/{sid}"]
    # A link that is not a space of ours is left as a link.
    other = await asyncio.to_thread(providers.parse_text, f"{base}/s/999999")
    assert "<iframe" not in other and f'href="{base}/s/999999"' in other


async def test_oembed_refuses_what_it_does_not_answer(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Here"))["id"]
    base = server.base_url
    xml = await _get(server, "/api/oembed", url=f"{base}/s/{sid}", format="xml")
    assert xml.status_code == 501 and xml.json()["error"] == "not_implemented"
    for url in (
        "https://elsewhere.example/s/1",
        f"{base}/s/999999",
        f"{base}/s/{sid}/replay",  # no replay published
        f"{base}/clips/nosuchclip",
        f"{base}/u/host",
    ):
        response = await _get(server, "/api/oembed", url=url)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["error"] == "not_found"
    for url in ("not a url", "/s/1", "javascript:alert(1)", f"{base}/s/{sid}\x00", "x" * 3000):
        response = await _get(server, "/api/oembed", url=url)
        assert response.status_code == 400, (url, response.text)
        assert response.json()["field"] == "url"
    # Bytes that are not UTF-8: no 500.
    raw = await _get(server, f"/api/oembed?url={base}/s/%ED%A0%80")
    assert raw.status_code in (400, 404), raw.text
    missing = await _get(server, "/api/oembed")
    assert missing.status_code == 422 and missing.json()["field"] == "url"
    for name in ("maxwidth", "maxheight"):
        for value in ("0", "-5", "x", "100000"):
            response = await _get(server, "/api/oembed", url=f"{base}/s/{sid}", **{name: value})
            assert response.status_code == 422 and response.json()["field"] == name


async def test_oembed_of_a_replay_and_a_clip(server: Running) -> None:
    host = await server.signup("host", "Hanna")
    sid = (await host.create_space("Recorded"))["id"]
    base = server.base_url
    deadline = time.monotonic() + 15
    while True:
        made = await host.post(f"/api/spaces/{sid}/clips", json={"duration_s": 1})
        if made.status_code == 201 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert made.status_code == 201, made.text
    clip = made.json()["clip"]
    answer = (await _get(server, "/api/oembed", url=base + clip["page_url"])).json()
    assert answer["title"] == "Clip from “Recorded”" and answer["author_name"] == "Hanna"
    assert _iframe(answer).get("src") == f"{base}/embed/clips/{clip['id']}"
    clip_page = await _get(server, clip["page_url"])
    assert parse_qs(urlsplit(_oembed_link(clip_page)).query)["url"] == [base + clip["page_url"]]
    embedded = await _get(server, f"/embed/clips/{clip['id']}")
    tree = lxml.html.fromstring(embedded.text)
    assert tree.xpath("//audio/@src") == [clip["audio_url"]]
    assert (await _get(server, clip["audio_url"])).status_code == 200

    await host.ok("POST", f"/api/spaces/{sid}/end")
    await _until_complete(host, sid)
    # Ended without a published replay: a card; the clip turned private: gone.
    assert (await _get(server, "/api/oembed", url=f"{base}/s/{sid}/replay")).status_code == 404
    assert (await _get(server, "/api/oembed", url=base + clip["page_url"])).status_code == 404
    assert (await _get(server, f"/embed/clips/{clip['id']}")).status_code == 404
    await host.ok("POST", f"/api/spaces/{sid}/replay")
    for url in (f"{base}/s/{sid}", f"{base}/s/{sid}/replay"):
        answer = (await _get(server, "/api/oembed", url=url)).json()
        assert answer["title"] == "Replay: Recorded", url
        assert _iframe(answer).get("src") == f"{base}/embed/s/{sid}/replay", url
    replay = await _get(server, f"/embed/s/{sid}/replay")
    assert replay.status_code == 200
    player = lxml.html.fromstring(replay.text).get_element_by_id("player")
    assert player.get("data-kind") == "replay"
    # What the player asks for answers without a cookie.
    source = await _get(server, player.get("data-source"))
    assert source.status_code == 200 and source.json()["replay"]["playlist_url"].startswith("/hls/")


# --- the embed page ----------------------------------------------------------------------------
async def test_the_embed_page_is_framable_by_any_site_and_other_pages_are_not(
    server: Running,
) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Framed"))["id"]
    embed = await _get(server, f"/embed/s/{sid}")
    assert embed.status_code == 200
    assert embed.headers["content-type"].startswith("text/html")
    policy = _policy(embed)
    assert policy["frame-ancestors"] == ["*"]
    assert "x-frame-options" not in embed.headers
    assert "set-cookie" not in embed.headers
    assert embed.headers["x-content-type-options"] == "nosniff"
    # Only its own inline style and script run, by their hashes; nothing from elsewhere.
    tree = lxml.html.fromstring(embed.text)
    scripts = tree.xpath("//script")
    assert len(scripts) == 1 and scripts[0].get("type") == "module"
    assert policy["script-src"] == ["'self'", _hash(scripts[0].text)]
    assert policy["style-src"] == ["'self'", _hash(tree.xpath("//style")[0].text)]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["connect-src"][0] == "'self'" and policy["media-src"] == ["'self'", "blob:"]
    # Missing: still framable, to say so inside the frame.
    for path in ("/embed/s/999999", "/embed/s/abc", "/embed/s/0", "/embed/clips/a.b"):
        missing = await _get(server, path)
        assert missing.status_code == 404, path
        assert _policy(missing)["frame-ancestors"] == ["*"]
    for path in ("/", f"/s/{sid}", "/settings"):
        page = await _get(server, path)
        assert _policy(page)["frame-ancestors"] == ["'none'"], path
        assert page.headers["x-frame-options"] == "DENY", path


async def test_a_live_space_open_to_visitors_embeds_a_player(server: Running) -> None:
    host = await server.signup("host", "Hanna Host")
    listener = await server.signup("listener", "Secret Listener")
    space = await host.create_space(TRICKY, topics=["music"])
    sid = space["id"]
    await listener.join(sid)
    embed = await _get(server, f"/embed/s/{sid}")
    tree = lxml.html.fromstring(embed.text)
    # The title is text, not markup: the page's only script is our own.
    assert tree.findtext(".//h1") == TRICKY
    assert tree.findtext(".//title") == f"{TRICKY} · Parley"
    assert len(tree.xpath("//script")) == 1 and "alert(1)" not in tree.xpath("//script")[0].text
    assert "Hanna Host · @host" in tree.text_content()
    assert tree.findtext(".//p[@class='state live']").startswith("Live now")
    player = tree.get_element_by_id("player")
    assert player.get("data-kind") == "live"
    # `via=embed`: the host's analytics count those who came through the embed.
    assert player.get("data-source") == f"/api/spaces/{sid}/listen?via=embed"
    assert player.xpath(".//button")[0].text == "▶ Listen live"
    assert player.xpath(".//audio")
    links = tree.xpath("//a")
    assert [(a.get("href"), a.get("target"), a.text) for a in links] == [
        (f"/s/{sid}?via=embed", "_blank", "Listen on Parley")
    ]
    hls = player.get("data-hls")
    if hls:  # the web client is built: its hls.js chunk, served from here
        script = await _get(server, hls)
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    # What the player asks for answers a visitor (no cookie) with a live HLS link.
    listen = await _get(server, player.get("data-source"))
    assert listen.status_code == 200 and listen.json()["hls_url"].startswith(f"/hls/{sid}/live/")
    # Nothing the public link does not show: not who listens.
    assert "Secret Listener" not in embed.text and "listener" not in tree.text_content()


async def test_spaces_not_open_to_visitors_or_not_live_embed_a_card(server: Running) -> None:
    host = await server.signup("host")
    members_only = await host.create_space("Members only", accounts_required=True)
    sid = members_only["id"]
    card = lxml.html.fromstring((await _get(server, f"/embed/s/{sid}")).text)
    assert not card.xpath("//*[@id='player']") and not card.xpath("//audio")
    assert [(a.get("href"), a.text) for a in card.xpath("//a")] == [
        (f"/s/{sid}?via=embed", "Listen on Parley")
    ]
    await host.ok("POST", f"/api/spaces/{sid}/end")
    ended = lxml.html.fromstring((await _get(server, f"/embed/s/{sid}")).text)
    assert ended.findtext(".//p[@class='state ']") == "Ended"
    # Nothing to listen to (no replay): the link says so (the walkthrough found "Listen on").
    assert [a.text for a in ended.xpath("//a")] == ["Open on Parley"]
    at = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )
    upcoming = await host.create_space("Later", scheduled_for=at.isoformat())
    card = lxml.html.fromstring((await _get(server, f"/embed/s/{upcoming['id']}")).text)
    assert not card.xpath("//*[@id='player']")
    times = card.xpath("//time")
    assert [datetime.fromisoformat(t.get("datetime")) for t in times] == [at]
    assert [a.text for a in card.xpath("//a")] == ["Get a reminder on Parley"]
    # In UTC for those without scripts; the script writes it in the reader's time zone.
    assert times[0].text == f"{at:%a %d %b %Y}, 18:30 UTC"
    await host.ok("POST", f"/api/spaces/{upcoming['id']}/cancel")
    canceled = lxml.html.fromstring((await _get(server, f"/embed/s/{upcoming['id']}")).text)
    assert canceled.findtext(".//p[@class='state ']") == "Canceled"
    assert [a.text for a in canceled.xpath("//a")] == ["Open on Parley"]


@pytest.mark.parley_settings(visitors_can_listen=False)
async def test_an_instance_closed_to_visitors_embeds_a_card(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Live for members"))["id"]
    card = lxml.html.fromstring((await _get(server, f"/embed/s/{sid}")).text)
    assert not card.xpath("//*[@id='player']")
    assert [a.text for a in card.xpath("//a")] == ["Listen on Parley"]


async def test_embeds_are_rate_limited_per_client(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.api import routes_sharing

    host = await server.signup("host")
    sid = (await host.create_space("Popular"))["id"]
    # The server runs in this process: a smaller bucket shows the limit applies.
    monkeypatch.setattr(routes_sharing, "OEMBED_BURST", 3.0)
    monkeypatch.setattr(routes_sharing, "OEMBED_RATE_PER_S", 0.01)
    url = f"{server.base_url}/s/{sid}"
    statuses = [(await _get(server, "/api/oembed", url=url)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parley_settings(public_url="https://parley.example")
async def test_links_are_the_public_urls_and_others_are_not_ours(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Public"))["id"]
    link = _oembed_link(await _get(server, f"/s/{sid}"))
    assert link == (
        "https://parley.example/api/oembed?url=https%3A%2F%2Fparley.example%2Fs%2F"
        f"{sid}&format=json"
    )
    answer = (await _get(server, "/api/oembed", url=f"https://parley.example/s/{sid}")).json()
    assert _iframe(answer).get("src") == f"https://parley.example/embed/s/{sid}"
    assert answer["provider_url"] == "https://parley.example/"
    # The address the request came to is not the instance's public one.
    local = await _get(server, "/api/oembed", url=f"{server.base_url}/s/{sid}")
    assert local.status_code == 404


async def test_a_host_we_cannot_vouch_for_names_no_oembed(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Spoofed"))["id"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        page = await http.get(f"/s/{sid}", headers={"Host": "evil.example"})
        tree = lxml.html.fromstring(page.text)
        assert tree.xpath("//link[@type='application/json+oembed']") == []
        answer = await http.get(
            "/api/oembed",
            params={"url": f"http://evil.example/s/{sid}"},
            headers={"Host": "evil.example"},
        )
        assert answer.status_code == 404


async def test_without_the_built_client_the_player_uses_the_browsers_own_hls(
    server: Running, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from parley.api import embed

    host = await server.signup("host")
    sid = (await host.create_space("Unbuilt"))["id"]
    monkeypatch.setattr(embed, "STATIC_DIR", tmp_path)
    tree = lxml.html.fromstring((await _get(server, f"/embed/s/{sid}")).text)
    # No hls.js to load: the page's script plays natively where it can, else links out.
    assert tree.get_element_by_id("player").get("data-hls") == ""
    assert [a.text for a in tree.xpath("//a")] == ["Listen on Parley"]
