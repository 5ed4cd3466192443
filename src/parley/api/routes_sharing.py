"""Sharing (issue 13): reposts and the home's spaces shared by people one follows; the
embeddable player (`/embed/...`, api/embed.py) and oEmbed (https://oembed.com), so a link of a
space, a replay or a clip pasted into a blog, a forum or a social site shows a player."""

from __future__ import annotations

import html
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from parley.actions import sharing
from parley.actions.base import Services
from parley.api import embed
from parley.api.auth import ServicesDep, UserDep, client_address
from parley.api.pages import site_url
from parley.api.schemas import Id
from parley.domain import sharing as rules
from parley.domain.errors import NotFound
from parley.domain.views import SpaceView, UserBrief

router = APIRouter(tags=["sharing"])

# Per user: the home is read on every visit, not in a loop.
HOME_BURST, HOME_RATE_PER_S = 30.0, 2.0
# Per client address: unfurlers (a Mastodon server, a forum) ask for many links from one
# address; an embed is fetched once per reader of the page it is on.
OEMBED_BURST, OEMBED_RATE_PER_S = 60.0, 5.0
EMBED_BURST, EMBED_RATE_PER_S = 120.0, 10.0
# oEmbed's maxwidth and maxheight: a size in CSS pixels.
Size = Annotated[int | None, Query(ge=1, le=10_000)]


class SharedSpaceOut(BaseModel):
    space: SpaceView
    # The newest few (at most 3) of the people the viewer follows who shared it.
    shared_by: list[UserBrief]
    # How many of the people the viewer follows shared it.
    shared_count: int


class HomeSharedOut(BaseModel):
    items: list[SharedSpaceOut]


class RepostOut(BaseModel):
    reposted: bool


class OEmbedOut(BaseModel):
    """oEmbed 1.0 s2.3.4, a "rich" answer: an iframe of the embed player."""

    type: Literal["rich"] = "rich"
    version: Literal["1.0"] = "1.0"
    title: str
    author_name: str
    author_url: str
    provider_name: str
    provider_url: str
    html: str
    width: int
    height: int
    cache_age: int
    thumbnail_url: str | None = None
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None


# --- reposts -----------------------------------------------------------------------------------
@router.put("/api/spaces/{space_id}/repost", status_code=status.HTTP_204_NO_CONTENT)
async def repost(space_id: Id, services: ServicesDep, user: UserDep) -> None:
    """Share an upcoming or live space with your followers: it shows on their home
    (`GET /api/home/shared`) with your name, and its host is told. Again: no change."""
    await sharing.repost(services, space_id, user.id)


@router.delete("/api/spaces/{space_id}/repost", status_code=status.HTTP_204_NO_CONTENT)
async def unrepost(space_id: Id, services: ServicesDep, user: UserDep) -> None:
    await sharing.unrepost(services, space_id, user.id)


@router.get("/api/spaces/{space_id}/repost")
async def reposted(space_id: Id, services: ServicesDep, user: UserDep) -> RepostOut:
    """Whether you shared the space."""
    return RepostOut(reposted=await sharing.reposted(services, space_id, user.id))


@router.get("/api/home/shared")
async def home_shared(services: ServicesDep, user: UserDep) -> HomeSharedOut:
    """Upcoming and live spaces the people you follow shared, the latest shared first (at most
    50), each with who shared it."""
    services.take("home", user.id, burst=HOME_BURST, rate_per_s=HOME_RATE_PER_S)
    found = await sharing.home_shared(services, user.id)
    return HomeSharedOut(
        items=[
            SharedSpaceOut(space=s.space, shared_by=s.shared_by, shared_count=s.shared_count)
            for s in found
        ]
    )


# --- oEmbed ------------------------------------------------------------------------------------
def _take_client(
    services: Services, request: Request, kind: str, burst: float, rate: float
) -> None:
    services.take(kind, f"client:{client_address(request)}", burst=burst, rate_per_s=rate)


