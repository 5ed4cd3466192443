"""CORS and OPTIONS on the WHIP/WHEP endpoints and session URLs (RFC 9725 s4.2), for WHIP/WHEP
clients on pages of other origins; everything else stays same-origin."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parley.api.routes_media import ice_server_links
from parley.config import Settings
from support import Running
from webrtc_client import WebRtcClient

pytestmark = pytest.mark.integration

STUDIO = "https://studio.example"


def _cors(response: object) -> dict[str, str]:
    headers = response.headers  # type: ignore[attr-defined]
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parley_settings(cors_origins=[STUDIO])
async def test_an_allowed_origin_is_answered_and_its_requests_carry_cors(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Embedded"))["id"]
    endpoint = f"/api/spaces/{sid}/whep"
    preflight = await host.request(
        "OPTIONS",
        endpoint,
        headers={
            "Origin": STUDIO,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    cors = _cors(preflight)
    assert cors["access-control-allow-origin"] == STUDIO
    assert cors["access-control-allow-methods"] == "OPTIONS, POST"
    assert {"Authorization", "Content-Type"} <= set(
        cors["access-control-allow-headers"].split(", ")
    )
    assert cors["access-control-expose-headers"] == "Location, Link, ETag"
    assert "access-control-allow-credentials" not in cors  # Bearer tokens, never cookies
    assert preflight.headers["vary"] == "Origin"

    # A real offer from that origin: the answer's Location is readable by the page's script.
    client = WebRtcClient(server.base_url, host.token, sid, "whep")
    client.headers["Origin"] = STUDIO
    answered = await client.connect()
    assert answered.status_code == 201
    assert _cors(answered)["access-control-allow-origin"] == STUDIO
    assert "Location" in _cors(answered)["access-control-expose-headers"]
    assert client.location is not None
    session = await host.request("OPTIONS", client.location, headers={"Origin": STUDIO})
    assert _cors(session)["access-control-allow-methods"] == "OPTIONS, PATCH, DELETE"
    # No trickle ICE here: a PATCH gets 405 (RFC 9725 s4.3.1), readable from that origin.
    trickle = await host.request(
        "PATCH",
        client.location,
        content=b"a=end-of-candidates\r\n",
        headers={"Origin": STUDIO, "Content-Type": "application/trickle-ice-sdpfrag"},
    )
    assert trickle.status_code == 405
    assert _cors(trickle)["access-control-allow-origin"] == STUDIO
    left = await host.request("DELETE", client.location, headers={"Origin": STUDIO})
    assert left.status_code == 200 and _cors(left)["access-control-allow-origin"] == STUDIO
    await client.close()


@pytest.mark.parley_settings(cors_origins=[STUDIO])
async def test_other_origins_are_refused_and_other_paths_untouched(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Closed"))["id"]
    origins = ("https://evil.example", "null", "https://studio.example.evil", "https://ü.example")
    for text in origins:
        origin = text.encode()  # as sent: UTF-8 bytes, which the server reads as Latin-1
        refused = await host.request(
            "OPTIONS", f"/api/spaces/{sid}/whip", headers={"Origin": origin}
        )
        assert refused.status_code == 403, text
        assert refused.json() | {"message": ""} == {
            "error": "forbidden",
            "message": "",
            "field": "Origin",
            "rule": "cors_allowlist",
        }
        assert _cors(refused) == {}
        posted = await host.request(
            "POST",
            f"/api/spaces/{sid}/whip",
            content=b"v=0",
            headers={"Origin": origin, "Content-Type": "application/sdp"},
        )
        assert posted.status_code == 400 and _cors(posted) == {}  # the browser withholds it
    # The rest of the API stays same-origin: no CORS, no OPTIONS.
    other = await host.request("OPTIONS", "/api/spaces", headers={"Origin": STUDIO})
    assert other.status_code == 405 and _cors(other) == {}
    mine = await host.request("GET", f"/api/spaces/{sid}", headers={"Origin": STUDIO})
    assert mine.status_code == 200 and _cors(mine) == {}


async def test_options_without_an_origin_and_the_instances_own_origin(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Own"))["id"]
    plain = await host.request("OPTIONS", f"/api/spaces/{sid}/whip")
    assert plain.status_code == 204
    assert plain.headers["allow"] == "OPTIONS, POST"
    assert plain.headers["accept-post"] == "application/sdp"
    assert _cors(plain) == {}
    own = await host.request(
        "OPTIONS", f"/api/spaces/{sid}/whip", headers={"Origin": server.base_url}
    )
    assert own.status_code == 204
    assert _cors(own)["access-control-allow-origin"] == server.base_url


@pytest.mark.parley_settings(public_url="https://parley.example")
async def test_a_public_url_is_the_instances_own_origin(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Public"))["id"]
    url = f"/api/spaces/{sid}/whep"
    public = await host.request("OPTIONS", url, headers={"Origin": "https://parley.example"})
    assert public.status_code == 204
    # The host the request reached is no longer taken for the instance's origin.
    assert (
        await host.request("OPTIONS", url, headers={"Origin": server.base_url})
    ).status_code == 403


def test_cors_origins_must_be_origins() -> None:
    Settings(cors_origins=["https://studio.example", "http://127.0.0.1:5173"])
    for bad in ("studio.example", "https://studio.example/page", "ftp://x.example", "https://"):
        with pytest.raises(ValidationError, match="is not an origin"):
            Settings(cors_origins=[bad])


def test_ice_servers_become_link_headers() -> None:
    assert ice_server_links([]) == ""
    links = ice_server_links(
        [
            {"urls": "stun:stun.example:3478"},
            {
                "urls": ["turn:turn.example:3478", "turns:turn.example:443"],
                "username": "u",
                "credential": "p",
            },
        ]
    )
    assert links == (
        '<stun:stun.example:3478>; rel="ice-server", '
        '<turn:turn.example:3478>; rel="ice-server"; username="u"; credential="p"; '
        'credential-type="password", '
        '<turns:turn.example:443>; rel="ice-server"; username="u"; credential="p"; '
        'credential-type="password"'
    )


@pytest.mark.parley_settings(client_ice_servers=[{"urls": "stun:stun.example:3478"}])
async def test_the_answer_names_the_ice_servers_meant_for_clients(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Links"))["id"]
    client = WebRtcClient(server.base_url, host.token, sid, "whep")
    client.headers["Origin"] = STUDIO
    answered = await client.connect()
    await client.close()
    assert answered.status_code == 201
    assert answered.headers["link"] == '<stun:stun.example:3478>; rel="ice-server"'


def test_client_ice_servers_cannot_break_out_of_the_header() -> None:
    for bad in (
        {"urls": "turn:turn.example", "credential": 'a"b'},
        {"urls": "stun:x\r\nSet-Cookie: y"},
        {"urls": "turn:turn.example", "username": "é"},
        {"urls": ""},
        {"urls": ["stun:a", 3]},
    ):
        with pytest.raises(ValidationError, match="client_ice_servers"):
            Settings(client_ice_servers=[bad])
    with pytest.raises(ValidationError, match="is not a URL"):
        Settings(public_url="parley.example")
