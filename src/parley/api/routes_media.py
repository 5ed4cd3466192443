"""WHIP (RFC 9725) to publish on stage and WHEP to listen: POST an SDP offer, get 201 with the
answer and the session's URL in Location; DELETE that URL to leave. ICE candidates come complete
in the offer and answer (no trickle: PATCH is not allowed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from parley.actions import media as media_actions
from parley.actions.accounts import Authenticated
from parley.api.auth import SESSION_COOKIE, AuthDep, ServicesDep, UserDep, authenticate
from parley.api.schemas import Id
from parley.domain.errors import (
    BadSdp,
    DomainError,
    NotAuthenticated,
    NotFound,
    UnsupportedMediaType,
)
from parley.media.sessions import BadOffer, SessionKind
from parley.room.media import MediaRuntime

router = APIRouter(prefix="/api/spaces", tags=["media"])

SDP = "application/sdp"
SessionId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_OFFER_BYTES = 64 * 1024

_SDP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {SDP: {"schema": {"type": "string", "description": "SDP offer"}}},
    },
    "responses": {"201": {"description": "SDP answer", "content": {SDP: {}}}},
}


async def _offer(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != SDP:
        raise UnsupportedMediaType(f"send the SDP offer as {SDP}")
    body = await request.body()
    if len(body) > MAX_OFFER_BYTES:
        raise BadSdp("the SDP offer is too large")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSdp("the SDP offer is not UTF-8 text") from None


def _media(request: Request) -> MediaRuntime:
    media: MediaRuntime = request.app.state.media
    return media


def ice_server_links(ice_servers: list[dict[str, Any]]) -> str:
    """ICE servers as a Link header (RFC 9725 s4.6, RFC 8288), for clients that take theirs
    from the endpoint (OBS does). The values are checked when the settings load
    (`client_ice_servers`): printable ASCII without quotes or angle brackets."""
    links = []
    for server in ice_servers:
        urls = server.get("urls", [])
        for url in [urls] if isinstance(urls, str) else urls:
            link = f'<{url}>; rel="ice-server"'
            if "username" in server:
                link += f'; username="{server["username"]}"'
            if "credential" in server:
                link += f'; credential="{server["credential"]}"; credential-type="password"'
            links.append(link)
    return ", ".join(links)


async def _open(
    kind: SessionKind,
    space_id: int,
    request: Request,
    services: ServicesDep,
    auth: Authenticated,
    *,
    unmute: bool = False,
) -> Response:
    user_id = auth.user.id
    offer = await _offer(request)
    check = media_actions.check_publish if kind == "whip" else media_actions.check_listen

    async def allowed() -> tuple[bool, int]:
        return await check(services, space_id, user_id)

    links = ice_server_links(services.settings.client_ice_servers)
    media = _media(request)
    try:
        session_id, answer = await media.open_session(
            kind, space_id, user_id, offer, allowed, unmute=unmute
        )
    except BadOffer as exc:
        raise BadSdp(str(exc)) from None
    media.note_credential(session_id, auth.credential)
    # Opening takes a while (the space's media, ICE): a revocation (a suspension, a sign-out)
    # that came meanwhile found no session to end. Asked again now that it exists.
    try:
        again = await authenticate(
            services, request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
        )
        if again is None:
            raise NotAuthenticated("signed out")
    except DomainError:
        await media.close_session(session_id)
        raise
    headers = {"Location": f"/api/spaces/{space_id}/{kind}/{session_id}"}
    if links:
        headers["Link"] = links
    return Response(answer, status_code=status.HTTP_201_CREATED, media_type=SDP, headers=headers)


async def _close(
    kind: SessionKind, space_id: int, session_id: str, request: Request, user_id: int
) -> Response:
    media = _media(request)
    session = media.session(session_id)
    if (
        session is None
        or session.kind != kind
        or session.space_id != space_id
        or session.user_id != user_id
    ):
        raise NotFound("no such session")
    await media.close_session(session_id)
    return Response(status_code=status.HTTP_200_OK)


@router.post("/{space_id}/whip", status_code=201, openapi_extra=_SDP_BODY)
async def publish(
    space_id: Id,
    request: Request,
    services: ServicesDep,
    auth: AuthDep,
    unmute: Annotated[
        bool,
        Query(
            description="Unmute yourself once connected (for tools that only speak WHIP, such as "
            "OBS); the stage's rules apply as to any unmute of your own, and a moderator's mute "
            "after it holds: the session never unmutes you again."
        ),
    ] = False,
) -> Response:
    """Publish your audio to the stage (stage members only); the answer carries your mix-minus.
    An open session counts as your presence in the space, as the room's socket does."""
    return await _open("whip", space_id, request, services, auth, unmute=unmute)


@router.delete("/{space_id}/whip/{session_id}")
async def stop_publishing(
    space_id: Id, session_id: SessionId, request: Request, user: UserDep
) -> Response:
    return await _close("whip", space_id, session_id, request, user.id)


@router.post("/{space_id}/whep", status_code=201, openapi_extra=_SDP_BODY)
async def listen(space_id: Id, request: Request, services: ServicesDep, auth: AuthDep) -> Response:
    """Listen to the stage's full mix over WebRTC."""
    return await _open("whep", space_id, request, services, auth)


@router.delete("/{space_id}/whep/{session_id}")
async def stop_listening(
    space_id: Id, session_id: SessionId, request: Request, user: UserDep
) -> Response:
    return await _close("whep", space_id, session_id, request, user.id)
