"""HTTP hardening (issue 12): security headers on every response, the API docs served from our
own files, a cap on request bodies, absolute URLs that never come from a stranger's Host
header, the room socket's origin check (scheme included) and its cap per user."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import threading
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest
import websockets
from starlette.requests import Request

from parley.api import pages
from parley.api.static import STATIC_DIR
from parley.config import Settings
from parley.domain import avatars
from support import PASSWORD, Running

pytestmark = pytest.mark.integration


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    """Content-Security-Policy as directive -> sources."""
    directives: dict[str, list[str]] = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = sources
    return directives


async def _get(server: Running, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        return await http.get(path, headers=headers)


# --- security headers --------------------------------------------------------------------------
async def test_pages_carry_a_content_security_policy_and_refuse_framing(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space())["id"]
    for path in ("/", f"/s/{sid}", "/s/999999", "/settings"):
        page = await _get(server, path)
        assert page.headers["content-type"].startswith("text/html"), path
        policy = _policy(page)
        assert policy["default-src"] == ["'self'"], path
        # No inline script and no eval: only our own files.
        assert policy["script-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        # hls.js plays through Media Source (a blob: URL) and transmuxes in a blob: worker.
        assert policy["media-src"] == ["'self'", "blob:"], path
        assert policy["worker-src"] == ["'self'", "blob:"], path
        assert policy["img-src"] == ["'self'", "data:", "blob:"], path
        # The room socket: ws: for this very origin (http), named where browsers lack CSP3's
        # 'self' matching of ws:.
        origin = urlsplit(server.base_url).netloc
        assert policy["connect-src"] == ["'self'", f"ws://{origin}"], path
        assert page.headers["x-frame-options"] == "DENY", path
        assert page.headers["x-content-type-options"] == "nosniff", path
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin", path


async def test_every_response_is_nosniff_with_a_referrer_policy(server: Running) -> None:
    host = await server.signup("host")
    for response in (
        await _get(server, "/api/health"),
        await _get(server, "/api/no-such-thing"),
        await host.get("/api/me"),
        await _get(server, "/og-image.png"),
        await _get(server, "/manifest.webmanifest"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # An error from a route (here a picture that is not one) is no exception.
    refused = await host.request("PUT", "/api/me/avatar", content=b"x")
    assert refused.status_code == 415 and refused.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parley_settings(public_url="https://parley.example")
async def test_the_policy_names_the_public_urls_socket_origin(server: Running) -> None:
    page = await _get(server, "/")
    assert _policy(page)["connect-src"] == ["'self'", "wss://parley.example"]


async def test_a_strange_host_is_left_out_of_the_policy(server: Running) -> None:
    page = await _get(server, "/", host="evil.example; script-src *")
    assert _policy(page)["connect-src"] == ["'self'"]
    assert _policy(page)["script-src"] == ["'self'"]


# --- the API docs --------------------------------------------------------------------------------
async def test_api_docs_load_only_our_own_files(server: Running) -> None:
    docs = await _get(server, "/api/docs")
    assert docs.status_code == 200
    tree = lxml.html.fromstring(docs.text)
    sources = tree.xpath("//script/@src") + tree.xpath("//link[@rel='stylesheet']/@href")
    assert sources, "the docs page names its script and stylesheet"
    for source in sources + tree.xpath("//link[contains(@rel, 'icon')]/@href"):
        assert source.startswith("/") and not source.startswith("//"), source
        served = await _get(server, source)
        assert served.status_code == 200, source
        assert served.headers["x-content-type-options"] == "nosniff"
    scripts = [s for s in tree.xpath("//script/@src") if "swagger-ui-bundle" in s]
    assert scripts, "swagger-ui's bundle"
    assert (STATIC_DIR / scripts[0].lstrip("/").split("?")[0]).is_file()
    # Its one inline script (Swagger UI's start-up) is allowed by its hash, and nothing else is.
    policy = _policy(docs)
    inline = [s.text for s in tree.xpath("//script[not(@src)]")]
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in inline
    }
    assert set(policy["script-src"]) == {"'self'", *hashes}
    assert policy["frame-ancestors"] == ["'none'"]
    # The spec it shows is the app's own.
    spec = await _get(server, "/api/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "Parley"


# --- request bodies -----------------------------------------------------------------------------
SMALL_LIMIT = 4096


def _signup_body(handle: str, padding: int) -> bytes:
    """A valid sign-up, padded with whitespace: were it read, the account would exist."""
    body = json.dumps({"handle": handle, "display_name": "Big", "password": PASSWORD})
    return (body + " " * padding).encode()


async def _handle_taken(server: Running, handle: str) -> bool:
    response = await _get(server, f"/api/users/{handle}")
    return response.status_code == 200


def _assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert (body["error"], body["field"], body["rule"]) == ("too_large", "body", "max_bytes")
    assert str(limit) in body["message"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parley_settings(max_request_body_bytes=SMALL_LIMIT)
async def test_a_declared_body_over_the_limit_is_refused_unread(server: Running) -> None:
    async with server.browser() as http:
        fits = await http.post(
            "/api/auth/signup",
            content=_signup_body("fits", SMALL_LIMIT - 200),
            headers={"Content-Type": "application/json"},
        )
        assert fits.status_code == 201, fits.text
        refused = await http.post(
            "/api/auth/signup",
            content=_signup_body("toobig", SMALL_LIMIT),
            headers={"Content-Type": "application/json"},
        )
    _assert_too_large(refused, SMALL_LIMIT)
    assert not await _handle_taken(server, "toobig")


@pytest.mark.parley_settings(max_request_body_bytes=SMALL_LIMIT)
async def test_a_streamed_body_is_cut_at_the_limit(server: Running) -> None:
    body = _signup_body("streamed", 4 * SMALL_LIMIT)
    # By hand on a socket: no Content-Length, chunked transfer coding, counted as it comes. The
    # server answers as soon as the limit is passed and closes; what is still being sent then
    # may meet a closed connection (an HTTP client library reports that instead of the answer).
    address = urlsplit(server.base_url)
    answer = await asyncio.to_thread(_send_chunked, address.hostname or "", address.port or 0, body)
    head, _, payload = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    refused = httpx.Response(
        int(lines[0].split()[1]), headers=headers, content=_unchunked(payload, headers)
    )
    _assert_too_large(refused, SMALL_LIMIT)
    assert not await _handle_taken(server, "streamed")


def _send_chunked(host: str, port: int, body: bytes) -> bytes:
    """Sends `body` chunked while reading the answer on another thread, so that the answer read
    before the server closes is kept whatever happens to the rest of the sending."""
    received: list[bytes] = []
    with socket.create_connection((host, port), timeout=10) as sock:

        def read() -> None:
            with contextlib.suppress(OSError):
                while block := sock.recv(65536):
                    received.append(block)

        reader = threading.Thread(target=read)
        reader.start()
        with contextlib.suppress(OSError):
            sock.sendall(
                b"POST /api/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for start in range(0, len(body), 1000):
                piece = body[start : start + 1000]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        reader.join(10)
    return b"".join(received)


def _unchunked(payload: bytes, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding") != "chunked":
        return payload
    out = b""
    while payload:
        size_line, _, rest = payload.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += rest[:size]
        payload = rest[size + 2 :]
    return out


async def test_the_default_limit_leaves_room_for_a_profile_picture(server: Running) -> None:
    assert Settings().max_request_body_bytes > avatars.MAX_UPLOAD_BYTES
    # A picture one byte over its own limit gets the picture's rule, not the body cap.
    user = await server.signup("pictured")
    big = await user.request(
        "PUT",
        "/api/me/avatar",
        content=b"\0" * (avatars.MAX_UPLOAD_BYTES + 1),
        headers={"Content-Type": "image/png"},
    )
    assert big.status_code == 413 and big.json()["message"].endswith("5 MiB"), big.text


# --- absolute URLs ------------------------------------------------------------------------------
async def test_a_strangers_host_header_never_makes_the_links(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Hello"))["id"]
    page = await _get(server, f"/s/{sid}", host="evil.example")
    assert page.status_code == 200
    assert "evil.example" not in page.text
    tree = lxml.html.fromstring(page.text)
    # The preview keeps its words; the links that would need our name are left out.
    assert tree.xpath("//meta[@property='og:title']/@content") == ["Hello"]
    assert not tree.xpath("//meta[@property='og:url']")
    assert not tree.xpath("//link[@rel='canonical']")
    # Our own address (loopback, as in development) still makes them.
    ours = lxml.html.fromstring((await _get(server, f"/s/{sid}")).text)
    assert ours.xpath("//meta[@property='og:url']/@content") == [f"{server.base_url}/s/{sid}"]


def _request(host: str) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(services=SimpleNamespace(settings=Settings())))
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/clips/7",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host.encode())],
        "server": ("127.0.0.1", 8000),
        "app": app,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("host", "kept"), [("evil.example", False), ("127.0.0.1:8000", True), ("[::1]:8000", True)]
)
def test_a_clip_preview_links_its_audio_only_on_our_own_host(host: str, kept: bool) -> None:
    # As routes_recordings.clip_page makes it.
    request = _request(host)
    audio = pages.absolute_url(request, "/api/clips/7/audio.m4a")
    preview = pages.Preview(
        title="Clip",
        description="30 s",
        path="/clips/7",
        og_type="music.song",
        extra={"og:audio": audio, "og:audio:type": "audio/mp4"},
    )
    tags = pages.head_tags(request, preview)
    assert ('property="og:audio"' in tags) is kept
    assert ('property="og:audio:type"' in tags) is kept
    assert ('property="og:image:width"' in tags) is kept
    assert ('name="twitter:card" content="summary_large_image"' in tags) is kept
    assert 'property="og:title" content="Clip"' in tags
    assert "evil.example" not in tags


@pytest.mark.parley_settings(public_url="https://parley.example")
async def test_the_public_url_makes_the_links_whatever_the_host(server: Running) -> None:
    host = await server.signup("host")
    sid = (await host.create_space("Hello"))["id"]
    page = await _get(server, f"/s/{sid}", host="evil.example")
    tree = lxml.html.fromstring(page.text)
    assert tree.xpath("//meta[@property='og:url']/@content") == [f"https://parley.example/s/{sid}"]
    assert "evil.example" not in page.text


# --- the room socket ----------------------------------------------------------------------------
async def _cookie_socket(
    server: Running, handle: str, space_id: int | None = None, **headers: str
) -> tuple[int | None, int]:
    """Signs `handle` up in a browser and opens a room socket with its cookie: (close code or
    None if it stayed open, the space)."""
    async with server.browser() as http:
        response = await http.post(
            "/api/auth/signup",
            json={"handle": handle, "display_name": handle, "password": PASSWORD},
        )
        if response.status_code == 409:
            response = await http.post(
                "/api/auth/signin", json={"handle": handle, "password": PASSWORD}
            )
        assert response.status_code in (200, 201), response.text
        csrf = {"X-CSRF-Token": http.cookies["parley_csrf"]}
        if space_id is None:
            created = await http.post("/api/spaces", json={"title": "Mine"}, headers=csrf)
            space_id = int(created.json()["space"]["id"])
        cookie = f"parley_session={http.cookies['parley_session']}"
    url = f"{server.ws_url}/api/spaces/{space_id}/ws"
    async with websockets.connect(url, additional_headers={"Cookie": cookie, **headers}) as ws:
        try:
            first = json.loads(await ws.recv())
        except websockets.ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), space_id
        assert first["type"] == "snapshot"
        return None, space_id


async def test_the_socket_origin_check_compares_the_scheme(server: Running) -> None:
    netloc = urlsplit(server.base_url).netloc
    code, sid = await _cookie_socket(server, "ada", Origin=f"http://{netloc}")
    assert code is None
    code, _ = await _cookie_socket(server, "ada", sid, Origin="http://evil.example")
    assert code == 4403
    # Behind a TLS proxy (uvicorn applies X-Forwarded-Proto from a trusted proxy, here
    # loopback): the page's origin is https, and an http page of the same host is refused.
    proxied = {"X-Forwarded-Proto": "https"}
    code, _ = await _cookie_socket(server, "ada", sid, Origin=f"https://{netloc}", **proxied)
    assert code is None
    code, _ = await _cookie_socket(server, "ada", sid, Origin=f"http://{netloc}", **proxied)
    assert code == 4403


@pytest.mark.parley_settings(public_url="https://parley.example")
async def test_with_a_public_url_only_its_origin_may_open_cookie_sockets(server: Running) -> None:
    netloc = urlsplit(server.base_url).netloc
    code, sid = await _cookie_socket(server, "ada", Origin="https://parley.example")
    assert code is None
    for origin in ("http://parley.example", f"http://{netloc}", "https://parley.example:8443"):
        code, _ = await _cookie_socket(server, "ada", sid, Origin=origin)
        assert code == 4403, origin


@pytest.mark.parley_settings(room_sockets_per_user=3)
async def test_room_sockets_per_user_are_capped(server: Running) -> None:
    host = await server.signup("host")
    other = await server.signup("other")
    sid = (await host.create_space())["id"]
    second = (await other.create_space("Another"))["id"]
    await host.join(second)
    held = [await host.socket(sid), await host.socket(sid), await host.socket(second)]
    for room in held:
        await room.until_type("snapshot")
    # Over every space on this node: the fourth is closed at once.
    assert await (await host.socket(sid)).closed_with() == 4429
    assert await (await host.socket(second)).closed_with() == 4429
    # Someone else is not counted with them.
    await (await other.socket(second)).until_type("snapshot")
    # One closed frees a place.
    await held.pop().close()
    for _ in range(50):
        again = await host.socket(sid)
        try:
            await again.until_type("snapshot", timeout=1.0)
            break
        except websockets.ConnectionClosed:
            continue
    else:
        raise AssertionError("the freed place was not given back")
