"""Profile pictures over real HTTP: upload, replace, remove, serve; every limit and bad input;
who may change whose; metadata stripped; caching headers; avatar_url wherever a user appears."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from parley.domain import avatars as rules
from picture_support import (
    BLUE,
    CAMERA,
    GREEN,
    RED,
    animated_gif,
    encode,
    jpeg_with_metadata,
    near,
    noise,
    opened,
    picture,
    png_bomb,
    riff_chunks,
)
from support import PASSWORD, Client, Running

pytestmark = pytest.mark.integration

AVATAR = "/api/me/avatar"


async def upload(
    client: Client, data: bytes | AsyncIterator[bytes], content_type: str = "image/png"
) -> httpx.Response:
    return await client.request("PUT", AVATAR, content=data, headers={"Content-Type": content_type})


async def profile(client: Client, handle: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = (await client.ok("GET", f"/api/users/{handle or client.handle}"))["user"]
    return user


async def fetch(server: Running, url: str, **kwargs: Any) -> httpx.Response:
    """As a visitor would (no credentials): pictures are public."""
    async with server.browser() as http:
        return await http.get(url, **kwargs)


def assert_refused(response: httpx.Response, status: int, field: str, rule: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["field"], body["rule"]) == (field, rule), body
    assert body["errors"][0]["field"] == field
    assert field in body["message"]


async def test_upload_replace_and_remove(server: Running) -> None:
    alice = await server.signup("alice")
    assert (await profile(alice))["avatar_url"] is None

    first = await upload(alice, picture("PNG", (300, 200), RED))
    assert first.status_code == 200, first.text
    url = first.json()["user"]["avatar_url"]
    assert url == "/api/users/alice/avatar?v=1"
    assert (await profile(alice))["avatar_url"] == url
    served = await fetch(server, url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    image = opened(served.content)
    assert (image.format, image.size) == ("WEBP", (256, 256))
    assert near(image.getpixel((128, 128)), RED)

    # A new picture is a new URL; the old URL now answers the new picture, never cached.
    second = await upload(alice, picture("JPEG", (200, 500), BLUE), "image/jpeg")
    new_url = second.json()["user"]["avatar_url"]
    assert new_url == "/api/users/alice/avatar?v=2"
    assert near(opened((await fetch(server, new_url)).content).getpixel((128, 128)), BLUE)
    stale = await fetch(server, url)
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert near(opened(stale.content).getpixel((128, 128)), BLUE)

    removed = await alice.request("DELETE", AVATAR)
    assert removed.status_code == 200 and removed.json()["user"]["avatar_url"] is None
    assert (await profile(alice))["avatar_url"] is None
    gone = await fetch(server, new_url)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    # Removing nothing changes nothing; the next picture still gets a version never used.
    assert (await alice.request("DELETE", AVATAR)).status_code == 200
    third = await upload(alice, picture("WEBP", (64, 64), GREEN), "image/webp")
    assert third.json()["user"]["avatar_url"] == "/api/users/alice/avatar?v=4"


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (picture("PNG", (300, 300), GREEN), "image/png", GREEN),
        (picture("JPEG", (1200, 800), BLUE), "image/jpeg", BLUE),
        (picture("WEBP", (256, 256), RED), "image/webp", RED),
        (picture("GIF", (40, 90), BLUE), "image/gif", BLUE),
        # A picture declared as another of the types we take is read as what it is.
        (picture("JPEG", (100, 100), GREEN), "image/png", GREEN),
        # Parameters and case of the media type do not matter.
        (picture("PNG", (100, 100), RED), "Image/PNG; charset=binary", RED),
    ],
)
async def test_every_type_we_take(
    server: Running, data: bytes, content_type: str, expected: tuple[int, int, int]
) -> None:
    alice = await server.signup("alice")
    response = await upload(alice, data, content_type)
    assert response.status_code == 200, response.text
    served = opened((await fetch(server, response.json()["user"]["avatar_url"])).content)
    assert served.size == (256, 256)
    assert near(served.getpixel((128, 128)), expected)


async def test_an_animated_picture_keeps_its_first_frame(server: Running) -> None:
    alice = await server.signup("alice")
    response = await upload(alice, animated_gif([RED, GREEN, BLUE]), "image/gif")
    assert response.status_code == 200, response.text
    served = opened((await fetch(server, response.json()["user"]["avatar_url"])).content)
    assert getattr(served, "n_frames", 1) == 1
    assert near(served.getpixel((128, 128)), RED)


async def test_a_phone_photo_loses_its_metadata_and_stands_upright(server: Running) -> None:
    alice = await server.signup("alice")
    # Stored sideways (top red, bottom blue) with orientation 6: shown turned a quarter clockwise,
    # blue on the left and red on the right.
    photo = jpeg_with_metadata(orientation=6)
    assert b"GPS" in photo or opened(photo).getexif().get_ifd(0x8825)
    response = await upload(alice, photo, "image/jpeg")
    assert response.status_code == 200, response.text
    data = (await fetch(server, response.json()["user"]["avatar_url"])).content

    assert riff_chunks(data) in (["VP8 "], ["VP8L"], ["VP8X", "ALPH", "VP8 "])
    served = opened(data)
    assert not served.getexif()
    assert not {"exif", "icc_profile", "xmp"} & set(served.info)
    for secret in (CAMERA.encode(), b"Secret Photographer", b"Exif", b"ICCP", b"XMP"):
        assert secret not in data
    assert near(served.getpixel((30, 128)), BLUE)
    assert near(served.getpixel((226, 128)), RED)


async def test_caching_headers_etag_and_head(server: Running) -> None:
    alice = await server.signup("alice")
    url = (await upload(alice, picture())).json()["user"]["avatar_url"]
    current = await fetch(server, url)
    assert current.status_code == 200
    headers = current.headers
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "sandbox" in headers["content-security-policy"]
    etag = headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')

    # Without the version, or with another, it must be asked again each time.
    for other in ("/api/users/alice/avatar", "/api/users/alice/avatar?v=999", url + "0"):
        response = await fetch(server, other)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-cache"
        assert response.headers["etag"] == etag

    for tag in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        unchanged = await fetch(server, url, headers={"If-None-Match": tag})
        assert unchanged.status_code == 304, tag
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
    changed = await fetch(server, url, headers={"If-None-Match": '"something else"'})
    assert changed.status_code == 200 and changed.content == current.content

    async with server.browser() as http:
        head = await http.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "image/webp"
    assert int(head.headers["content-length"]) == len(current.content)
    assert head.headers["etag"] == etag
    assert head.headers["x-content-type-options"] == "nosniff"

    # The same picture again: a new version, the same bytes, the same validator.
    again = (await upload(alice, picture())).json()["user"]["avatar_url"]
    assert again != url
    assert (await fetch(server, again)).headers["etag"] == etag


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/nobody/avatar",
        "/api/users/%00/avatar",
        "/api/users/ali%00ce/avatar",
        "/api/users/alice%0A/avatar",
        "/api/users/%C3%A9mile/avatar",
        "/api/users/%E2%80%AEecila/avatar",
        "/api/users/%F0%9F%94%A5/avatar",
        "/api/users/%FF%FE/avatar",
        "/api/users/" + "a" * 5000 + "/avatar",
        "/api/users/%20alice/avatar",
    ],
)
async def test_handles_that_name_nobody_are_404(server: Running, path: str) -> None:
    alice = await server.signup("alice")
    assert (await upload(alice, picture())).status_code == 200
    response = await fetch(server, path)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"


async def test_handles_are_found_regardless_of_case(server: Running) -> None:
    alice = await server.signup("Alice")
    url = (await upload(alice, picture())).json()["user"]["avatar_url"]
    assert url == "/api/users/Alice/avatar?v=1"
    assert (await fetch(server, "/api/users/aLiCe/avatar?v=1")).status_code == 200
    bob = await server.signup("bob")
    no_picture = await fetch(server, f"/api/users/{bob.handle}/avatar")
    assert no_picture.status_code == 404


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_refused(server: Running, declared: bool) -> None:
    alice = await server.signup("alice")
    before = await upload(alice, picture())
    # A real picture padded past the limit (a PNG ignores what follows its end).
    big = picture() + b"\x00" * rules.MAX_UPLOAD_BYTES
    if declared:
        response = await upload(alice, big)
    else:  # no Content-Length: refused once the limit is passed while reading
        response = await upload(alice, _chunks(big))
    assert_refused(response, 413, "body", "max_bytes")
    assert response.json()["error"] == "too_large"
    assert (await profile(alice))["avatar_url"] == before.json()["user"]["avatar_url"]


async def test_a_body_at_the_limit_is_taken(server: Running) -> None:
    alice = await server.signup("alice")
    data = picture()
    response = await upload(alice, data + b"\x00" * (rules.MAX_UPLOAD_BYTES - len(data)))
    assert response.status_code == 200, response.text


async def test_an_upload_cut_off_writes_nothing_and_logs_no_error(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await server.signup("alice")
    host, port = server.base_url.removeprefix("http://").split(":")
    body = encode(noise(), "PNG")
    head = (
        f"PUT {AVATAR} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {alice.token}\r\n"
        f"Content-Type: image/png\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    await asyncio.sleep(0.3)  # the server is reading the body
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.5)  # and hears that its sender left
    assert (await profile(alice))["avatar_url"] is None
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("content_type"),
    [None, "", "image/bmp", "image/svg+xml", "text/html", "application/octet-stream", "image"],
)
async def test_types_we_do_not_take_are_415(server: Running, content_type: str | None) -> None:
    alice = await server.signup("alice")
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await alice.request("PUT", AVATAR, content=picture(), headers=headers)
    assert_refused(response, 415, "Content-Type", "one_of")
    assert response.json()["error"] == "unsupported_media_type"
    assert (await profile(alice))["avatar_url"] is None


# Made when their test runs, not when the module is collected.
BAD_PICTURES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "required"),
    "text": (lambda: b"hello, I am not a picture", "image"),
    "svg": (lambda: b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", "image"),
    "gif-header-then-html": (lambda: b"GIF89a<html><script>1</script></html>", "image"),
    "bmp": (lambda: picture("BMP", (64, 64)), "image"),
    "tiff": (lambda: picture("TIFF", (64, 64)), "image"),
    "png-signature-only": (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image"),
    "truncated-png": (lambda: encode(noise(), "PNG")[:20_000], "decodable"),
    "truncated-jpeg": (lambda: encode(noise(), "JPEG", quality=95)[:20_000], "decodable"),
    "truncated-webp": (lambda: encode(noise(), "WEBP", quality=95)[:20_000], "decodable"),
    "too-small": (lambda: picture("PNG", (31, 400)), "min_dimensions"),
    "too-wide": (lambda: picture("PNG", (10_001, 32), color=1, mode="1"), "max_dimensions"),
    # Decompression bombs: whole PNGs of a few kilobytes that decode to 30, 100 and 400 million
    # pixels. The first is refused by our limit, the second past Pillow's warning (89 MP), the
    # third by Pillow's own guard (179 MP); none is decoded (tests/media/test_pictures.py).
    "bomb-30mp": (lambda: png_bomb(6_000, 5_000), "max_pixels"),
    "bomb-100mp": (lambda: png_bomb(10_000, 10_000), "max_pixels"),
    "bomb-400mp": (lambda: png_bomb(20_000, 20_000), "max_pixels"),
}


@pytest.mark.parametrize("case", list(BAD_PICTURES))
async def test_bad_pictures_are_422_and_change_nothing(server: Running, case: str) -> None:
    make, rule = BAD_PICTURES[case]
    data = make()
    alice = await server.signup("alice")
    before = (await upload(alice, picture())).json()["user"]["avatar_url"]
    before_bytes = (await fetch(server, before)).content
    response = await upload(alice, data)
    assert_refused(response, 422, "body", rule)
    assert response.json()["error"] == "validation_failed"
    assert (await profile(alice))["avatar_url"] == before
    assert (await fetch(server, before)).content == before_bytes


async def test_only_the_signed_in_user_changes_their_own_picture(server: Running) -> None:
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    async with server.browser() as anonymous:
        for method in ("PUT", "DELETE"):
            response = await anonymous.request(
                method, AVATAR, content=picture(), headers={"Content-Type": "image/png"}
            )
            assert response.status_code == 401 and response.json()["error"] == "not_authenticated"
        # Nobody changes another's picture: there is no such URL to send it to.
        for method in ("PUT", "DELETE"):
            response = await anonymous.request(method, "/api/users/alice/avatar")
            assert response.status_code == 405

    url = (await upload(alice, picture("PNG", color=RED))).json()["user"]["avatar_url"]
    for method in ("PUT", "DELETE"):
        response = await bob.request(
            method,
            "/api/users/alice/avatar",
            content=picture(),
            headers={"Content-Type": "image/png"},
        )
        assert response.status_code == 405
    # Bob's own changes are his alone.
    assert (await upload(bob, picture("PNG", color=BLUE))).status_code == 200
    assert (await bob.request("DELETE", AVATAR)).status_code == 200
    assert (await profile(bob, "alice"))["avatar_url"] == url
    assert near(opened((await fetch(server, url)).content).getpixel((128, 128)), RED)


async def test_a_browser_session_needs_the_csrf_header(server: Running) -> None:
    async with server.browser() as browser:
        signed_up = await browser.post(
            "/api/auth/signup",
            json={"handle": "carol", "display_name": "Carol", "password": PASSWORD},
        )
        assert signed_up.status_code == 201
        png = {"Content-Type": "image/png"}
        for headers in (png, {**png, "X-CSRF-Token": "wrong"}):
            refused = await browser.put(AVATAR, content=picture(), headers=headers)
            assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed"
            refused = await browser.delete(AVATAR, headers=headers)
            assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed"
        assert (await browser.get("/api/me")).json()["user"]["avatar_url"] is None
        csrf = {"X-CSRF-Token": browser.cookies["parley_csrf"]}
        done = await browser.put(AVATAR, content=picture(), headers={**png, **csrf})
        assert done.status_code == 200
        assert done.json()["user"]["avatar_url"] == "/api/users/carol/avatar?v=1"
        removed = await browser.delete(AVATAR, headers=csrf)
        assert removed.status_code == 200 and removed.json()["user"]["avatar_url"] is None


@pytest.mark.parley_settings(avatar_burst=2, avatar_rate_per_s=0.01)
async def test_changes_are_rate_limited_per_user(server: Running) -> None:
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    # Refused pictures cost a try too: decoding them is the cost.
    assert (await upload(alice, b"not a picture")).status_code == 422
    kept = (await upload(alice, picture())).json()["user"]["avatar_url"]
    limited = await upload(alice, picture("PNG", color=BLUE))
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 100
    assert (await profile(alice))["avatar_url"] == kept
    # Removing is cheap and not limited; another user has their own allowance.
    assert (await alice.request("DELETE", AVATAR)).status_code == 200
    assert (await upload(bob, picture())).status_code == 200


async def test_avatar_url_wherever_a_user_appears(server: Running) -> None:
    alice = await server.signup("alice")
    bob = await server.signup("bob")
    url = (await upload(alice, picture())).json()["user"]["avatar_url"]
    assert (await alice.ok("GET", "/api/me"))["user"]["avatar_url"] == url
    await alice.ok("PUT", "/api/users/bob/follow", status=204)
    followers = await bob.ok("GET", "/api/users/bob/followers")
    assert followers["users"] == [
        {"id": alice.id, "handle": "alice", "display_name": "Alice", "avatar_url": url}
    ]
    space = await alice.create_space("Pictures")
    assert space["host"]["avatar_url"] == url
    member = await bob.join(space["id"])
    assert member["user"]["avatar_url"] is None
    listed = await bob.ok("GET", "/api/spaces?state=live")
    assert [s["host"]["avatar_url"] for s in listed["spaces"]] == [url]

    socket = await bob.socket(space["id"])
    try:
        snapshot = await socket.until_type("snapshot")
    finally:
        await socket.close()
    by_handle = {m["user"]["handle"]: m["user"] for m in snapshot["members"]}
    assert by_handle["alice"]["avatar_url"] == url
    assert snapshot["space"]["host"]["avatar_url"] == url
    assert snapshot["me"]["user"]["avatar_url"] is None
