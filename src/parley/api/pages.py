"""The pages a shared link opens: the web client's own page with link-preview tags in its head
(Open Graph, Twitter cards, a canonical link), for the crawlers of chat apps and social sites,
which do not run the page's scripts; and the preview image those tags name.

`/s/{id}` (the room; the web client's route for it is the same path) and `/s/{id}/replay` are
here; `/clips/{id}` (api/routes_recordings.py) uses the same `preview_page`. Each names its oEmbed
answer (api/routes_sharing.py) for the sites that embed a player.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import re
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from parley.actions import spaces
from parley.actions.spaces import SpacePage
from parley.api.auth import ServicesDep
from parley.api.static import STATIC_DIR
from parley.domain.errors import NotFound
from parley.domain.space import SpaceState
from parley.domain.stage import Role

router = APIRouter(include_in_schema=False)

SITE_NAME = "Parley"
IMAGE_PATH = "/og-image.png"
IMAGE_WIDTH, IMAGE_HEIGHT = 1200, 630
IMAGE_ALT = "Parley: live audio rooms"
_MAX_ID = 2_147_483_647
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)
# The shell's own description (the app's), replaced by the page's: one description per page.
_DESCRIPTION = re.compile(r"\s*<meta\s+name=\"description\"[^>]*>", re.IGNORECASE)
# The tags whose value is a link (Open Graph's structured properties, Twitter's image).
_LINKS = ("og:url", "og:image", "og:audio", "og:video", "twitter:image")
_EMPTY_PAGE = "<!doctype html><html><head><title>Parley</title></head><body></body></html>"


@dataclass(frozen=True)
class Preview:
    """What a link shows before it is opened."""

    title: str
    description: str
    # The page's canonical path (og:url, rel=canonical).
    path: str
    og_type: str = "website"
    # More Open Graph properties (absolute URLs), e.g. og:audio.
    extra: dict[str, str] = field(default_factory=dict)


def app_shell() -> str:
    """The web client's index.html (or a bare page when it is not built)."""
    index = STATIC_DIR / "index.html"
    return index.read_text(encoding="utf-8") if index.is_file() else _EMPTY_PAGE


def _own_host(hostname: str, bound_to: str) -> bool:
    """A host no stranger can claim: loopback, or the address this server is bound to."""
    if hostname == "localhost" or hostname == bound_to.lower():
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def site_url(request: Request) -> str | None:
    """This instance's URL for links that leave it (previews): PARLEY_PUBLIC_URL when set; else
    the request's own, only when its host is ours beyond doubt (loopback, the bound address):
    the Host header is the sender's to write (issue 12), and a link on a name we cannot check
    would send the preview's readers there. None: no absolute link can be made."""
    settings = request.app.state.services.settings
    if settings.public_url:
        return str(settings.public_url).rstrip("/")
    hostname = request.url.hostname or ""
    if not _own_host(hostname.lower(), settings.host):
        return None
    return str(request.base_url).rstrip("/")


def absolute_url(request: Request, path: str) -> str:
    """`path` on this instance (`site_url`); the bare path when there is no sure URL, which
    `head_tags` leaves out."""
    base = site_url(request)
    return path if base is None else base + path


def _absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _without_links(tags: dict[str, str]) -> dict[str, str]:
    """The tags but the links that are not absolute, and their details (`og:image:width` of
    `og:image`)."""
    dropped = [key for key in _LINKS if key in tags and not _absolute(tags[key])]
    return {
        key: value
        for key, value in tags.items()
        if not any(key == gone or key.startswith(gone + ":") for gone in dropped)
    }


def _attribute(value: str) -> str:
    return html.escape(value, quote=True)


def head_tags(request: Request, preview: Preview) -> str:
    """The tags for the page's head, every value escaped."""
    url = absolute_url(request, preview.path)
    image = absolute_url(request, IMAGE_PATH)
    properties = {
        "og:site_name": SITE_NAME,
        "og:type": preview.og_type,
        "og:title": preview.title,
        "og:description": preview.description,
        "og:url": url,
        "og:image": image,
        "og:image:type": "image/png",
        "og:image:width": str(IMAGE_WIDTH),
        "og:image:height": str(IMAGE_HEIGHT),
        "og:image:alt": IMAGE_ALT,
        **preview.extra,
    }
    names = {
        "description": preview.description,
        "twitter:card": "summary_large_image",
        "twitter:title": preview.title,
        "twitter:description": preview.description,
        "twitter:image": image,
        "twitter:image:alt": IMAGE_ALT,
    }
    if site_url(request) is None:
        # No URL we can vouch for: what needs one (the page's, the image, the audio, with their
        # details) is left out. Crawlers take the URL they fetched; Twitter's card is imageless.
        properties, names = _without_links(properties), _without_links(names)
        names["twitter:card"] = "summary"
    tags = []
    if _absolute(url):
        # oEmbed s4 (discovery): where a consumer asks for this page's player (routes_sharing.py).
        oembed = absolute_url(request, "/api/oembed?" + urlencode({"url": url, "format": "json"}))
        tags += [
            f'<link rel="canonical" href="{_attribute(url)}">',
            f'<link rel="alternate" type="application/json+oembed" href="{_attribute(oembed)}"'
            f' title="{_attribute(preview.title)}">',
        ]
    tags += [f'<meta property="{k}" content="{_attribute(v)}">' for k, v in properties.items()]
    # Twitter reads its own tags by name (Open Graph's by property).
    tags += [f'<meta name="{key}" content="{_attribute(value)}">' for key, value in names.items()]
    return "\n    ".join(tags)