@router.get(
    "/api/oembed",
    response_model_exclude_none=True,
    responses={
        400: {"description": "`url` is not an absolute http(s) URL"},
        404: {"description": "not a space, replay or clip of this instance"},
    },
)
async def oembed(
    request: Request,
    response: Response,
    services: ServicesDep,
    url: Annotated[str, Query(description="a space's, replay's or clip's page on this instance")],
    # Kept out of the OpenAPI document: its only other value's answer is oEmbed's 501 (s2.3.2),
    # which the API's fuzzing (tests/api/test_fuzz.py) would take for a server error.
    format: Annotated[str, Query(include_in_schema=False)] = "json",
    maxwidth: Size = None,
    maxheight: Size = None,
) -> OEmbedOut:
    """oEmbed (https://oembed.com) for `/s/{id}`, `/s/{id}/replay` and `/clips/{id}`: a "rich"
    answer whose `html` is an iframe of the embeddable player, within maxwidth x maxheight."""
    _take_client(services, request, "oembed", OEMBED_BURST, OEMBED_RATE_PER_S)
    if format != "json":
        raise rules.FormatNotImplemented(f"format {format!r} is not offered: use json")
    site = site_url(request)
    target = rules.embed_target(url, site)
    if target is None or site is None:
        raise NotFound("not the link of a space, replay or clip of this instance")
    found = await sharing.embeddable(services, target)
    width, height = rules.fit(embed.WIDTH, embed.HEIGHT, maxwidth, maxheight)
    src = html.escape(site + found.embed_path, quote=True)
    title = html.escape(found.title, quote=True)
    frame = (
        f'<iframe src="{src}" width="{width}" height="{height}" frameborder="0"'
        f' allow="autoplay" title="{title}" loading="lazy"'
        f' style="border:0;max-width:100%"></iframe>'
    )
    host = found.host
    # Public, and read by pages' scripts too (client-side unfurlers).
    response.headers["Access-Control-Allow-Origin"] = "*"
    return OEmbedOut(
        title=found.title,
        author_name=host.display_name,
        author_url=f"{site}/u/{host.handle}",
        provider_name=embed.SITE_NAME,
        provider_url=site + "/",
        html=frame,
        width=width,
        height=height,
        # A space's state changes: consumers may keep the answer an hour.
        cache_age=3600,
        # oEmbed s2.3.4: a thumbnail comes with its size (the profile picture: 256 px square).
        thumbnail_url=site + host.avatar_url if host.avatar_url else None,
        thumbnail_width=256 if host.avatar_url else None,
        thumbnail_height=256 if host.avatar_url else None,
    )


# --- the embeddable player ---------------------------------------------------------------------
def _embed_response(request: Request, body: str, status_code: int = 200) -> HTMLResponse:
    services = request.app.state.services
    return HTMLResponse(
        body,
        status_code=status_code,
        headers={
            "Content-Security-Policy": embed.policy(request.scope, services.settings.public_url),
            "Cache-Control": "no-cache",
        },
    )


_GONE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found · Parley
</title></head><body><p>Not found on Parley.</p></body></html>"""


async def _embed(
    request: Request, services: Services, target: rules.EmbedTarget | None
) -> Response:
    _take_client(services, request, "embeds", EMBED_BURST, EMBED_RATE_PER_S)
    if target is None:
        return _embed_response(request, _GONE, 404)
    try:
        found = await sharing.embeddable(services, target)
    except NotFound:
        return _embed_response(request, _GONE, 404)
    return _embed_response(request, embed.page(found))


@router.get("/embed/s/{space_id}", include_in_schema=False)
async def embed_space(space_id: str, request: Request, services: ServicesDep) -> Response:
    """A space's player: listen live (visitors' HLS), or a card linking to the space."""
    found = rules.space_id_of(space_id)
    return await _embed(
        request, services, rules.EmbedTarget("space", space_id=found) if found else None
    )


@router.get("/embed/s/{space_id}/replay", include_in_schema=False)
async def embed_replay(space_id: str, request: Request, services: ServicesDep) -> Response:
    found = rules.space_id_of(space_id)
    return await _embed(
        request, services, rules.EmbedTarget("replay", space_id=found) if found else None
    )


@router.get("/embed/clips/{clip_id}", include_in_schema=False)
async def embed_clip(clip_id: str, request: Request, services: ServicesDep) -> Response:
    found = rules.clip_id_of(clip_id)
    return await _embed(
        request, services, rules.EmbedTarget("clip", clip_id=found) if found else None
    )