def preview_page(request: Request, preview: Preview) -> HTMLResponse:
    """The web client's page with the preview's title and tags in its head."""
    page = app_shell()
    title = f"<title>{html.escape(preview.title)} · {SITE_NAME}</title>"
    page, found = _TITLE.subn(lambda _: title, page, count=1)
    page = _DESCRIPTION.sub("", page)
    tags = head_tags(request, preview)
    if not found:
        tags = title + tags
    page = page.replace("</head>", f"    {tags}\n  </head>", 1)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


def not_found_page() -> HTMLResponse:
    """The web client's page, which says what it could not find, with a 404."""
    return HTMLResponse(app_shell(), status_code=404, headers={"Cache-Control": "no-cache"})


# --- spaces ------------------------------------------------------------------------------------
def _when(page: SpacePage) -> str:
    space = page.space
    if space.state is SpaceState.LIVE:
        return "Live now"
    if space.state is SpaceState.SCHEDULED and space.scheduled_for is not None:
        at = space.scheduled_for
        return f"Scheduled for {at:%a %d %b %Y, %H:%M} UTC"
    if space.state is SpaceState.ENDED:
        return "Replay" if page.replay_published else "Ended"
    return "Canceled"


def space_description(page: SpacePage) -> str:
    """One line: its state, its host, who else is on stage, its topics."""
    host = page.space.host
    parts = [f"{_when(page)} on {SITE_NAME}", f"hosted by {host.display_name} (@{host.handle})"]
    others = [m.user.display_name for m in page.stage if m.role is not Role.HOST]
    if page.space.state is SpaceState.LIVE and others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        parts.append(f"with {shown}")
    if page.space.topics:
        parts.append("topics: " + ", ".join(page.space.topics))
    return " · ".join(parts)


def space_preview(page: SpacePage, *, replay: bool = False) -> Preview:
    """An ended space with a published replay leads to the replay."""
    space_id = page.space.id
    to_replay = page.replay_published and (replay or page.space.state is SpaceState.ENDED)
    title = f"Replay: {page.space.title}" if to_replay else page.space.title
    path = f"/s/{space_id}/replay" if to_replay else f"/s/{space_id}"
    return Preview(title=title, description=space_description(page), path=path)


def _space_id(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= _MAX_ID else None


async def _space_page(services: ServicesDep, text: str) -> SpacePage | None:
    space_id = _space_id(text)
    if space_id is None:
        return None
    try:
        return await spaces.get_space(services, space_id, None)
    except NotFound:
        return None


@router.get("/s/{space_id}")
async def space_link(space_id: str, request: Request, services: ServicesDep) -> Response:
    """The room (the web client renders it at this path), with the space's preview tags."""
    page = await _space_page(services, space_id)
    if page is None:
        return not_found_page()
    return preview_page(request, space_preview(page))


@router.get("/s/{space_id}/replay")
async def replay_link(space_id: str, request: Request, services: ServicesDep) -> Response:
    """A published replay's page; 404 while none is published."""
    page = await _space_page(services, space_id)
    if page is None or not page.replay_published:
        return not_found_page()
    return preview_page(request, space_preview(page, replay=True))


# --- the preview image -------------------------------------------------------------------------
def preview_image(width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> bytes:
    """The card link previews show: a violet gradient and a row of sound bars, as a PNG. Made
    once (the same for every space: its words are in the tags, and a card per space would cost
    a text renderer and CPU on every crawl)."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    top, bottom = np.array([30, 27, 75], float), np.array([67, 56, 202], float)
    pixels = np.broadcast_to(top + (bottom - top) * y, (height, width, 3)).copy()
    bars, bar_w, gap = 25, 24, 16
    left = (width - (bars * bar_w + (bars - 1) * gap)) // 2
    for i in range(bars):
        # An envelope like a voice: tall in the middle, with some unevenness.
        level = np.sin(np.pi * (i + 0.5) / bars) * (0.55 + 0.45 * abs(np.sin(i * 1.7)))
        bar_h = max(16, int(level * height * 0.55))
        x0 = left + i * (bar_w + gap)
        y0 = (height - bar_h) // 2
        pixels[y0 : y0 + bar_h, x0 : x0 + bar_w] = (237, 233, 254)
    raw = pixels.astype(np.uint8)
    # PNG (ISO/IEC 15948): filter byte 0 on every row, one zlib stream in one IDAT chunk.
    rows = np.concatenate([np.zeros((height, 1), np.uint8), raw.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


_image: bytes | None = None


@router.api_route(IMAGE_PATH, methods=["GET", "HEAD"])
async def image() -> Response:
    global _image
    if _image is None:
        _image = await asyncio.to_thread(preview_image)
    return Response(
        _image, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )
